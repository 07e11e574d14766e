"""The payments sql of the acquirer."""
