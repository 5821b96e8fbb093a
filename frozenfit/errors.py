"""The one exception type users see: a clear message instead of a deep traceback."""


class FrozenfitError(Exception):
    """Bad input, a mismatched checkpoint, a diverged loss: anything the user can act on."""
