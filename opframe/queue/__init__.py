"""The rate-limited work queue that hands object keys to workers."""
