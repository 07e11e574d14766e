"""Acquirer tests: core."""
