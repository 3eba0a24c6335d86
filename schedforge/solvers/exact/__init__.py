"""Problem-specific exact algorithms."""
