"""The version shared by necktie-core, necktie-server and necktie-testing (they ship in step)."""

__version__ = "0.1.0"
