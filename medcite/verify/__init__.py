"""medcite.verify"""
