"""kopf compatibility checks (a package: its test modules share basenames with tests/unit/handlers')."""
