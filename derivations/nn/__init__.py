"""The NumPy deep-learning backend: layers with explicit forward/backward, losses, optimizers."""
