"""The rate-limited work queue that hands object keys to workers.

WorkQueue (de-duplication, never two workers on one key) -> DelayingQueue
(ready times, earlier wins) -> RateLimitingQueue (retries paced by a RateLimiter).
"""
