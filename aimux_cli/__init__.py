"""aimux: a command line for LLM provider APIs (ask, prettify, test-providers, bench)."""

__version__ = "0.1.0"
