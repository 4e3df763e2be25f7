"""`tie-lm-eval`: lm-evaluation-harness's own CLI with the `tie` model registered.

    tie-lm-eval --model tie --model_args models=llada-a|dream-b,method=tie:tcc \
        --tasks <task> --limit N --log_samples --output_path <dir>

Every argument is lm-eval's (`tie-lm-eval --help`). With `--output_path`, the model writes our
traces to a staging folder inside it, and once lm-eval has written its results and samples the
folder is moved beside them: `<output_path>/<model dir>/tie_<date id>/` next to lm-eval's
`results_<date id>.json` and `samples_<task>_<date id>.jsonl`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from tie.lmeval.model import TRACES_ENV, check_model_args


def output_path(argv: list[str]) -> Path | None:
    """lm-eval's --output_path / -o from the command line (None when absent)."""
    for i, arg in enumerate(argv):
        for flag in ("--output_path", "-o"):
            if arg == flag and i + 1 < len(argv):
                return Path(argv[i + 1])
            if arg.startswith(flag + "="):
                return Path(arg.split("=", 1)[1])
    return None


def results_dir(out: Path) -> Path:
    """The folder lm-eval writes into: the output dir, or the parent of a `.json` output."""
    return out.parent if out.suffix == ".json" else out


def place_traces(out: Path, staging: Path, since: float) -> Path | None:
    """Move `staging` beside the results file lm-eval wrote for this run (found by the traces
    path our model recorded in its `config.tie`); returns the new folder, or None if none."""
    pattern = f"{out.stem}_*.json" if out.suffix == ".json" else "results_*.json"
    for results in sorted(results_dir(out).rglob(pattern), key=os.path.getmtime):
        if results.stat().st_mtime < since or staging in results.parents:
            continue
        try:
            tie = json.loads(results.read_text()).get("config", {}).get("tie") or {}
        except (OSError, json.JSONDecodeError, AttributeError):
            continue
        if tie.get("traces_dir") != str(staging):
            continue
        prefix = f"{out.stem}_" if out.suffix == ".json" else "results_"
        dest = results.parent / f"tie_{results.stem.removeprefix(prefix)}"
        shutil.move(str(staging), dest)
        info = dest / "tie.json"
        if info.is_file():  # point our record at where the traces now are
            record = json.loads(info.read_text())
            record["traces_dir"] = str(dest)
            record["lm_eval_results"] = results.name
            info.write_text(json.dumps(record, indent=2) + "\n")
        return dest
    return None


def tie_model_args(argv: list[str]) -> dict[str, Any] | None:
    """The model args of a `--model tie` command line, parsed by lm-eval's own parser (None for
    another model, a `--config` file, or a line lm-eval itself refuses: it reports that)."""
    import contextlib
    import io

    from lm_eval._cli import HarnessCLI

    saved, sys.argv = sys.argv, ["tie-lm-eval", *argv]
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            args = HarnessCLI().parse_args()
    except SystemExit:  # --help, or a usage error lm-eval prints when it parses again
        return None
    finally:
        sys.argv = saved
    if getattr(args, "model", None) != "tie" or getattr(args, "config", None):
        return None
    return dict(getattr(args, "model_args", None) or {})


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    from lm_eval.__main__ import cli_evaluate

    from tie.run import is_user_error

    args = tie_model_args(argv)
    try:  # a bad model arg: the schema's one line before lm-eval loads its tasks (seconds)
        if args is not None:
            check_model_args(args)
    except Exception as exc:
        if os.environ.get("TIE_DEBUG") or not is_user_error(exc):
            raise
        sys.exit(f"tie-lm-eval: {type(exc).__name__}: {exc}\n(TIE_DEBUG=1 shows the traceback)")

    out = output_path(argv)
    staging = None
    if out is not None:
        staging = results_dir(out).resolve() / f".tie-{uuid.uuid4().hex[:8]}"
        os.environ[TRACES_ENV] = str(staging)
    since = time.time() - 1
    saved_argv = sys.argv
    sys.argv = ["tie-lm-eval", *argv]
    try:
        cli_evaluate()
    except Exception as exc:
        if os.environ.get("TIE_DEBUG") or not is_user_error(exc):
            raise
        sys.exit(f"tie-lm-eval: {type(exc).__name__}: {exc}\n(TIE_DEBUG=1 shows the traceback)")
    finally:
        sys.argv = saved_argv
        os.environ.pop(TRACES_ENV, None)
    if staging is not None and staging.exists():
        dest = place_traces(out, staging, since)
        print(f"tie traces: {dest or staging}")


if __name__ == "__main__":
    main()
