"""The one exception type that means "the user asked for something we cannot do".

The CLI prints it as a single line and exits with status 2; anything else is a bug and
keeps its traceback.
"""


class UserError(Exception):
    """Bad input from the user: unknown id, bad parameter, malformed expression, missing file."""
