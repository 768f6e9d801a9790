"""An app asking for metrics where prometheus_client cannot be imported (as if the extra were missing)."""

from __future__ import annotations

import sys

from pynecktie import Necktie

sys.modules["prometheus_client"] = None  # type: ignore[assignment]  # import now raises ImportError

app = Necktie("unmetered")
app.config.METRICS_PATH = "/metrics"
