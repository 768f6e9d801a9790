"""``python -m necktie_server module:app``."""

from .cli import main

raise SystemExit(main())
