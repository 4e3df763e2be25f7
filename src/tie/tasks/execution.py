"""Run untrusted, model-written Python against trusted tests; the verdict never lives in its reach.

`check_program(solution, tests, timeout_s)` starts two processes, each in its own sandbox:

* the **candidate** runs the untrusted `solution`, then answers requests for its objects;
* the **judge** runs the trusted `tests` (HumanEval's `check(...)`, MBPP's asserts) with proxies
  for the candidate's names: calling `candidate(x)` in a test sends the call over a pipe, and the
  result comes back as plain data (or as a reference to an object that stays in the candidate).
  Arguments travel by value (a test that checked an in-place change of its argument would not
  see it; no HumanEval or MBPP test does: all their canonical solutions pass).

Why the verdict holds: the only thing the two processes share is that pair of pipes. The judge
decodes what arrives with a strict JSON decoder into builtin data or proxies, so the candidate can
only ever answer the questions the tests ask; it cannot run code in the judge, read its memory,
walk its frames, patch its globals or touch its descriptors (another uid, another PID namespace).
The judge writes the verdict to a pipe that only it holds, after the tests ran to their end, and
the harness accepts a pass only from that verdict plus the judge's exit status 0. A candidate
that exits early (`sys.exit(0)`, `os._exit(0)`), prints success, writes to every descriptor it
has, walks its own frames or replaces every global of its own runner gains nothing: none of that
is seen by the judge. What stays possible is answering the tests' questions falsely in ways the
tests cannot see, e.g. returning an object whose `__eq__` always says True (a known limitation
of execution-based grading, see `tests/tasks/test_code.py`).

Confinement, by the kernel (strict mode, the default): each process runs under bubblewrap as a
run-unique uid (when the harness is root) with its own user, mount, PID, network, IPC and UTS
namespaces, no capabilities, no new privileges and no further user namespaces, and (x86_64) a
seccomp filter refusing syscalls no graded program needs (ptrace, bpf, io_uring, keyrings,
mounts, namespaces, modules); the whole file system is mounted read-only except a private,
size-limited tmpfs at /tmp (its cwd and $HOME) and /dev/shm, and an empty /run (no host
sockets); rlimits bound CPU time, address space, file size, processes and open files. When the
judge is done (or `timeout_s` + STARTUP_GRACE_S has passed) both process groups are killed; the
PID namespace takes every descendant with it, so nothing outlives the run and nothing is written
outside the tmpfs, which vanishes with it.

Where bwrap is missing or cannot create the namespaces, `check_program` refuses with one
`SandboxUnavailable` line naming what is missing, unless the weak mode is chosen by name
(`sandbox="weak"`, or `TIE_SANDBOX=weak` in the environment): the same two-process judge, but
only `unshare` network/PID namespaces and a throwaway uid (when root) plus rlimits; the file
system is then NOT confined (world-writable directories such as /tmp stay writable). Every
result names its isolation (`ExecutionResult.isolation`), and code tasks record it in the run.
"""

from __future__ import annotations

import contextlib
import functools
import os
import platform
import secrets
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_RUNNER_SOURCE = Path(__file__).with_name("sandbox_runner.py").read_text(encoding="utf-8")
_UNSHARE = ("unshare", "--net", "--pid", "--fork", "--kill-child", "--")
MODES = ("strict", "weak")
STARTUP_GRACE_S = 0.5  # two sandboxes and two interpreters start before the tests run
STRICT_ISOLATION = "strict:bwrap(ro-fs+tmpfs+userns+pidns+netns+ipcns+utsns)+nonewprivs+rlimits"
# + "+seccomp" where the filter applies (x86_64), + "+uid" when the harness runs as root
_PROBE = "import math, operator, resource, re, collections, typing, traceback; print('ok')"


class SandboxUnavailable(RuntimeError):
    """The machine cannot give generated code the confinement the strict mode requires."""


@dataclass(frozen=True)
class ExecutionResult:
    passed: bool
    status: str  # "passed" | "failed" | "timeout" | "early_exit" | "killed" | "memory" | "error"
    returncode: int | None  # the judge's exit status
    stdout: str  # the candidate's stdout, then the tests' (kept for failing programs too)
    stderr: str  # the candidate's tracebacks, then the tests'
    duration_s: float
    isolation: str  # e.g. STRICT_ISOLATION + "+uid", or "weak:netns+pidns+uid+rlimits"


def resolve_mode(sandbox: str | None = None) -> str:
    """The sandbox mode asked for: `sandbox`, else $TIE_SANDBOX, else "strict"."""
    mode = sandbox if sandbox is not None else os.environ.get("TIE_SANDBOX", "strict")
    if mode not in MODES:
        raise ValueError(f"sandbox must be one of {MODES}, got {mode!r} (TIE_SANDBOX or option)")
    return mode


# x86_64 syscalls no graded program needs that widen the kernel surface (tracing, eBPF, keyrings,
# io_uring, userfaultfd, mounts, namespaces, modules, ...): they fail with EPERM under seccomp
_DENIED_X86_64 = (
    101, 103, 135, 153, 155, 161, 163, 165, 166, 167, 168, 169, 175, 176, 179, 212, 246, 248,
    249, 250, 272, 298, 300, 303, 304, 308, 310, 311, 313, 320, 321, 323, 425, 426, 427, 428,
    429, 430, 431, 432, 433, 442,
)  # fmt: skip


@functools.lru_cache(maxsize=1)
def _seccomp_program() -> bytes | None:
    """A classic-BPF seccomp filter for `bwrap --seccomp` (x86_64 only; elsewhere none)."""
    if platform.machine() != "x86_64":
        return None
    ld_abs, jeq, jset, ret = 0x20, 0x15, 0x45, 0x06
    allow, eperm = 0x7FFF0000, 0x00050000 | 1
    n = len(_DENIED_X86_64)

    def op(code: int, jt: int, jf: int, k: int) -> bytes:
        return struct.pack("=HBBI", code, jt, jf, k)

    prog = [
        op(ld_abs, 0, 0, 4),  # seccomp_data.arch
        op(jeq, 1, 0, 0xC000003E),  # AUDIT_ARCH_X86_64, else (i386 entry) refuse everything
        op(ret, 0, 0, eperm),
        op(ld_abs, 0, 0, 0),  # seccomp_data.nr
        op(jset, n + 1, 0, 0x40000000),  # the x32 ABI
        *(op(jeq, n - i, 0, nr) for i, nr in enumerate(_DENIED_X86_64)),
        op(ret, 0, 0, allow),
        op(ret, 0, 0, eperm),
    ]
    return b"".join(prog)


def _seccomp_fd() -> int:
    """A pipe holding the filter, read by bwrap before it starts the program (-1: no filter)."""
    program = _seccomp_program()
    if program is None:
        return -1
    read_end, write_end = os.pipe()
    os.write(write_end, program)  # a few hundred bytes: fits the pipe buffer
    os.close(write_end)
    return read_end


def _bwrap_prefix(tmp_bytes: int, seccomp_fd: int = -1) -> list[str]:
    seccomp = ["--seccomp", str(seccomp_fd)] if seccomp_fd >= 0 else []
    return [
        "bwrap",
        *seccomp,
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--size", str(tmp_bytes), "--tmpfs", "/tmp",
        "--size", str(tmp_bytes), "--tmpfs", "/dev/shm",
        "--size", str(1 << 20), "--tmpfs", "/run",
        "--unshare-user", "--disable-userns",
        "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--die-with-parent", "--new-session",
        "--chdir", "/tmp",
        "--",
    ]  # fmt: skip


def _as_uid(uid: int) -> tuple[list[str], dict]:
    """(command prefix, Popen kwargs) that start a command as `uid` (no-op for uid < 0).

    `setpriv` keeps Popen on its fast vfork path (Popen's own user=/group= forks the whole
    harness, ~50 ms for a large process)."""
    if uid < 0:
        return [], {}
    if shutil.which("setpriv"):
        return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"], {}
    return [], {"user": uid, "group": uid, "extra_groups": []}


def _throwaway_uid() -> int:
    """A run-unique uid when we are root (file permissions and RLIMIT_NPROC then apply), else -1."""
    return 100_000 + secrets.randbelow(1_000_000_000) if os.getuid() == 0 else -1


@functools.lru_cache(maxsize=1)
def strict_sandbox() -> tuple[str | None, str]:
    """(problem, python): problem is None when bwrap can confine a sandbox interpreter here.

    The interpreter must be runnable by an unprivileged uid inside the sandbox (a harness venv
    under a 0700 /root is not), so candidates are tried in order: $TIE_SANDBOX_PYTHON, our own
    interpreter, /usr/bin/python3.
    """
    if shutil.which("bwrap") is None:
        return (
            "bubblewrap (`bwrap`) is not installed; `make venv` installs it as root "
            "(apt-get install -y bubblewrap)",
            "",
        )
    candidates = [os.environ.get("TIE_SANDBOX_PYTHON"), sys.executable, "/usr/bin/python3"]
    found = [c for c in candidates if c and shutil.which(c)]
    last = "no python interpreter found"
    for python in found:
        prefix, kwargs = _as_uid(_throwaway_uid())
        seccomp_fd = _seccomp_fd()
        try:
            probe = subprocess.run(
                [*prefix, *_bwrap_prefix(1 << 20, seccomp_fd), python, "-I", "-S", "-B", "-c"]
                + [_PROBE],
                capture_output=True,
                timeout=30,
                cwd="/",
                pass_fds=(seccomp_fd,) if seccomp_fd >= 0 else (),
                **kwargs,
            )
        except (OSError, subprocess.SubprocessError) as err:
            last = f"{python}: {err}"
            continue
        finally:
            if seccomp_fd >= 0:
                os.close(seccomp_fd)
        if probe.returncode == 0 and probe.stdout.strip() == b"ok":
            return None, python
        lines = probe.stderr.decode("utf-8", "replace").strip().splitlines()
        last = f"{python}: {lines[-1] if lines else f'exit status {probe.returncode}'}"
    return (
        "bwrap is installed but cannot start a confined interpreter as an unprivileged uid "
        f"({last}); it needs unprivileged user namespaces (sysctl user.max_user_namespaces > 0, "
        "kernel.unprivileged_userns_clone=1 where that exists)",
        "",
    )


def require_sandbox(sandbox: str | None = None) -> str:
    """The isolation generated code will get, or one clear `SandboxUnavailable` line."""
    mode = resolve_mode(sandbox)
    if mode == "weak":
        return _weak_isolation()
    problem, _ = strict_sandbox()
    if problem is not None:
        raise SandboxUnavailable(
            f"cannot confine generated code: {problem}. Install it, or opt into the weaker "
            "sandbox (no file-system confinement) with TIE_SANDBOX=weak or the task option "
            "sandbox=weak; the run then records isolation 'weak:...'"
        )
    seccomp = "+seccomp" if _seccomp_program() is not None else ""
    return STRICT_ISOLATION + seccomp + ("+uid" if os.getuid() == 0 else "")


@functools.lru_cache(maxsize=1)
def _unshare_works() -> bool:
    if os.getuid() != 0 or shutil.which("unshare") is None:
        return False
    try:
        return subprocess.run([*_UNSHARE, "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@functools.lru_cache(maxsize=1)
def _weak_python() -> str:
    """An interpreter a dropped uid can run (a 0700 /root venv cannot be read by it)."""
    candidates = [os.environ.get("TIE_SANDBOX_PYTHON"), sys.executable, "/usr/bin/python3"]
    found = [c for c in candidates if c and shutil.which(c)]
    if os.getuid() != 0:
        return found[0]
    uid = _throwaway_uid()  # dropped inside, after start-up, as the weak runner does
    drop = f"import os\nos.setgroups([]);os.setgid({uid});os.setuid({uid})\n"
    for python in found:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            probe = subprocess.run(
                [python, "-I", "-S", "-B", "-c", drop + _PROBE],
                capture_output=True,
                timeout=30,
                cwd="/",
            )
            if probe.returncode == 0 and probe.stdout.strip() == b"ok":
                return python
    raise SandboxUnavailable(f"no python interpreter among {found} runs as an unprivileged uid")


def _weak_isolation() -> str:
    parts = (["netns", "pidns"] if _unshare_works() else []) + (["uid"] if os.getuid() == 0 else [])
    return "weak:" + "+".join([*parts, "rlimits"])


class _Capped:
    """Keeps the first `cap` bytes of a stream and counts the rest."""

    def __init__(self, cap: int) -> None:
        self.cap, self.data, self.dropped = cap, bytearray(), 0

    def add(self, chunk: bytes) -> None:
        room = max(self.cap - len(self.data), 0)
        self.data += chunk[:room]
        self.dropped += max(len(chunk) - room, 0)

    def text(self) -> str:
        suffix = f"\n[... {self.dropped} bytes dropped]" if self.dropped else ""
        return self.data.decode("utf-8", "replace") + suffix


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _kill_uid(uid: int) -> None:
    """Weak mode: kill every process of the run's uid (catches what left the process group)."""
    code = f"import os,signal\nos.setgroups([]);os.setgid({uid});os.setuid({uid})\nos.kill(-1,signal.SIGKILL)"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, timeout=10)


def _validate(solution: object, tests: object, timeout_s: object, caps: dict[str, int]) -> None:
    for name, value in (("solution", solution), ("tests", tests)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or timeout_s <= 0:
        raise ValueError(f"timeout_s must be a positive number, got {timeout_s!r}")
    for name, value in caps.items():
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _status(
    timed_out: bool, verdict: str | None, judge_code: int | None, cand_code: int | None, err: str
) -> str:
    """The judge's verdict ("pass ..." / "fail REASON"), refined by how the processes ended."""
    xcpu = (-signal.SIGXCPU, 128 + signal.SIGXCPU)
    if timed_out or judge_code in xcpu or cand_code in xcpu:
        return "timeout"
    if verdict is not None and verdict.startswith("pass ") and judge_code == 0:
        return "passed"
    if "MemoryError" in err:
        return "memory"
    if verdict is None:
        return "error"
    if verdict.startswith(("fail no candidate", "fail candidate:")):
        if cand_code == 0:
            return "early_exit"
        if cand_code is not None and (cand_code < 0 or cand_code > 128):
            return "killed"
    return "failed"


def check_program(
    solution: str,
    tests: str,
    timeout_s: float = 3.0,
    *,
    memory_bytes: int = 1 << 30,
    file_size_bytes: int = 10 << 20,
    tmp_bytes: int = 64 << 20,
    max_processes: int = 32,
    max_open_files: int = 64,
    max_output_bytes: int = 64 << 10,
    sandbox: str | None = None,
) -> ExecutionResult:
    """Run `solution` (untrusted) against `tests` (trusted) in two sandboxes; see module doc."""
    caps = {
        "memory_bytes": memory_bytes,
        "file_size_bytes": file_size_bytes,
        "tmp_bytes": tmp_bytes,
        "max_processes": max_processes,
        "max_open_files": max_open_files,
        "max_output_bytes": max_output_bytes,
    }
    _validate(solution, tests, timeout_s, caps)
    isolation = require_sandbox(sandbox)
    strict = isolation.startswith("strict")
    python = strict_sandbox()[1] if strict else _weak_python()
    limits = (int(timeout_s) + 1, memory_bytes, file_size_bytes, max_processes, max_open_files)
    uids = {"candidate": _throwaway_uid(), "judge": _throwaway_uid()}
    while uids["judge"] == uids["candidate"] >= 0:
        uids["judge"] = _throwaway_uid()

    req_r, req_w = os.pipe()  # judge -> candidate
    resp_r, resp_w = os.pipe()  # candidate -> judge
    src = {role: os.pipe() for role in uids}
    verdict_r, verdict_w = os.pipe()
    child_ends = {
        "candidate": (req_r, resp_w, src["candidate"][0], -1),
        "judge": (resp_r, req_w, src["judge"][0], verdict_w),
    }
    workdirs: dict[str, Path] = {}
    seccomp_fds: dict[str, int] = {}
    procs: dict[str, subprocess.Popen] = {}
    start = time.monotonic()
    try:
        for role, uid in uids.items():
            in_fd, out_fd, src_fd, v_fd = child_ends[role]
            runner = [python, "-I", "-S", "-B", "-c", _RUNNER_SOURCE, role]
            runner += [str(x) for x in (in_fd, out_fd, src_fd, v_fd)]
            if strict:
                seccomp_fds[role] = _seccomp_fd()
                prefix = _bwrap_prefix(tmp_bytes, seccomp_fds[role])
                cmd, home, drop, spawn_uid = [*prefix, *runner], "/tmp", -1, uid
            else:
                workdirs[role] = Path(tempfile.mkdtemp(prefix="tie-exec-"))
                if uid >= 0:
                    os.chown(workdirs[role], uid, uid)
                prefix = list(_UNSHARE) if _unshare_works() else []
                cmd, home, drop, spawn_uid = [*prefix, *runner], str(workdirs[role]), uid, -1
            cmd += [str(x) for x in (drop, *limits)]
            uid_prefix, uid_kwargs = _as_uid(spawn_uid)
            env = {
                "PATH": "/usr/bin:/bin",
                "HOME": home,
                "TMPDIR": home,
                "LANG": "C.UTF-8",
                "PYTHONHASHSEED": "0",
                "OMP_NUM_THREADS": "1",
            }
            procs[role] = subprocess.Popen(
                [*uid_prefix, *cmd],
                cwd=home if not strict else "/",
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=tuple(
                    fd for fd in (*child_ends[role], seccomp_fds.get(role, -1)) if fd >= 0
                ),
                start_new_session=True,
                **uid_kwargs,
            )
    except OSError as err:
        for proc in procs.values():
            _kill(proc)
            proc.wait()
        for fd in (req_r, req_w, resp_r, resp_w, verdict_r, verdict_w, *sum(src.values(), ())):
            os.close(fd)
        for path in workdirs.values():
            shutil.rmtree(path, ignore_errors=True)
        for fd in seccomp_fds.values():
            if fd >= 0:
                os.close(fd)
        return ExecutionResult(False, "error", None, "", f"spawn failed: {err}", 0.0, isolation)
    for fd in (req_r, req_w, resp_r, resp_w, verdict_w, src["candidate"][0], src["judge"][0]):
        os.close(fd)
    for fd in seccomp_fds.values():
        if fd >= 0:
            os.close(fd)

    outputs = {name: _Capped(max_output_bytes) for name in ("c_out", "c_err", "j_out", "j_err")}
    verdict_buf = _Capped(4096)
    sel = selectors.DefaultSelector()
    readers = {
        procs["candidate"].stdout.fileno(): ("c_out", outputs["c_out"]),
        procs["candidate"].stderr.fileno(): ("c_err", outputs["c_err"]),
        procs["judge"].stdout.fileno(): ("j_out", outputs["j_out"]),
        procs["judge"].stderr.fileno(): ("j_err", outputs["j_err"]),
        verdict_r: ("verdict", verdict_buf),
    }
    for fd in readers:
        sel.register(fd, selectors.EVENT_READ)
    pending = {src["candidate"][1]: solution.encode(), src["judge"][1]: tests.encode()}
    for fd in pending:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_WRITE)

    def pump(until: float, done) -> None:
        while not done() and (wait := until - time.monotonic()) > 0:
            for key, _ in sel.select(timeout=min(wait, 0.5)):
                fd = key.fd
                if fd in pending:
                    try:
                        n = os.write(fd, pending[fd][:65536])
                        pending[fd] = pending[fd][n:]
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        pending[fd] = b""
                    if not pending[fd]:
                        sel.unregister(fd)
                        os.close(fd)
                        del pending[fd]
                    continue
                chunk = os.read(fd, 65536)
                if chunk:
                    readers[fd][1].add(chunk)
                else:
                    sel.unregister(fd)
                    del readers[fd]

    def open_streams(*names: str) -> bool:
        return any(name in names for name, _ in readers.values())

    deadline = start + timeout_s + STARTUP_GRACE_S
    pump(deadline, lambda: not open_streams("j_out", "j_err", "verdict"))
    timed_out = open_streams("j_out", "j_err", "verdict")
    if not timed_out:  # the candidate ends by itself once the judge has closed its pipe
        grace = time.monotonic() + 0.5
        pump(grace, lambda: not open_streams("c_out", "c_err"))
        for proc in procs.values():  # let bwrap reap its own init (killed, it leaves zombies)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(grace - time.monotonic(), 0.01))
    for proc in procs.values():
        if proc.poll() is None:
            _kill(proc)
    pump(time.monotonic() + 2.0, lambda: not readers)
    for proc in procs.values():
        proc.wait()
    if not strict:
        for role, uid in uids.items():
            if uid >= 0:
                _kill_uid(uid)
            shutil.rmtree(workdirs[role], ignore_errors=True)
    sel.close()
    for fd in (verdict_r, *pending):
        os.close(fd)
    for proc in procs.values():
        proc.stdout.close()
        proc.stderr.close()

    duration = time.monotonic() - start
    verdict = bytes(verdict_buf.data).decode("utf-8", "replace") or None
    stdout = outputs["c_out"].text()
    if outputs["j_out"].data:
        stdout += "\n[tests stdout]\n" + outputs["j_out"].text()
    stderr = outputs["c_err"].text() + outputs["j_err"].text()
    judge_code, cand_code = procs["judge"].returncode, procs["candidate"].returncode
    status = _status(timed_out, verdict, judge_code, cand_code, stderr)
    return ExecutionResult(
        status == "passed", status, judge_code, stdout, stderr, duration, isolation
    )
