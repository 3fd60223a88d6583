"""medcite.compose"""
