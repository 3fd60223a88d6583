"""medcite.eval"""
