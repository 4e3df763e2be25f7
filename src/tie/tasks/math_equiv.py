"""Symbolic answer equivalence (MATH500) with math-verify, isolated in a worker process.

math-verify parses with sympy/ANTLR, which can hang for minutes on inputs such as
`10^{10^{10^{10}}}`, and its own timeouts use `signal.alarm`, which only works in a main thread.
So every comparison runs in a separate, memory-limited worker process and the parent enforces a
hard wall-clock limit: on expiry the worker is killed (a fresh one starts on the next call) and
the answer counts as wrong with status "timeout". math-verify's own 5 s limit inside the worker
(which it reports only as a logged warning and a plain "not equal") is recorded the same way:
status "timeout", worker restarted. Callers may be in any thread.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

MAX_ANSWER_CHARS = 500
DEFAULT_TIMEOUT_S = 10.0
LIBRARY_TIMEOUT_S = 5  # math-verify's own limit per parse / comparison (signal.alarm: whole s)
WORKER_MEMORY_BYTES = 2 << 30
_WORKER = Path(__file__).with_name("math_worker.py")


@dataclass(frozen=True)
class EquivalenceResult:
    equal: bool
    status: str  # "ok" | "timeout" | "too_long" | "empty" | "error"


class MathVerifier:
    """One long-lived worker process; `compare` is thread-safe and never hangs past the timeout."""

    def __init__(
        self,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        memory_bytes: int = WORKER_MEMORY_BYTES,
        library_timeout_s: int = LIBRARY_TIMEOUT_S,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        if isinstance(library_timeout_s, bool) or not isinstance(library_timeout_s, int):
            raise ValueError(f"library_timeout_s must be whole seconds, got {library_timeout_s!r}")
        if library_timeout_s < 1:
            raise ValueError(f"library_timeout_s must be at least 1, got {library_timeout_s}")
        self.timeout_s = timeout_s
        self.memory_bytes = memory_bytes
        self.library_timeout_s = library_timeout_s
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self.restarts = 0

    def _start(self) -> None:
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-I",
                "-B",
                str(_WORKER),
                str(self.memory_bytes),
                str(self.library_timeout_s),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        # Start-up (interpreter + sympy import) gets its own generous limit.
        if self._read_line(60.0) is None:
            self._stop()
            raise RuntimeError("math-verify worker failed to start")

    def _read_line(self, timeout_s: float) -> str | None:
        assert self._proc is not None and self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout_s)
        if not ready:
            return None
        line = self._proc.stdout.readline()  # the worker writes whole lines and flushes
        return line or None

    def _stop(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(5)
            for stream in (self._proc.stdin, self._proc.stdout):
                with contextlib.suppress(OSError):
                    stream.close()
        self._proc = None

    def close(self) -> None:
        with self._lock:
            self._stop()

    def compare(
        self, pred: str | None, gold: str, timeout_s: float | None = None
    ) -> EquivalenceResult:
        if not isinstance(gold, str) or not gold.strip():
            raise ValueError(f"gold answer must be a non-empty string, got {gold!r}")
        if pred is None or not pred.strip():
            return EquivalenceResult(False, "empty")
        if len(pred) > MAX_ANSWER_CHARS:
            return EquivalenceResult(False, "too_long")
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            try:
                self._proc.stdin.write(json.dumps({"pred": pred, "gold": gold}) + "\n")
                self._proc.stdin.flush()
            except (BrokenPipeError, OSError):
                self._stop()
                self.restarts += 1
                return EquivalenceResult(False, "error")
            line = self._read_line(timeout_s or self.timeout_s)
            if line is None:  # timeout, or the worker died (memory limit)
                status = "timeout" if self._proc.poll() is None else "error"
                self._stop()
                self.restarts += 1
                return EquivalenceResult(False, status)
            reply = json.loads(line)
            if reply["status"] == "timeout":  # math-verify's own limit fired inside the worker:
                self._stop()  # same path as ours (sympy was interrupted mid-way; start afresh)
                self.restarts += 1
        return EquivalenceResult(bool(reply["equal"]), reply["status"])


_DEFAULT: MathVerifier | None = None
_DEFAULT_LOCK = threading.Lock()


def default_verifier() -> MathVerifier:
    """The process-wide verifier (created on first use, closed at exit)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = MathVerifier()
            atexit.register(_DEFAULT.close)
        return _DEFAULT


def is_equivalent(pred: str | None, gold: str, timeout_s: float | None = None) -> bool:
    """True iff math-verify judges `pred` equal to `gold` within the time limit."""
    return default_verifier().compare(pred, gold, timeout_s).equal


# --- string fallback (Hendrycks-style normalisation), the cheap second metric -----------------

_TEXT = re.compile(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}")
_FRAC_SHORT = re.compile(r"\\frac(\d)(\d)")


def normalize_math_string(text: str) -> str:
    """Strip presentation-only LaTeX so trivially equal strings compare equal."""
    s = text.strip()
    for old, new in (
        ("\\left", ""),
        ("\\right", ""),
        ("\\!", ""),
        ("\\,", ""),
        ("\\;", ""),
        ("\\dfrac", "\\frac"),
        ("\\tfrac", "\\frac"),
        ("^\\circ", ""),
        ("^{\\circ}", ""),
        ("\\$", ""),
        ("$", ""),
        ("\\%", ""),
        ("%", ""),
    ):
        s = s.replace(old, new)
    s = _TEXT.sub(r"\1", s)
    s = _FRAC_SHORT.sub(r"\\frac{\1}{\2}", s)
    s = s.replace(" ", "").rstrip(".")
    if s.startswith("."):
        s = "0" + s
    return s


def string_equivalent(pred: str | None, gold: str) -> bool:
    return pred is not None and normalize_math_string(pred) == normalize_math_string(gold)
