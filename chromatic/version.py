"""The package's version, written once (pyproject.toml reads it from here without importing)."""

__version__ = "0.2.0"
