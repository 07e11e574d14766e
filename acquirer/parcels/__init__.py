"""The parcels of the acquirer."""
