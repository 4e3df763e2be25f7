"""MATH500: loader, extraction, math-verify in a worker with time limits, string fallback."""

import json
import threading
import time

import pytest

from tie.tasks import TaskDataError, get_task
from tie.tasks.math500 import extract_math_answer, strip_boxed
from tie.tasks.math_equiv import (
    EquivalenceResult,
    MathVerifier,
    normalize_math_string,
    string_equivalent,
)


@pytest.fixture(scope="module")
def verifier():
    v = MathVerifier(timeout_s=5)
    yield v
    v.close()


def test_loader_and_prompt(fixtures):
    task = get_task("math500", data_dir=fixtures / "math500")
    ds = task.load()
    assert ds["id"][0] == "test/precalculus/807.json"
    assert ds["gold"][1] == "\\dfrac{14}{3}" and ds["level"] == [2, 1, 1]
    assert ds["category"] == ["Precalculus", "Prealgebra", "Algebra"]
    prompt = task.build_prompt(ds[2])
    assert "Expand $(x+1)^2$." in prompt and prompt.startswith("Solve the following math problem")
    assert task.budget.gen_length == 512  # the paper's generation length (R = G - S - A)


def test_malformed_level(tmp_path, fixtures):
    row = json.loads((fixtures / "math500" / "test.jsonl").read_text().splitlines()[0])
    row["level"] = "hard"
    (tmp_path / "test.jsonl").write_text(json.dumps(row))
    with pytest.raises(TaskDataError, match="row 1: field 'level'"):
        get_task("math500", data_dir=tmp_path).load()


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("Answer: $\\frac{1}{2}$", "\\frac{1}{2}"),
        ("Answer:\n42", "42"),
        ("Answer: \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}"),
        ("Answer: $\\boxed{x^{2}}$.", "x^{2}"),
        ("Answer: \\(3\\)", "3"),
        ("Answer: 7\nAnswer: 8", "7"),
        ("no answer line", None),
        ("Answer: " + "1" * 600, None),
    ],
)
def test_extraction(region, expected):
    assert extract_math_answer(region) == expected


def test_strip_boxed_is_brace_matched():
    assert strip_boxed("\\boxed{\\frac{1}{2}}") == "\\frac{1}{2}"
    assert strip_boxed("\\boxed{unclosed") == "\\boxed{unclosed"


EQUAL = [
    ("0.5", "\\frac{1}{2}"),
    ("14/3", "\\dfrac{14}{3}"),
    ("(3,\\frac{\\pi}{2})", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("90", "90^\\circ"),
    ("(x+1)^2", "x^2+2x+1"),
    ("3245/5", "649"),  # math-verify True; simple-evals' LLM judge says not equal (documented)
]
UNEQUAL = [("(-2,7)", "[-2,7]"), ("1.41", "\\sqrt{2}"), ("3", "4")]


def test_math_verify_pairs(verifier):
    for pred, gold in EQUAL:
        assert verifier.compare(pred, gold).equal, (pred, gold)
    for pred, gold in UNEQUAL:
        result = verifier.compare(pred, gold)
        assert (result.equal, result.status) == (False, "ok"), (pred, gold)


def test_adversarial_inputs_are_bounded(verifier):
    start = time.perf_counter()
    result = verifier.compare("10^{10^{10^{10}}}", "5", timeout_s=1.0)
    assert not result.equal and result.status in ("timeout", "ok", "error")
    assert verifier.compare("1" * 50_000, "1").status == "too_long"
    assert time.perf_counter() - start < 4
    assert verifier.compare("2", "2").equal  # a fresh worker after a kill


def test_called_from_a_thread(verifier):
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("r", verifier.compare("0.5", "1/2")))
    thread.start()
    thread.join(30)
    assert out["r"].equal


def test_task_grade_and_modes(fixtures):
    task = get_task("math500", data_dir=fixtures / "math500")
    ds = task.load()
    assert task.score(" $\\frac{14}{3}$", ds[1]) == ("\\frac{14}{3}", True)
    modes = task.grade_modes(" (x+1)^2", ds[2])
    assert modes == {"primary": True, "string": False, "timeout": False}
    assert task.grade_modes(" \\dfrac{14}{3}", ds[1])["string"]
    assert task.score(" nothing", ds[0]) == ("nothing", False)
    assert task.score("", ds[0]) == (None, False)


def test_string_fallback():
    assert normalize_math_string("\\left( 3, \\frac{\\pi}{2} \\right)") == "(3,\\frac{\\pi}{2})"
    assert string_equivalent("\\frac12", "\\frac{1}{2}")
    assert string_equivalent("90^\\circ", "90")
    assert not string_equivalent(None, "1")


def test_bad_gold_raises(verifier):
    with pytest.raises(ValueError, match="gold"):
        verifier.compare("1", "")


# --- math-verify's own time limit (issue 19) ----------------------------------------------------
# math-verify runs each parse and comparison under its own signal.alarm limit (5 s by default);
# when it fires it catches its TimeoutException, logs "Timeout during ..." and returns [] / False,
# a plain "not equal". That must count as a timeout, with the worker restarted, like ours.


def test_library_timeout_is_reported_by_the_worker(monkeypatch):
    import math_verify.grader

    from tie.tasks import math_worker

    monkeypatch.setattr(math_worker, "MATH_VERIFY_TIMEOUT_S", 1)
    monkeypatch.setattr(math_verify.grader, "sympy_expr_eq", lambda *a, **k: time.sleep(5))
    start = time.perf_counter()
    assert math_worker.compare("2", "3") == {"status": "timeout", "equal": False}
    assert time.perf_counter() - start < 4  # math-verify's own alarm stopped it, not us
    # A pair found equal stands even though another pair of the same comparison timed out.
    assert math_worker.compare("2", "2") == {"status": "ok", "equal": True}
    monkeypatch.undo()
    assert math_worker.compare("2", "3") == {"status": "ok", "equal": False}


_FAKE_WORKER = """
import json, sys
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    status = "timeout" if json.loads(line)["pred"] == "slow" else "ok"
    print(json.dumps({"status": status, "equal": status == "ok"}), flush=True)
"""


def test_worker_reported_timeout_restarts_the_worker(tmp_path, monkeypatch):
    # The parent's side, with a stand-in worker (no sympy): a "timeout" reply is a restart.
    from tie.tasks import math_equiv

    fake = tmp_path / "worker.py"
    fake.write_text(_FAKE_WORKER)
    monkeypatch.setattr(math_equiv, "_WORKER", fake)
    verifier = MathVerifier(timeout_s=10)
    try:
        assert verifier.compare("fast", "1") == EquivalenceResult(True, "ok")
        first = verifier._proc
        assert verifier.compare("slow", "1") == EquivalenceResult(False, "timeout")
        assert verifier.restarts == 1 and verifier._proc is None and first.poll() is not None
        assert verifier.compare("fast", "1") == EquivalenceResult(True, "ok")
        assert verifier._proc.pid != first.pid
    finally:
        verifier.close()


@pytest.mark.slow
def test_library_timeout_counts_and_restarts_the_worker():
    # End to end (~5-15 s): a worker start, a comparison math-verify gives up on after 1 s, a
    # restart, a comparison on the fresh worker.
    verifier = MathVerifier(timeout_s=30, library_timeout_s=1)
    try:
        assert verifier.compare("2", "2").equal
        first = verifier._proc.pid
        start = time.perf_counter()
        result = verifier.compare("(x+1)^{400}", "(x+2)^{400}")
        assert (result.equal, result.status) == (False, "timeout")
        assert time.perf_counter() - start < 25  # math-verify's limit, not the 30 s hard one
        assert verifier.restarts == 1 and verifier._proc is None
        assert verifier.compare("0.5", "\\frac{1}{2}") == EquivalenceResult(True, "ok")
        assert verifier._proc.pid != first
    finally:
        verifier.close()


@pytest.mark.slow
def test_library_default_timeout_counts_as_timeout():
    # The real case: math-verify's default 5 s limit fires well inside our 60 s one (~6-10 s).
    verifier = MathVerifier(timeout_s=60)
    try:
        result = verifier.compare("(x+y+1)^{60}", "(x+y+2)^{60}")
        assert (result.equal, result.status, verifier.restarts) == (False, "timeout", 1)
    finally:
        verifier.close()


@pytest.mark.parametrize("bad", [0, 1.5, True])
def test_library_timeout_must_be_whole_seconds(bad):
    with pytest.raises(ValueError, match="library_timeout_s"):
        MathVerifier(library_timeout_s=bad)
