"""Torch thread count of a run: the cores the process was given, not the cores the machine has.

torch's default is every physical core of the node; on a shared node, or in a SLURM allocation
smaller than the node, that oversubscribes the cores and a run gets several times slower (issue
22: 40 s with the default vs 9.8 s with one thread while other jobs shared two cores). The run
setting `threads` wins; left null it is, first match: OMP_NUM_THREADS, SLURM_CPUS_PER_TASK,
SLURM_CPUS_ON_NODE, the CPU affinity mask (`os.sched_getaffinity`), `os.cpu_count()`.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from tie.runs.errors import RunConfigError

ENV_SOURCES = ("OMP_NUM_THREADS", "SLURM_CPUS_PER_TASK", "SLURM_CPUS_ON_NODE")


def _positive_int(value: Any) -> int | None:
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return n if n >= 1 else None


def given_cores(environ: dict[str, str] | None = None) -> tuple[int, str]:
    """(cores this process was given, where that number came from)."""
    env = os.environ if environ is None else environ
    for key in ENV_SOURCES:
        n = _positive_int(env.get(key))
        if n is not None:
            return n, key
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0))), "sched_getaffinity"
    return max(1, os.cpu_count() or 1), "cpu_count"


def resolve_threads(
    setting: Any, processes: int = 1, environ: dict[str, str] | None = None
) -> tuple[int, str]:
    """(threads per process, source): `threads` when set, else the given cores split across the
    `processes` this node runs (trainer=ddp_cpu starts several)."""
    if setting is not None:
        n = _positive_int(setting)
        if n is None or isinstance(setting, bool):
            raise RunConfigError(f"threads must be null or an integer >= 1, got {setting!r}")
        return n, "threads"
    cores, source = given_cores(environ)
    return max(1, cores // max(1, processes)), source


def cpu_processes(trainer: Any) -> int:
    """Processes one node runs for a CPU trainer (ddp_cpu: `devices`), 1 otherwise."""
    if trainer is None or str(trainer.get("accelerator", "cpu")) != "cpu":
        return 1
    devices = trainer.get("devices", 1)
    return devices if isinstance(devices, int) and devices > 1 else 1


def apply_threads(setting: Any, trainer: Any = None) -> dict[str, Any]:
    """Set torch's intra-op (and, when still possible, inter-op) threads before any work; returns
    what meta.json records: {threads, interop_threads, source}."""
    import torch

    n, source = resolve_threads(setting, cpu_processes(trainer))
    torch.set_num_threads(n)
    with contextlib.suppress(RuntimeError):  # only before the process's first inter-op work
        torch.set_num_interop_threads(n)
    return {
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "source": source,
    }
