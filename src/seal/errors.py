"""User-facing errors: one line that names what to fix, never a traceback."""


class SealError(Exception):
    """An error the user caused and can fix; the CLI prints it as one line and exits 2."""
