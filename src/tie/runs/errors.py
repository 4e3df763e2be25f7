"""Errors tie-run reports as one clear line (no traceback) before any compute."""


class RunConfigError(ValueError):
    """The run configuration is invalid or inconsistent; the message names the option."""


class DiskFullError(OSError):
    """The disk filled up while writing a run file; the message names it and how to finish."""

    def __init__(self, message: str, path: object = None):
        super().__init__(message)
        self.path = path

    def __str__(self) -> str:
        return str(self.args[0])
