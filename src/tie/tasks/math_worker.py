"""Worker process of `tie.tasks.math_equiv`: JSON lines in, JSON lines out, one comparison each.

Run as a script (`python -I math_worker.py MEMORY_BYTES`); it imports nothing from `tie`, so it
works whatever the caller's `__main__` is, and it limits its own address space first.
"""

from __future__ import annotations

import json
import resource
import sys


def _wrap(text: str) -> str:
    """math-verify's LaTeX extraction needs delimiters around a bare answer."""
    text = text.strip()
    return text if text.startswith(("$", "\\(", "\\[")) else f"${text}$"


def compare(pred: str, gold: str) -> bool:
    from math_verify import parse, verify

    gold_parsed = parse(_wrap(gold)) or parse(gold)
    pred_parsed = parse(_wrap(pred)) or parse(pred)
    if not gold_parsed or not pred_parsed:
        return False
    return bool(verify(gold_parsed, pred_parsed))  # gold first: verify is not symmetric


def main() -> None:
    memory = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    import math_verify  # noqa: F401  (pay the import before the first job)

    out = sys.stdout
    out.write('{"ready": true}\n')
    out.flush()
    for line in sys.stdin:
        try:
            job = json.loads(line)
            reply = {"status": "ok", "equal": compare(job["pred"], job["gold"])}
        except MemoryError:
            reply = {"status": "error", "equal": False}
        except Exception as err:  # any parser failure is a wrong answer, reported as such
            reply = {"status": "error", "equal": False, "detail": f"{type(err).__name__}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
