"""Fixtures for necktie-testing's own tests."""

pytest_plugins = ["pytester"]
