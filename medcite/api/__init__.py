"""medcite.api"""
