"""A settings file for `app.config.update_config(path)`: its upper-case names become settings."""

WORKERS = 4
GRACEFUL_SHUTDOWN_TIMEOUT = 30.0
