"""Acquirer tests: rentals."""
