"""Handler registry, filters, diffs, cause detection and persisted progress."""
