"""`python -m tie.bench [--preset cpu|gpu|smoke] [options]`: run the harness, print the table."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from tie.bench import BenchInputError, from_args, run_bench


def main(argv: list[str] | None = None) -> int:
    if not logging.getLogger().handlers:  # progress: one line per timed call, on stderr
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr
        )
    try:
        cfg = from_args(argv)
        result = run_bench(cfg)
    except BenchInputError as err:
        print(f"tie.bench: {err}", file=sys.stderr)
        return 2
    print(Path(result["files"]["markdown"]).read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
