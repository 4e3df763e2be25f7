"""Worker process of `tie.tasks.math_equiv`: JSON lines in, JSON lines out, one comparison each.

Run as a script (`python -I math_worker.py MEMORY_BYTES [MATH_VERIFY_TIMEOUT_S]`); it imports
nothing from `tie`, so it works whatever the caller's `__main__` is, and it limits its own address
space first.
"""

from __future__ import annotations

import json
import logging
import resource
import sys

# math-verify's own limit per parse and per comparison (its default; argv[2] sets it). When it
# fires, math-verify catches its own TimeoutException, logs the warning "Timeout during parsing:
# ..." or "Timeout during comparison" on its `math_verify.*` loggers and returns [] / False, an
# ordinary "not equal" (math_verify/parser.py `parse`, grader.py `verify`, version 0.9). The
# handler below turns that warning into status "timeout".
MATH_VERIFY_TIMEOUT_S = 5


class _TimeoutSeen(logging.Handler):
    """Notes math-verify's timeout warnings (math_verify/parser.py, math_verify/grader.py)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen = False

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Timeout during"):
            self.seen = True


_TIMEOUTS = _TimeoutSeen()


def _wrap(text: str) -> str:
    """math-verify's LaTeX extraction needs delimiters around a bare answer."""
    text = text.strip()
    return text if text.startswith(("$", "\\(", "\\[")) else f"${text}$"


def _equal(pred: str, gold: str) -> bool:
    from math_verify import parse, verify

    limit = MATH_VERIFY_TIMEOUT_S
    gold_parsed = parse(_wrap(gold), parsing_timeout=limit) or parse(gold, parsing_timeout=limit)
    pred_parsed = parse(_wrap(pred), parsing_timeout=limit) or parse(pred, parsing_timeout=limit)
    if not gold_parsed or not pred_parsed:
        return False
    # gold first: verify is not symmetric
    return bool(verify(gold_parsed, pred_parsed, timeout_seconds=limit))


def compare(pred: str, gold: str) -> dict:
    """The worker's reply: `equal`, and status "timeout" when math-verify's own limit fired.

    An equal verdict stands even if some other parse or pair timed out on the way.
    """
    logger = logging.getLogger("math_verify")  # parent of math_verify.parser and .grader
    if _TIMEOUTS not in logger.handlers:
        logger.addHandler(_TIMEOUTS)
        if logger.getEffectiveLevel() > logging.WARNING:
            logger.setLevel(logging.WARNING)
    _TIMEOUTS.seen = False
    equal = _equal(pred, gold)
    timed_out = _TIMEOUTS.seen and not equal
    return {"status": "timeout" if timed_out else "ok", "equal": equal}


def main() -> None:
    global MATH_VERIFY_TIMEOUT_S
    memory = int(sys.argv[1])
    if len(sys.argv) > 2:
        MATH_VERIFY_TIMEOUT_S = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    import math_verify  # noqa: F401  (pay the import before the first job)

    out = sys.stdout
    out.write('{"ready": true}\n')
    out.flush()
    for line in sys.stdin:
        try:
            job = json.loads(line)
            reply = compare(job["pred"], job["gold"])
        except MemoryError:
            reply = {"status": "error", "equal": False}
        except Exception as err:  # any parser failure is a wrong answer, reported as such
            reply = {"status": "error", "equal": False, "detail": f"{type(err).__name__}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
