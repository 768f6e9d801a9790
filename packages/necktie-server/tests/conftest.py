"""Shared by the server's test groups: puts the raw-HTTP helpers (``nt_rawhttp``) on the import path."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
