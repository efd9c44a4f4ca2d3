"""seal-lm: a language model that improves itself by judging its own reasoning."""

__version__ = "0.1.0"
