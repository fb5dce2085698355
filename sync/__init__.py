"""Signed, chained records and how they move between nodes and central.

Knows records, not cases: the apps hand it bodies and kinds, and a routing function.
"""
