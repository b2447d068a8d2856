"""The one door to the API server.

Configuration, discovery, raw list/watch/get/patch, QPS limiting, retries and typed errors.
"""
