"""Checked symbolic derivations for deep-learning theory problems, and a NumPy backend."""

__version__ = "0.1.0"


def solve(problem_id: str, **settings):
    """Solve a catalogue problem from Python; see :mod:`derivations.api`."""
    from derivations.api import solve as _solve
    return _solve(problem_id, **settings)
