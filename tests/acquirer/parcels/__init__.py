"""Acquirer tests: parcels."""
