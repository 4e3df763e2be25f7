"""Rebuild a run directory from a W&B run (optional input when online; the run dir stays the truth).

tie-run mirrors each run to W&B as: the resolved config, a `predictions` table and a
`traces-<run id>` artifact of type `eval-traces` (see `tie.runs.tracking`). This module writes
them back as `config.yaml`, `predictions.jsonl` and `traces/`, so every study runs unchanged:

    python -m analysis.wandb_source <entity>/<project>/<run id> <dest dir>
    make figures RUN=<dest dir>

The W&B table holds at most `logger.table_rows` rows; a capped table gives a partial run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from analysis.rundir import PREDICTIONS, RunDir, RunDirError

TRACES_TYPE = "eval-traces"
TABLE_KEY = "predictions"


def _table_rows(run: Any) -> list[dict[str, Any]]:
    for art in run.logged_artifacts():
        if art.type != "run_table":
            continue
        table = art.get(TABLE_KEY)
        if table is not None:
            return table.get_dataframe().to_dict(orient="records")
    raise RunDirError(f"W&B run {run.path!r} has no '{TABLE_KEY}' table")


def materialise(run_path: str, dest: str | Path, api: Any = None) -> RunDir:
    """Download one W&B run into `dest` as a run directory; `api` defaults to `wandb.Api()`."""
    if run_path.count("/") != 2:
        raise RunDirError(f"W&B run path must look like entity/project/run_id, got {run_path!r}")
    if api is None:
        import wandb

        api = wandb.Api()
    run = api.run(run_path)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    config = {k: v for k, v in dict(run.config).items() if not k.startswith("_")}
    (dest / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    rows = _table_rows(run)
    (dest / PREDICTIONS).write_text("".join(json.dumps(r, default=str) + "\n" for r in rows))
    for art in run.logged_artifacts():
        if art.type == TRACES_TYPE:
            art.download(root=str(dest / "traces"))
    return RunDir(dest)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_path", help="entity/project/run_id")
    parser.add_argument("dest", help="folder to write the run directory into")
    args = parser.parse_args(argv)
    try:
        run = materialise(args.run_path, args.dest)
    except RunDirError as exc:
        parser.exit(2, f"error: {exc}\n")
    print(f"{run.path}: {len(run.predictions)} predictions, methods {run.methods}")


if __name__ == "__main__":
    main()
