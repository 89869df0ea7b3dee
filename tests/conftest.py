"""Shared pytest settings. Area fixtures live beside their tests (tests/<area>_helpers.py)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
