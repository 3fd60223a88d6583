"""medcite.retrieve"""
