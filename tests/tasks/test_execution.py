"""The code sandbox (`tie.tasks.execution.check_program`) against hostile programs.

Every attack runs as the untrusted `solution`; the trusted `tests` ask for a result the honest
part of the solution gets wrong, so only a successful attack on the runner could pass. After each
test nothing may be left: no file outside the sandbox's tmpfs, no process of a sandbox uid.
"""

import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from tie.tasks import execution
from tie.tasks.execution import SandboxUnavailable, check_program

T = 1.0  # per-program timeout: every case here finishes in about a second at most
TOKEN = f"tie-evil-{os.getpid()}"
REPO = Path(__file__).resolve().parents[2]
HOST_HOME = Path(os.environ.get("HOME", "/root"))
# where a program that escaped its file-system confinement would leave TOKEN files
PLANT_DIRS = [Path("/tmp"), Path("/dev/shm"), Path("/var/tmp"), HOST_HOME, REPO]
WRONG = "def f(x):\n    return x\n"  # the honest part of every attack: wrong, so it cannot pass
TESTS = "assert f(1) == 2\nassert f(5) == 6\n"


def _sandbox_processes() -> list[int]:
    """PIDs of live processes of a sandbox uid (>= 100000) anywhere on the machine.

    Zombies are dead (no code runs, nothing held but a table entry): bwrap's PID-namespace init
    can end as an orphan that the machine's init reaps when it gets to it (here ~1.5 s later)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = dict(
                    ln.split(":", 1) for ln in (entry / "status").read_text().splitlines()
                )
            except (OSError, ValueError):
                continue
            uid = int(status.get("Uid", "0").split()[0])
            if uid >= 100_000 and status.get("State", "").split()[0] not in ("Z", "X"):
                pids.append(int(entry.name))
    return pids


def _leftover_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("tie-exec-*")}


def _planted() -> list[Path]:
    return [p for d in PLANT_DIRS if d.is_dir() for p in d.glob(f"{TOKEN}*")]


@pytest.fixture(autouse=True)
def _nothing_left_behind():
    before = _leftover_dirs()
    yield
    assert _planted() == []
    # SIGKILLed processes take a moment to be reaped (and concurrent runs elsewhere come and go)
    deadline = time.monotonic() + 3
    while (_sandbox_processes() or _leftover_dirs() - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _leftover_dirs() <= before
    assert _sandbox_processes() == []


def test_passing_program_keeps_both_outputs():
    r = check_program("def f(x):\n    return x + 1\nprint('loaded')", TESTS + "print('done')", T)
    assert r.passed and r.status == "passed"
    assert "loaded" in r.stdout and "done" in r.stdout
    assert r.isolation.startswith("strict:bwrap")


def test_failing_program_keeps_its_stdout_and_traceback():
    r = check_program("print('why: computing f')\n" + WRONG, TESTS, T)
    assert (r.passed, r.status) == (False, "failed")
    assert "why: computing f" in r.stdout and "AssertionError" in r.stderr
    r = check_program("def f(:\n    pass", TESTS, T)
    assert not r.passed and "SyntaxError" in r.stderr


def test_results_cross_as_data_and_references():
    solution = (
        "def gen(n):\n    yield from range(n)\n"
        "class Pair:\n    def __init__(self, a, b):\n        self.a, self.b = a, b\n"
        "def longest(pairs):\n    return max(p.b - p.a for p in pairs)\n"
        "def boom():\n    raise ValueError('bad input')\n"
        "TABLE = {(1, 2): {3, 4}, 'x': [1.5, None, b'\\x00', 2j]}\n"
    )
    tests = (
        "assert list(gen(3)) == [0, 1, 2]\n"
        "assert longest([Pair(1, 5), Pair(2, 3)]) == 4\n"
        "assert TABLE == {(1, 2): {3, 4}, 'x': [1.5, None, b'\\x00', 2j]}\n"
        "try:\n    boom()\nexcept ValueError as e:\n    assert 'bad input' in str(e)\n"
        "else:\n    raise AssertionError('no error')\n"
        "import copy\nassert copy.deepcopy(gen) is gen\n"
    )
    r = check_program(solution, tests, T)
    assert r.passed, r.stderr


@pytest.mark.parametrize(
    "attack",
    [
        "import sys\nsys.exit(0)",
        "raise SystemExit(0)",
        "import os\nos._exit(0)",
        "raise KeyboardInterrupt",
        "print('passed')\nprint('OK')\nimport os\nos._exit(0)",
        "exit()",
        "def f(x):\n    import os\n    os._exit(0)",  # exits during the tests' first call
        "def f(x):\n    raise SystemExit(0)",
    ],
)
def test_exit_tricks_never_pass(attack):
    r = check_program(WRONG + attack, TESTS, T)
    assert not r.passed and r.status != "passed"


# Attacks on the runner itself from inside the candidate process: each tries to forge the
# verdict (the tests ask for what the honest part gets wrong, so only a forged one passes).
RUNNER_ATTACKS = {
    # walk up from inside the tests' call into the runner, forge replies and a verdict on every
    # descriptor, rebind every local and global that could mean success, then leave with 0
    "frame_walking_via_getframe": (
        "import os, sys, json\n"
        "def forge():\n"
        "    ok = json.dumps(['ok', True]).encode()\n"
        "    frame = json.dumps({'passed': True, 'reason': 'tests passed'}).encode()\n"
        "    for fd in range(3, 256):\n"
        "        for blob in (len(ok).to_bytes(4, 'big') + ok, frame, b'passed'):\n"
        "            try:\n"
        "                os.write(fd, blob)\n"
        "            except OSError:\n"
        "                pass\n"
        "def f(x):\n"
        "    frame = sys._getframe()\n"
        "    while frame is not None:\n"
        "        for scope in (frame.f_locals, frame.f_globals):\n"
        "            for key in list(scope):\n"
        "                if key in ('passed', 'ok', 'status', 'result', 'reply'):\n"
        "                    scope[key] = True\n"
        "        frame = frame.f_back\n"
        "    forge()\n"
        "    os._exit(0)\n"
    ),
    "frame_walking_via_traceback": (
        "import os\n"
        "def f(x):\n"
        "    try:\n"
        "        1 / 0\n"
        "    except ZeroDivisionError as err:\n"
        "        frame = err.__traceback__.tb_frame\n"
        "    while frame.f_back is not None:\n"
        "        frame = frame.f_back\n"
        "    g = frame.f_globals\n"  # the runner's module globals
        "    send = g['send']\n"
        "    for fd in range(3, 64):\n"  # answer 'yes' to whatever comes next, on every fd
        "        for _ in range(8):\n"
        "            try:\n"
        "                send(fd, ['ok', x + 1])\n"
        "            except OSError:\n"
        "                break\n"
        "    return x + 1 if x == 1 else x\n"  # right on the first question only
    ),
    # the runner's own judge code is in this process too: run it against forged descriptors,
    # then turn every function of the runner into one that says yes
    "reassigning_runner_globals_via_sys_modules": WRONG
    + (
        "import os, sys\n"
        "runner = sys.modules['__main__']\n"
        "r, w = os.pipe()\n"
        "for name in dir(runner):\n"
        "    if callable(getattr(runner, name)) and not name.startswith('_'):\n"
        "        try:\n"
        "            setattr(runner, name, lambda *a, **k: True)\n"
        "        except (AttributeError, TypeError):\n"
        "            pass\n"
        "for fd in range(0, 64):\n"
        "    try:\n"
        '        os.write(fd, b\'{"passed": true, "reason": "tests passed"}\')\n'
        "    except OSError:\n"
        "        pass\n"
        "sys.exit(0)\n"
    ),
    # every live object of the candidate process: call whatever looks like a sender or a verdict
    "gc_introspection": (
        "import gc, os\n"
        "def f(x):\n"
        "    for obj in gc.get_objects():\n"
        "        name = getattr(obj, '__name__', '')\n"
        "        if callable(obj) and name in ('send', 'verdict', 'finish', 'judge'):\n"
        "            for fd in range(3, 16):\n"
        "                try:\n"
        "                    obj(fd, b'pass tests passed')\n"
        "                except BaseException:\n"
        "                    pass\n"
        "    os._exit(0)\n"
    ),
    # read and write every descriptor the candidate holds, forging protocol frames and verdicts
    "inherited_descriptors": (
        "import os, json\n"
        "def f(x):\n"
        "    seen = []\n"
        "    for fd in map(int, os.listdir('/proc/self/fd')):\n"
        "        try:\n"
        "            os.set_blocking(fd, False)\n"
        "            seen.append(os.read(fd, 1 << 16))\n"
        "        except OSError:\n"
        "            pass\n"
        "        for blob in (b'{\"passed\": true}', json.dumps(['ok', x + 1]).encode()):\n"
        "            try:\n"
        "                os.write(fd, len(blob).to_bytes(4, 'big') + blob)\n"
        "                os.write(fd, blob)\n"
        "            except OSError:\n"
        "                pass\n"
        "    os._exit(0)\n"
    ),
}


@pytest.mark.parametrize("program", list(RUNNER_ATTACKS.values()), ids=list(RUNNER_ATTACKS))
def test_attacks_on_the_runner_cannot_pass(program):
    r = check_program(program, TESTS, T)
    assert not r.passed and r.status != "passed"


def test_candidate_cannot_see_the_judge_or_the_host():
    solution = (
        "import os\n"
        "def procs():\n"
        "    return [open(f'/proc/{p}/cmdline', 'rb').read() for p in os.listdir('/proc')"
        " if p.isdigit()]\n"
        "def uid():\n    return os.getuid()\n"
    )
    tests = (
        "assert not any(b'\\x00judge\\x00' in c for c in procs())\n"
        "assert any(b'\\x00candidate\\x00' in c for c in procs())\n"
        "assert len(procs()) <= 3\n"  # bwrap's init, bwrap's monitor child, this interpreter
        "import os\n"
        "assert uid() != os.getuid()\n"  # two throwaway uids
    )
    r = check_program(solution, tests, T)
    assert r.passed, r.stderr


def test_writes_outside_the_tmpfs_leave_nothing(tmp_path):
    keep_dir = Path(tempfile.mkdtemp(prefix=f"{TOKEN}-keep-", dir="/var/tmp"))
    try:
        keep = keep_dir / "keep.txt"
        keep.write_text("precious")
        for target in PLANT_DIRS:
            attack = f"open({str(target / TOKEN)!r}, 'w').write('x')\n"
            assert not check_program(WRONG + attack, TESTS, T).passed, target
        for attack in (
            f"import os\nos.remove({str(keep)!r})",
            f"import shutil\nshutil.rmtree({str(keep_dir)!r})",
            f"import os\nos.open({str(REPO / TOKEN)!r}, os.O_CREAT | os.O_WRONLY)",
            f"import subprocess\nsubprocess.run(['touch', {str(HOST_HOME / TOKEN)!r}], check=True)",
        ):
            assert not check_program(WRONG + attack, TESTS, T).passed, attack
        assert keep.read_text() == "precious"
    finally:
        shutil.rmtree(keep_dir, ignore_errors=True)


def test_writes_are_refused_by_the_kernel_and_the_tmpfs_is_private():
    # the program reports what it saw; the tests (trusted) check it: read-only mounts outside,
    # a private writable /tmp, $HOME and /dev/shm that the host never sees
    solution = (
        "import os\n"
        "def attempts(paths):\n"
        "    out = {}\n"
        "    for p in paths:\n"
        "        try:\n"
        "            open(p, 'w').write('x')\n"
        "            out[p] = 'written'\n"
        "        except OSError as e:\n"
        "            out[p] = e.strerror\n"
        "    return out\n"
        "def scratch():\n"
        "    open('scratch.txt', 'w').write('ok')\n"
        "    return open('scratch.txt').read(), os.getcwd(), os.environ['HOME']\n"
    )
    outside = [str(REPO / TOKEN), str(HOST_HOME / TOKEN), f"/var/tmp/{TOKEN}", f"/usr/{TOKEN}"]
    inside = [f"/tmp/{TOKEN}", f"/dev/shm/{TOKEN}"]
    tests = (
        f"seen = attempts({outside!r})\n"
        "assert all(v in ('Read-only file system', 'Permission denied', "
        "'No such file or directory') for v in seen.values()), seen\n"
        f"assert set(attempts({inside!r}).values()) == {{'written'}}\n"
        "assert scratch() == ('ok', '/tmp', '/tmp')\n"
    )
    r = check_program(solution, tests, T)
    assert r.passed, r.stderr  # and the fixture checks the host never saw the /tmp, /dev/shm files


def test_tmpfs_is_size_limited():
    solution = (
        "def fill():\n"
        "    total = 0\n"
        "    for i in range(100):\n"
        "        try:\n"
        "            with open(f'/tmp/blob{i}', 'wb') as fh:\n"
        "                fh.write(b'x' * (4 << 20))\n"
        "            total += 4 << 20\n"
        "        except OSError:\n"
        "            return total\n"
        "    return total\n"
    )
    r = check_program(solution, "assert 0 < fill() <= 16 << 20, fill()", 2 * T, tmp_bytes=16 << 20)
    assert r.passed, r.stderr


def test_ctypes_system_shell_writes_nothing_and_leaves_no_process():
    attack = (
        "import ctypes\n"
        "libc = ctypes.CDLL(None)\n"
        f"libc.system(b'touch /tmp/{TOKEN} /dev/shm/{TOKEN} /var/tmp/{TOKEN} "
        f"{HOST_HOME}/{TOKEN} {REPO}/{TOKEN}; (setsid sleep 30 &) ; (nohup sleep 31 &)')\n"
        "import os\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    libc.system(b'sleep 32')\n"
        "    os._exit(0)\n"
    )
    r = check_program(WRONG + attack, TESTS, T)
    assert not r.passed
    r = check_program(attack + "def f(x):\n    return x + 1\n", TESTS, T)
    assert r.passed, r.stderr  # the shell ran (inside) and the tests still judged f alone


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the seccomp filter is x86_64-only")
def test_seccomp_refuses_syscalls_no_program_needs():
    solution = (
        "import ctypes, errno\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "def refused(nr, *args):\n"
        "    return libc.syscall(nr, *args) == -1 and ctypes.get_errno() == errno.EPERM\n"
        "def mode():\n"
        "    status = open('/proc/self/status').read().splitlines()\n"
        "    return next(ln.split()[1] for ln in status if ln.startswith('Seccomp:'))\n"
    )
    tests = (
        "assert mode() == '2'\n"  # SECCOMP_MODE_FILTER
        "assert refused(101, 16, 1, 0, 0)\n"  # ptrace(PTRACE_ATTACH, 1)
        "assert refused(425, 1, 0)\n"  # io_uring_setup
        "assert refused(321, 0, 0, 0)\n"  # bpf
        "assert refused(272, 0x10000000)\n"  # unshare(CLONE_NEWUSER)
    )
    r = check_program(solution, tests, T)
    assert r.passed and "+seccomp" in r.isolation, r.stderr


def test_infinite_loop_times_out():
    for solution in ("while True:\n    pass", "def f(x):\n    while True:\n        pass"):
        start = time.monotonic()
        r = check_program(solution, TESTS, T)
        assert (r.passed, r.status) == (False, "timeout")
        assert time.monotonic() - start < T + 3


def test_alarm_disabling_loop_still_times_out():
    program = "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass"
    assert check_program(program, TESTS, T).status == "timeout"


def test_memory_hog_is_stopped():
    r = check_program("x = bytearray(10**10)", TESTS, T)
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
    r = check_program(program, TESTS, T, max_processes=16)
    assert not r.passed
    assert time.monotonic() - start < T + 3


@pytest.mark.parametrize(
    "program",
    [
        "import socket\ns = socket.socket()\ns.connect(('1.1.1.1', 80))",
        "import socket\nsocket.create_connection(('example.com', 80), timeout=0.5)",
        "import urllib.request\nurllib.request.urlopen('http://1.1.1.1', timeout=0.5)",
        "import socket\ns = socket.socket()\ns.connect(('127.0.0.1', 22))",
    ],
)
def test_network_attempts_fail(program):
    assert not check_program(WRONG.replace("x\n", "x + 1\n") + program, TESTS, T).passed


def test_output_flood_is_capped_and_still_judged():
    flood = "import sys\nsys.stdout.write('x' * 10_000_000)\ndef f(x):\n    return x + 1\n"
    r = check_program(flood, TESTS, T)
    assert r.passed and len(r.stdout) < 70_000 and "bytes dropped" in r.stdout
    r = check_program("import sys\nsys.stderr.write('y' * 10_000_000)\n" + WRONG, TESTS, T)
    assert r.status == "failed" and len(r.stderr) < 140_000


def test_weak_mode_keeps_the_verdict_design():
    r = check_program("def f(x):\n    return x + 1\n", TESTS, T, sandbox="weak")
    assert r.passed and r.isolation.startswith("weak:")
    for attack in ("import os\nos._exit(0)", "def f(x):\n    import os\n    os._exit(0)"):
        assert not check_program(WRONG + attack, TESTS, T, sandbox="weak").passed


def test_missing_confinement_refuses_unless_weak_is_named(monkeypatch):
    monkeypatch.setattr(
        execution, "strict_sandbox", lambda: ("bubblewrap (`bwrap`) is not installed", "")
    )
    monkeypatch.delenv("TIE_SANDBOX", raising=False)
    with pytest.raises(SandboxUnavailable, match=r"bwrap.*TIE_SANDBOX=weak"):
        check_program("def f(x):\n    return x + 1\n", TESTS, T)
    monkeypatch.setenv("TIE_SANDBOX", "weak")
    r = check_program("def f(x):\n    return x + 1\n", TESTS, T)
    assert r.passed and r.isolation.startswith("weak:")
    monkeypatch.setenv("TIE_SANDBOX", "loose")
    with pytest.raises(ValueError, match="sandbox must be one of"):
        check_program("", "", T)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"solution": 3, "tests": "", "timeout_s": 1.0}, "solution must be a str"),
        ({"solution": "", "tests": None, "timeout_s": 1.0}, "tests must be a str"),
        ({"solution": "", "tests": "", "timeout_s": 0}, "timeout_s"),
        ({"solution": "", "tests": "", "timeout_s": 1.0, "memory_bytes": -1}, "memory_bytes"),
    ],
)
def test_bad_arguments_raise_before_running(kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message):
        check_program(**kwargs)
