"""The one error devstack raises: what failed, and how to fix it."""


class StackError(RuntimeError):
    """A component could not be found, started or made ready."""
