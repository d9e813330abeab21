"""pyfleet_bridge: the runtime that serves Python tools to a pyfleet pool."""

__version__ = "0.1.0"
