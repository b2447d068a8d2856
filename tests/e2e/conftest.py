import sys
from pathlib import Path

# Lets the e2e modules share operator_journal.py (helpers and fixtures).
sys.path.insert(0, str(Path(__file__).resolve().parent))
