"""Checked symbolic derivations for deep-learning theory problems, and a NumPy backend."""

__version__ = "0.1.0"


def solve(problem_id: str, **settings):
    """Solve a catalogue problem from Python; see :mod:`derivations.api`."""
    from derivations.api import solve as _solve
    return _solve(problem_id, **settings)


# Imported here, not on first call: importing the module ``derivations.derive`` sets the package's
# attribute ``derive`` to that module, so the function must be bound after it (the module itself
# imports only the standard library at the top; SymPy is loaded on the first call).
from derivations.derive import derive  # noqa: E402
