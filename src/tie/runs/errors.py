"""Errors tie-run reports as one clear line (no traceback) before any compute."""


class RunConfigError(ValueError):
    """The run configuration is invalid or inconsistent; the message names the option."""


class DiskFullError(OSError):
    """The disk filled up while writing a run file; the message names it and how to finish."""
