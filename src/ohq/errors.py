"""The one exception type for bad user input.

Anything a user can get wrong (an unknown model, a malformed file, an impossible budget) raises
`OhqError` with a one-line message; the CLI prints it and exits with code 2, no traceback.
"""


class OhqError(ValueError):
    """A user-facing error: the message is one line that says what is wrong and how to fix it."""
