"""The code sandbox (`tie.tasks.execution.check_program`) against hostile programs."""

import os
import tempfile
import time
from pathlib import Path

import pytest

from tie.tasks.execution import check_program

T = 1.0  # per-program timeout: every case here finishes in about a second at most


def _sandbox_processes() -> list[int]:
    """PIDs of processes running under a sandbox uid (>= 100000) anywhere on the machine."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                uid_line = next(
                    ln
                    for ln in (entry / "status").read_text().splitlines()
                    if ln.startswith("Uid:")
                )
            except (OSError, StopIteration):
                continue
            if int(uid_line.split()[1]) >= 100_000:
                pids.append(int(entry.name))
    return pids


def _leftover_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("tie-exec-*")}


@pytest.fixture(autouse=True)
def _nothing_left_behind():
    before = _leftover_dirs()
    yield
    assert _leftover_dirs() <= before
    deadline = time.monotonic() + 3  # SIGKILLed processes take a moment to be reaped
    while _sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _sandbox_processes() == []


def test_passing_program():
    r = check_program("def f(x):\n    return x + 1\nassert f(1) == 2\nprint('done')", T)
    assert r.passed and r.status == "passed" and r.stdout.strip() == "done"


def test_failing_assert_and_syntax_error():
    assert check_program("assert 1 == 2", T).status == "failed"
    r = check_program("def f(:\n    pass", T)
    assert not r.passed and "SyntaxError" in r.stderr


@pytest.mark.parametrize(
    "program",
    [
        "import sys\nsys.exit(0)\nassert False",
        "raise SystemExit(0)\nassert False",
        "import os\nos._exit(0)\nassert False",
        "raise KeyboardInterrupt",
        "print('passed')\nprint('OK')\nimport os\nos._exit(0)",
        "exit()",
    ],
)
def test_exit_tricks_never_pass(program):
    r = check_program(program, T)
    assert not r.passed and r.status != "passed"


def test_infinite_loop_times_out():
    start = time.monotonic()
    r = check_program("while True:\n    pass", T)
    assert (r.passed, r.status) == (False, "timeout")
    assert time.monotonic() - start < T + 2


def test_alarm_disabling_loop_still_times_out():
    program = "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass"
    assert check_program(program, T).status == "timeout"


def test_memory_hog_is_stopped():
    r = check_program("x = bytearray(10**10)", T)
    assert not r.passed and r.status in ("memory", "failed", "killed")


def test_fork_bomb_is_bounded_and_cleaned_up():
    program = (
        "import os, time\n"
        "for _ in range(200):\n"
        "    try:\n"
        "        if os.fork() == 0:\n"
        "            os.setsid()\n"
        "            time.sleep(30)\n"
        "    except OSError:\n"
        "        break\n"
        "time.sleep(30)\n"
    )
    start = time.monotonic()
    r = check_program(program, T, max_processes=16)
    assert not r.passed
    assert time.monotonic() - start < T + 3


def test_writes_and_deletes_outside_are_refused(tmp_path):
    keep = tmp_path / "keep.txt"
    keep.write_text("precious")
    evil = tmp_path / "evil.txt"
    tmp_evil = Path(tempfile.gettempdir()) / f"tie-evil-{os.getpid()}"
    for program in (
        f"open({str(evil)!r}, 'w').write('x')",
        f"import os\nos.remove({str(keep)!r})",
        f"import shutil\nshutil.rmtree({str(tmp_path)!r})",
        f"import os\nfd = os.open({str(tmp_evil)!r}, os.O_CREAT | os.O_WRONLY)",
        "import subprocess\nsubprocess.run(['touch', '/tmp/tie-evil-sub'])",
    ):
        assert not check_program(program, T).passed, program
    assert keep.read_text() == "precious" and not evil.exists() and not tmp_evil.exists()
    assert not Path("/tmp/tie-evil-sub").exists()


def test_writes_inside_the_sandbox_are_allowed():
    program = "open('scratch.txt', 'w').write('ok')\nassert open('scratch.txt').read() == 'ok'"
    assert check_program(program, T).passed


@pytest.mark.parametrize(
    "program",
    [
        "import socket\ns = socket.socket()\ns.connect(('1.1.1.1', 80))",
        "import socket\nsocket.create_connection(('example.com', 80), timeout=0.5)",
        "import urllib.request\nurllib.request.urlopen('http://1.1.1.1', timeout=0.5)",
    ],
)
def test_network_attempts_fail(program):
    assert not check_program(program, T).passed


def test_output_flood_is_capped_and_still_judged():
    r = check_program("import sys\nsys.stdout.write('x' * 10_000_000)\nassert True", T)
    assert r.passed and len(r.stdout) < 70_000 and "bytes dropped" in r.stdout
    r = check_program("import sys\nsys.stderr.write('y' * 10_000_000)\nassert False", T)
    assert r.status == "failed" and len(r.stderr) < 70_000


def test_ctypes_and_gc_introspection_are_refused():
    assert not check_program("import ctypes\nctypes.CDLL(None)", T).passed
    assert not check_program("import gc\ngc.get_objects()", T).passed


def test_forged_nonce_output_does_not_pass():
    program = "import sys, os\nos.write(int(sys.argv[1]) if len(sys.argv) > 1 else 1, b'0' * 32)\nos._exit(0)"
    assert not check_program(program, T).passed


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"program": 3, "timeout_s": 1.0}, "program must be a str"),
        ({"program": "", "timeout_s": 0}, "timeout_s"),
        ({"program": "", "timeout_s": 1.0, "memory_bytes": -1}, "memory_bytes"),
    ],
)
def test_bad_arguments_raise_before_running(kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message):
        check_program(**kwargs)
