"""Wall time and peak memory of one call, on CPU or CUDA.

Memory, CPU: tracemalloc does not see torch's allocations, so we read the kernel's resident-set
high-water mark. Before each call we reset it (writing 5 to /proc/self/clear_refs, Linux >= 4.0)
and report `VmHWM after - VmRSS before`: the extra resident memory the call needed at its peak.
Where the reset is not allowed we fall back to the growth of `getrusage().ru_maxrss`, which is a
lower bound (0 when an earlier call already reached a higher peak); the JSON names the method
used. CUDA: `torch.cuda.max_memory_allocated` after `reset_peak_memory_stats`, minus the memory
allocated before the call (tensor memory, not the caching allocator's reserve).
"""

from __future__ import annotations

import logging
import re
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger("tie.bench")

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kb(key: str) -> int | None:
    try:
        m = re.search(rf"^{key}:\s+(\d+)\s+kB", _STATUS.read_text(), re.M)
    except OSError:
        return None
    return int(m.group(1)) if m else None


def _reset_hwm() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return _status_kb("VmHWM") is not None


@dataclass
class Sample:
    wall_s: float
    cpu_s: float  # process CPU time (all threads): less sensitive to other jobs on a shared host
    peak_bytes: int


def summarise(samples: list[Sample]) -> dict[str, float]:
    """Median/min wall, median CPU time, max peak over repeated samples."""
    walls = [s.wall_s for s in samples]
    return {
        "wall_s": statistics.median(walls),
        "wall_min_s": min(walls),
        "wall_all_s": walls,
        "cpu_s": statistics.median(s.cpu_s for s in samples),
        "peak_bytes": max(s.peak_bytes for s in samples),
    }


class Meter:
    """Times calls on `device` (synchronising CUDA) and measures their peak memory."""

    def __init__(self, device: torch.device) -> None:
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"
        if self.cuda:
            self.memory_method = "cuda_max_memory_allocated"
        elif _reset_hwm():
            self.memory_method = "rss_hwm_reset"
        else:
            self.memory_method = "ru_maxrss_delta"

    def _sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize(self.device)

    def once(self, fn: Callable[[], Any]) -> tuple[Any, Sample]:
        """Run `fn()` once; (its result, wall seconds and peak extra bytes)."""
        self._sync()
        if self.cuda:
            torch.cuda.reset_peak_memory_stats(self.device)
            base = torch.cuda.memory_allocated(self.device)
        elif self.memory_method == "rss_hwm_reset":
            _reset_hwm()
            base = (_status_kb("VmRSS") or 0) * 1024
        else:
            base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        self._sync()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if self.cuda:
            peak = torch.cuda.max_memory_allocated(self.device) - base
        elif self.memory_method == "rss_hwm_reset":
            peak = (_status_kb("VmHWM") or 0) * 1024 - base
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
        return out, Sample(wall, cpu, max(int(peak), 0))

    def repeat(
        self, fn: Callable[[], Any], repeats: int, warmup: int, label: str = ""
    ) -> tuple[Any, dict[str, float]]:
        """Warm up, then `repeats` timed calls: (last result, median/min wall, max peak bytes)."""
        res = self.interleave({label or "run": fn}, repeats, warmup)
        return next(iter(res.values()))

    def interleave(
        self, jobs: dict[str, Callable[[], Any]], repeats: int, warmup: int, label: str = ""
    ) -> dict[str, tuple[Any, dict[str, float]]]:
        """Time several calls round-robin (warm-up each, then `repeats` rounds over all), so a
        change in machine load during the run hits every job alike; per job as `repeat`.
        Every call is logged as it ends (`tie.bench` logger): `label`, job, round, seconds."""
        where = f"{label}: " if label else ""
        for name, fn in jobs.items():
            for i in range(warmup):
                t0 = time.perf_counter()
                fn()
                log.info("%s%s warm-up %d/%d %.2f s", where, name, i + 1, warmup,
                         time.perf_counter() - t0)  # fmt: skip
        samples: dict[str, list[Sample]] = {k: [] for k in jobs}
        last: dict[str, Any] = {}
        for r in range(repeats):
            for name, fn in jobs.items():
                last[name], s = self.once(fn)
                samples[name].append(s)
                log.info("%s%s run %d/%d %.2f s", where, name, r + 1, repeats, s.wall_s)
        return {k: (last[k], summarise(v)) for k, v in samples.items()}
