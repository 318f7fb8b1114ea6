"""Training tasks for ``python -m derivations train TASK``; one module per task, discovered by the train command."""
