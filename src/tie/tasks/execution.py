"""Run untrusted, model-written Python programs and report whether they passed.

`check_program(program, timeout_s)` runs one program (solution + tests) in a fresh interpreter:
* its own session/process group, and where the machine allows it (`unshare`, root) its own
  network namespace (no network) and PID namespace (every process dies with it);
* an empty temporary working directory; the program file itself lives outside it;
* a run-unique unprivileged uid (when started as root), so file permissions apply and
  RLIMIT_NPROC counts only this run; rlimits on CPU time, address space, file size, processes,
  open files, no core dumps;
* an audit hook (weaker fallback where namespaces are missing, defence in depth otherwise)
  refusing sockets, ctypes, exec/spawn, gc introspection and writes/deletes outside the directory;
* stdout/stderr drained concurrently and kept only up to a byte cap;
* afterwards the process group, and every process of the run's uid, is killed and the directory
  removed.
A program passes only when it exits 0 AND the runner wrote this run's random nonce to a private
pipe, which happens only after the whole program returned (see `sandbox_runner`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_RUNNER = Path(__file__).with_name("sandbox_runner.py")
_UNSHARE = ("unshare", "--net", "--pid", "--fork", "--kill-child", "--")


@dataclass(frozen=True)
class ExecutionResult:
    passed: bool
    status: str  # "passed" | "failed" | "timeout" | "early_exit" | "killed" | "memory" | "error"
    returncode: int | None
    stdout: str
    stderr: str
    duration_s: float
    isolation: str  # what isolation this run had, e.g. "netns+pidns+uid+audit"


@functools.lru_cache(maxsize=1)
def namespaces_available() -> bool:
    """True when `unshare` can give a child its own network and PID namespaces here."""
    if shutil.which("unshare") is None:
        return False
    try:
        done = subprocess.run([*_UNSHARE, "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


_PROBE = (
    "import os\nos.setgroups([]);os.setgid(65534);os.setuid(65534)\n"
    "import math, json, collections, itertools, re, socket\nprint('ok')"
)


@functools.lru_cache(maxsize=1)
def sandbox_python() -> tuple[str, bool]:
    """(interpreter, can_drop_uid) for sandboxed programs.

    The harness's own interpreter may live where an unprivileged uid cannot read its standard
    library (e.g. under a 0700 /root); then a system interpreter is used instead. Override with
    TIE_SANDBOX_PYTHON. When no candidate works for a dropped uid, programs run as the current
    user (weaker: file isolation then rests on the audit hook and the namespaces).
    """
    candidates = [os.environ.get("TIE_SANDBOX_PYTHON"), sys.executable, "/usr/bin/python3"]
    found = [c for c in candidates if c and shutil.which(c)]
    if os.getuid() != 0:
        return found[0], False
    for candidate in found:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            probe = subprocess.run(
                [candidate, "-I", "-S", "-c", _PROBE], capture_output=True, timeout=20
            )
            if probe.returncode == 0 and probe.stdout.strip() == b"ok":
                return candidate, True
    return found[0], False


class _Capped(threading.Thread):
    """Drains a pipe, keeping the first `cap` bytes (so a flood cannot block or exhaust us)."""

    def __init__(self, stream, cap: int) -> None:
        super().__init__(daemon=True)
        self.stream, self.cap, self.data, self.dropped = stream, cap, bytearray(), 0

    def run(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            while chunk := self.stream.read1(65536):
                room = self.cap - len(self.data)
                self.data += chunk[: max(room, 0)]
                self.dropped += max(len(chunk) - max(room, 0), 0)

    def text(self) -> str:
        suffix = f"\n[... {self.dropped} bytes dropped]" if self.dropped else ""
        return self.data.decode("utf-8", "replace") + suffix


def _kill_uid(uid: int) -> None:
    """Kill every process of the run's uid (catches anything that left the process group)."""
    code = f"import os,signal\nos.setgroups([]);os.setgid({uid});os.setuid({uid})\nos.kill(-1,signal.SIGKILL)"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, timeout=10)


def _validate(program: object, timeout_s: object, caps: dict[str, int]) -> None:
    if not isinstance(program, str):
        raise TypeError(f"program must be a str, got {type(program).__name__}")
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or timeout_s <= 0:
        raise ValueError(f"timeout_s must be a positive number, got {timeout_s!r}")
    for name, value in caps.items():
        if not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def check_program(
    program: str,
    timeout_s: float = 3.0,
    *,
    memory_bytes: int = 1 << 30,
    file_size_bytes: int = 10 << 20,
    max_processes: int = 32,
    max_open_files: int = 64,
    max_output_bytes: int = 64 << 10,
) -> ExecutionResult:
    """Run `program` (solution and its tests, one Python source) in the sandbox; see module doc."""
    caps = {
        "memory_bytes": memory_bytes,
        "file_size_bytes": file_size_bytes,
        "max_processes": max_processes,
        "max_open_files": max_open_files,
        "max_output_bytes": max_output_bytes,
    }
    _validate(program, timeout_s, caps)
    python, as_root = sandbox_python()
    uid = 100_000 + secrets.randbelow(1_000_000_000) if as_root else -1
    isolation = ["uid", "audit"] if as_root else ["audit"]
    prefix: tuple[str, ...] = ()
    if os.getuid() == 0 and namespaces_available():
        prefix, isolation = _UNSHARE, ["netns", "pidns", *isolation]

    outer = Path(tempfile.mkdtemp(prefix="tie-exec-"))  # 0700: program file not visible inside
    work = outer / "work"
    work.mkdir()
    (outer / "solution.py").write_text(program, encoding="utf-8")
    if as_root:
        os.chown(work, uid, uid)
        os.chmod(outer, 0o711)  # the dropped uid may traverse to its cwd, not list the parent
        os.chmod(outer / "solution.py", 0o600)

    nonce = secrets.token_hex(16).encode()
    nonce_r, nonce_w = os.pipe()
    result_r, result_w = os.pipe()
    os.write(nonce_w, nonce)
    os.close(nonce_w)
    cpu_s = int(timeout_s) + 1
    cmd = [
        *prefix,
        python,
        "-I",
        "-S",
        "-B",
        str(_RUNNER),
        *map(str, (result_w, nonce_r, uid, cpu_s, memory_bytes, file_size_bytes)),
        *map(str, (max_processes, max_open_files)),
        str(outer / "solution.py"),
    ]
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(work),
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
    }
    start = time.monotonic()
    proc = None
    timed_out = False
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(nonce_r, result_w),
            start_new_session=True,
        )
    except OSError as err:
        return ExecutionResult(
            False, "error", None, "", f"spawn failed: {err}", 0.0, "+".join(isolation)
        )
    finally:
        os.close(nonce_r)
        os.close(result_w)
        if proc is None:
            os.close(result_r)
            shutil.rmtree(outer, ignore_errors=True)
    out, err = _Capped(proc.stdout, max_output_bytes), _Capped(proc.stderr, max_output_bytes)
    out.start()
    err.start()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if as_root:
            _kill_uid(uid)
        proc.wait()
        out.join(5)
        err.join(5)
        received = b""
        with contextlib.suppress(OSError):
            while select.select([result_r], [], [], 0)[0]:
                chunk = os.read(result_r, 256)
                if not chunk:
                    break
                received += chunk
        os.close(result_r)
        shutil.rmtree(outer, ignore_errors=True)
    duration = time.monotonic() - start
    code = proc.returncode
    stderr_text = err.text()
    if timed_out or code in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
        status = "timeout"
    elif code == 0 and received == nonce:
        status = "passed"
    elif code == 0:
        status = "early_exit"
    elif "MemoryError" in stderr_text:
        status = "memory"
    elif code is not None and (code < 0 or code > 128):
        status = "killed"
    else:
        status = "failed"
    return ExecutionResult(
        status == "passed", status, code, out.text(), stderr_text, duration, "+".join(isolation)
    )
