"""The version of necktie-server (shipped in step with necktie-core)."""

__version__ = "0.1.0"
