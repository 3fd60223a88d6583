"""medcite.index"""
