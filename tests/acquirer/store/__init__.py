"""Acquirer tests: store."""
