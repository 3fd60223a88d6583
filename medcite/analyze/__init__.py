"""medcite.analyze"""
