"""medcite.render"""
