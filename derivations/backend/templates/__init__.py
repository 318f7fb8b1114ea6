"""Adapters that speak the course starter-code interfaces over the NumPy backend."""
