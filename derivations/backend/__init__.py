"""The numeric backend: NumPy layers (nn), datasets, training tasks and course templates."""
