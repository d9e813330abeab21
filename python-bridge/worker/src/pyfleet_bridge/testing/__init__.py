"""Adapters that misbehave on purpose, for the server's reliability tests."""
