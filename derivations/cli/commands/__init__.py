"""One module per CLI command; ``derivations.cli`` discovers them (see its docstring)."""
