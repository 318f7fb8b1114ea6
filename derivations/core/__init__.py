"""The engine core: the problem model, the registry, user parameters and the restricted parser."""
