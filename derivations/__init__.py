"""Checked symbolic derivations for deep-learning theory problems, and a NumPy backend."""

__version__ = "0.1.0"
