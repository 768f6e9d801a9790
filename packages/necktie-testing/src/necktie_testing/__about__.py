"""The version of necktie-testing (shipped in step with necktie-core and necktie-server)."""

__version__ = "0.1.0"
