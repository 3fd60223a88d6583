"""medcite.web"""
