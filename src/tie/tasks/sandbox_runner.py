"""Child side of `tie.tasks.execution`: limit, drop privileges, guard, run, then sign completion.

Run as `python -I -S -B sandbox_runner.py RESULT_FD NONCE_FD UID CPU_S AS FSIZE NPROC NOFILE
PROGRAM`. Standard library only, never imported by the harness. The completion nonce (read from
a pipe, never on the command line) is written to RESULT_FD only after the whole program,
tests included, returned normally: `sys.exit(0)`, `os._exit(0)`, an exception or a printed
fake marker all leave it unwritten. Residual risk (documented): code in this interpreter can in
principle still find the nonce in memory; the audit hook below closes the easy routes
(`gc`, `ctypes`, `sys._current_frames`; `sys._getframe` stays allowed because
the standard library needs it).
"""

from __future__ import annotations

import os
import resource
import sys
import traceback

_BLOCKED_EVENTS = (
    "socket.",  # no network even where no network namespace is available
    "ctypes.",  # no raw memory or libc calls that sidestep the hooks
    "sys._current_frames",
    "gc.get_objects",
    "gc.get_referrers",
    "gc.get_referents",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.system",
    "subprocess.Popen",
    "sys.addaudithook",
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_PATH_EVENTS = {
    "os.remove",
    "os.rename",
    "os.rmdir",
    "os.mkdir",
    "os.chmod",
    "os.chown",
    "os.symlink",
    "os.link",
    "os.truncate",
    "shutil.rmtree",
    "os.utime",
}


def _inside(path: object, root: str) -> bool:
    if isinstance(path, int):  # an fd we already hold
        return True
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str):
        return False
    full = os.path.realpath(os.path.join(root, path))
    return full == root or full.startswith(root + os.sep)


def _install_guard(root: str) -> None:
    def hook(event: str, args: tuple) -> None:
        if event.startswith(_BLOCKED_EVENTS):
            raise PermissionError(f"sandbox: {event} is not allowed")
        if event == "open" and len(args) >= 3:
            path, mode, flags = args[0], args[1], args[2]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if writing and not _inside(path, root):
                raise PermissionError(f"sandbox: writing {path!r} is not allowed")
        elif (
            event in _PATH_EVENTS
            and args
            and not all(_inside(a, root) for a in args[:2] if isinstance(a, str | bytes))
        ):
            raise PermissionError(f"sandbox: {event} outside the sandbox is not allowed")

    sys.addaudithook(hook)


def main() -> None:
    result_fd, nonce_fd, uid, cpu_s, as_bytes, fsize, nproc, nofile = map(int, sys.argv[1:9])
    source = open(sys.argv[9], encoding="utf-8").read()  # noqa: SIM115 (before the guard)
    nonce = os.read(nonce_fd, 256)
    os.close(nonce_fd)
    for limit, value in (
        (resource.RLIMIT_CPU, cpu_s),
        (resource.RLIMIT_AS, as_bytes),
        (resource.RLIMIT_FSIZE, fsize),
        (resource.RLIMIT_NPROC, nproc),
        (resource.RLIMIT_NOFILE, nofile),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(limit, (value, value))
    if uid >= 0 and os.getuid() == 0:  # a run-unique uid: limits apply, files are not ours
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    root = os.path.realpath(os.getcwd())
    code = compile(source, "solution.py", "exec")
    del source
    _install_guard(root)

    def finish() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.write(result_fd, nonce)
        os._exit(0)

    try:
        exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
    except BaseException:  # SystemExit included: an exit before the end is not a pass
        traceback.print_exc(limit=5)
        sys.stderr.flush()
        os._exit(1)
    finish()


if __name__ == "__main__":
    main()
