"""The payments api of the acquirer."""
