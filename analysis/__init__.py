"""Studies over run directories: stability, correction, leader switch, results tables, figures.

Every study is an importable module with a CLI (`python -m analysis.<study> <run dir>`);
`python -m analysis.figures <run dir>` runs all of them (`make figures RUN=<run dir>`).
The run directory is the only input, so everything here works offline.
"""

from analysis.rundir import RunDir, RunDirError, find_runs, load_runs

__all__ = ["RunDir", "RunDirError", "find_runs", "load_runs"]
