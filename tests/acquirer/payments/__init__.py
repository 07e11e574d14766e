"""Acquirer tests: payments."""
