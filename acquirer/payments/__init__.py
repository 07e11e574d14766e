"""The payments of the acquirer."""
