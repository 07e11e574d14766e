"""The rentals of the acquirer."""
