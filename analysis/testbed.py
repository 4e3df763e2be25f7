"""The testbed study (the zoo on synth_math / synth_countdown), from tie-run run directories.

The testbed's measurements are `tie-run` overlays (`conf/experiment/testbed*.yaml`); this study
reads their run directories (one run or a sweep over seeds and mixes) and writes:
* `testbed_table` (md/csv): per run and method, accuracy with a bootstrap 95% interval, the
  paired difference vs the best single model and (tie:*) vs post, accuracy per category, the
  premise ratio (mean whole-decode change count of incorrect over correct answers: single models
  over the answer positions A(t), the paper's statistic, recounted from the step traces; post
  with the count it selected by, the run's `change_positions`), the leader change rate, and on
  synth_math the share of problems whose recalled facts are all right (knowledge, before the
  arithmetic);
* `testbed_pooled` (md/csv): tie:* vs post and vs the best single model, per run and pooled
  over the runs of one (task, split, mix) (problem ids carry their seed, so pooling never pairs
  two different problems): paired bootstrap interval and p, exact McNemar p;
* `tie_vs_post.png` and `per_category.png` (with their CSVs);
* `manifest.md`: per run, its directory, git revision, command and overrides (how to reproduce).
`--variants DIR` pairs the tie:tcc of other runs (a relay-rule variant decoded on the same
problems) with the post of these runs: the dev-split decisions of RESULTS.md.

CLI: `python -m analysis.testbed <run dir or sweep> [--variants DIR ...] [--out DIR]`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.methods import method_rank
from analysis.output import save_figure, write_table
from analysis.rundir import RunDir, RunDirError, load_runs, run_study, study_parser

TASKS = ("synth_math", "synth_countdown")
RELAY_KEYS = ("change_positions", "tie_break", "tie_tolerance", "count_last_commit", "bridge_gaps")


def testbed_runs(root: str | Path) -> list[RunDir]:
    runs = [r for r in load_runs(root) if r.task in TASKS]
    if not runs:
        raise RunDirError(f"no testbed run (task {' / '.join(TASKS)}) under {str(root)!r}")
    return runs


def option(run: RunDir, key: str, default: Any = None) -> Any:
    """An ensemble option by name wherever the config groups it (`ensemble.options.<key>`, or a
    nested group such as an experimental one), else `default`."""

    def find(node: Any) -> Any:
        if isinstance(node, dict):
            if key in node and not isinstance(node[key], dict):
                return node[key]
            for value in node.values():
                found = find(value)
                if found is not None:
                    return found
        return None

    found = find(run.cfg("ensemble") or {})
    return default if found is None else found


def task_option(run: RunDir, key: str) -> Any:
    """A task option as the run used it: the config's, else the task class's default (None when
    the task has no such option, e.g. synth_countdown's mix)."""
    given = run.cfg("task.options") or {}
    if key in given:
        return given[key]
    import inspect

    from tie.tasks import get_task

    param = inspect.signature(type(get_task(run.task, **given)).__init__).parameters.get(key)
    return None if param is None else param.default  # None: the task has no such option


def label(run: RunDir) -> str:
    """`<task> <split> seed <s> <mix>`: what a run measured."""
    mix = f" {task_option(run, 'mix')}" if run.task == "synth_math" else ""
    return f"{run.task} {task_option(run, 'split')} seed {task_option(run, 'seed')}{mix}"


def setting(run: RunDir) -> str:
    """A short name of the relay rules a run used."""
    where = "answer + block" if option(run, "change_positions") == "answer_and_block" else "answer"
    extra = [str(option(run, "tie_break", "own_top1"))]
    if option(run, "tie_tolerance"):
        extra.append(f"ties within {float(option(run, 'tie_tolerance')):g}")
    if option(run, "count_last_commit"):
        extra.append("look-ahead")
    return f"{where} ({', '.join(extra)})"


@cache
def _task_rows(task: str, options: str) -> dict[str, dict]:
    from tie.tasks import get_task

    rows = get_task(task, **json.loads(options)).load().to_list()
    return {str(r["id"]): r for r in rows}


def task_rows(run: RunDir) -> dict[str, dict]:
    """The run's problems (regenerated: the testbed tasks are synthetic), keyed by id."""
    return _task_rows(run.task, json.dumps(run.cfg("task.options") or {}, sort_keys=True))


def facts_ok(reasoning: str, row: dict) -> bool | None:
    """synth_math only: every recalled fact slot (`e123=07;`) of the reasoning is right."""
    if "k" not in row:
        return None
    n = 8 * row["k"]
    return str(reasoning)[:n] == row["reasoning"][:n]


def predictions(run: RunDir) -> pd.DataFrame:
    """The run's predictions with `facts_ok` (synth_math; None elsewhere)."""
    preds = run.predictions.copy()
    rows = task_rows(run)
    preds["facts_ok"] = [
        facts_ok(r, rows[i]) if i in rows else None for i, r in zip(preds["id"], preds["reasoning"])
    ]
    return preds


def _ratio(right: Iterable[float], wrong: Iterable[float]) -> dict[str, float | None]:
    right, wrong = list(right), list(wrong)
    mr = sum(right) / len(right) if right else None
    mw = sum(wrong) / len(wrong) if wrong else None
    return {
        "tcc_correct": mr,
        "tcc_incorrect": mw,
        "ratio": mw / mr if mr and mw is not None else None,
    }


def single_premise(run: RunDir) -> dict[str, dict]:
    """Per single:<m>: C(T) over A(t) (the paper's positions), correct vs incorrect answers."""
    from analysis.change_count import change_counts

    preds = run.predictions
    singles = [m for m in run.methods if m.startswith("single:")]
    if not singles or not run.has_trace("steps"):
        return {}
    steps = run.trace("steps")
    steps = steps[steps["method"].isin(singles)]
    counts = change_counts(steps, positions="answer").merge(
        preds[["id", "method", "correct"]], on=["id", "method"]
    )
    return {
        m: _ratio(g.loc[g["correct"], "tcc_norm"], g.loc[~g["correct"], "tcc_norm"])
        for m, g in counts.groupby("method")
    }


def post_premise(preds: pd.DataFrame) -> dict[str, float | None] | None:
    """The premise as post's selection reads it: its whole-decode counts of every member's decode
    (the single runs' decodes, whose correctness labels them), pooled over members."""
    if "post" not in set(preds["method"]):
        return None
    ok = {
        (m.split(":", 1)[1], i): c
        for m, i, c in zip(preds["method"], preds["id"], preds["correct"])
        if m.startswith("single:")
    }
    right, wrong = [], []
    for i, cands in zip(*(preds.loc[preds["method"] == "post", k] for k in ("id", "candidates"))):
        for c in cands:
            if (c["model"], i) in ok:
                (right if ok[(c["model"], i)] else wrong).append(c["change_count"])
    return _ratio(right, wrong) if right or wrong else None


def leader_change_rate(leaders: Iterable[list[str]]) -> float:
    pairs = [(a, b) for seq in leaders for a, b in zip(seq, seq[1:])]
    return sum(a != b for a, b in pairs) / len(pairs) if pairs else 0.0


def _n_boot(run: RunDir) -> int:
    return int(run.cfg("stats.n_boot", 2000))


def _paired(a: pd.Series, b: pd.Series, n_boot: int) -> dict[str, float]:
    from tie.stats import mcnemar_exact, paired_bootstrap

    ci, p = paired_bootstrap(a.to_numpy(), b.to_numpy(), n_boot=n_boot)
    return {
        "delta": 100 * ci.estimate,
        "ci_low": 100 * ci.low,
        "ci_high": 100 * ci.high,
        "p": p,
        "mcnemar_p": mcnemar_exact(a.to_numpy(), b.to_numpy()).p_value,
    }


def outcomes(preds: pd.DataFrame, method: str) -> pd.Series:
    """Correctness of `method` by problem id (sorted), for pairing."""
    rows = preds[preds["method"] == method]
    return rows.set_index("id")["correct"].astype(bool).sort_index()


def best_single(preds: pd.DataFrame) -> str | None:
    singles = [m for m in dict.fromkeys(preds["method"]) if m.startswith("single:")]
    return max(singles, key=lambda m: outcomes(preds, m).mean()) if singles else None


def summarise(run: RunDir) -> pd.DataFrame:
    """One row per method of one run: the columns of `testbed_table` (module docstring)."""
    from tie.stats import bootstrap_ci

    preds, n_boot = predictions(run), _n_boot(run)
    best = best_single(preds)
    premise = single_premise(run)
    rows = []
    for method in sorted(dict.fromkeys(preds["method"]), key=method_rank):
        mine = preds[preds["method"] == method]
        ci = bootstrap_ci(mine["correct"].to_numpy(), n_boot=n_boot)
        row: dict[str, Any] = {
            "run": label(run),
            "setting": setting(run),
            "method": method,
            "n": len(mine),
            "accuracy": 100 * ci.estimate,
            "ci_low": 100 * ci.low,
            "ci_high": 100 * ci.high,
        }
        for other, name in ((best, "best_single"), ("post", "post")):
            if other and method != other and (other == best or method.startswith("tie:")):
                pair = _paired(outcomes(preds, method), outcomes(preds, other), n_boot)
                row.update({f"vs_{name}_{k}": v for k, v in pair.items()})
        for cat, group in mine.groupby("category", sort=True):
            row[f"acc_{cat}"] = 100 * group["correct"].mean()
        prem = premise.get(method) or (post_premise(preds) if method == "post" else None)
        row.update({f"premise_{k}": v for k, v in (prem or {}).items()})
        if method.startswith("tie:"):
            row["leader_change_rate"] = leader_change_rate(mine["leaders"])
        if mine["facts_ok"].notna().all():
            row["facts_ok"] = 100 * mine["facts_ok"].astype(bool).mean()
        rows.append(row)
    return pd.DataFrame(rows)


def _fmt_delta(row: pd.Series, name: str) -> str:
    if pd.isna(row.get(f"vs_{name}_delta")):
        return "-"
    return (
        f"{row[f'vs_{name}_delta']:+.1f} [{row[f'vs_{name}_ci_low']:+.1f}, "
        f"{row[f'vs_{name}_ci_high']:+.1f}]"
    )


def display(summary: pd.DataFrame) -> pd.DataFrame:
    """The Markdown view of `summarise` rows (numbers stay raw in the CSV)."""
    cats = sorted(c for c in summary.columns if c.startswith("acc_"))
    out = []
    for _, r in summary.iterrows():
        ratio = r.get("premise_ratio")
        out.append(
            {
                "run": r["run"],
                "method": r["method"],
                "n": int(r["n"]),
                "acc % [95% CI]": f"{r['accuracy']:.1f} [{r['ci_low']:.1f}, {r['ci_high']:.1f}]",
                "vs best single": _fmt_delta(r, "best_single"),
                "vs post": _fmt_delta(r, "post"),
                **{c[4:]: "-" if pd.isna(r[c]) else f"{r[c]:.1f}" for c in cats},
                "premise ratio": "-"
                if pd.isna(ratio)
                else f"{r['premise_tcc_incorrect']:.2f}/{r['premise_tcc_correct']:.2f}={ratio:.1f}x",
                "leader change": "-"
                if pd.isna(r.get("leader_change_rate"))
                else f"{r['leader_change_rate']:.2f}",
                "facts right %": "-" if pd.isna(r.get("facts_ok")) else f"{r['facts_ok']:.1f}",
            }
        )
    return pd.DataFrame(out)


def pooled(
    runs: list[RunDir], baselines: tuple[str, ...] = ("post", "best single")
) -> pd.DataFrame:
    """tie:* vs each baseline per run and pooled over the runs of one (task, split, mix)."""
    rows = []
    groups: dict[tuple, list[RunDir]] = {}
    for run in runs:
        key = (run.task, task_option(run, "split"), task_option(run, "mix"), setting(run))
        groups.setdefault(key, []).append(run)
    for (task, split, mix, rules), members in groups.items():
        methods = [m for m in members[0].methods if m.startswith("tie:")]
        for method in methods:
            for base in baselines:
                a_all, b_all = [], []
                for run in members:
                    preds = run.predictions
                    other = best_single(preds) if base == "best single" else base
                    if other is None or other not in set(preds["method"]):
                        continue
                    a, b = outcomes(preds, method), outcomes(preds, other)
                    if list(a.index) != list(b.index):
                        raise RunDirError(
                            f"{run.path}: {method} and {other} ran on different problems"
                        )
                    a_all.append(a)
                    b_all.append(b)
                    rows.append(_pool_row(label(run), rules, method, base, a, b, _n_boot(run)))
                if len(a_all) > 1:
                    name = f"{task} {split} {mix} pooled ({len(a_all)} runs)"
                    a, b = pd.concat(a_all), pd.concat(b_all)
                    rows.append(_pool_row(name, rules, method, base, a, b, _n_boot(members[0])))
    return pd.DataFrame(rows)


def _pool_row(name, rules, method, base, a, b, n_boot) -> dict[str, Any]:
    return {
        "runs": name,
        "setting": rules,
        "method": method,
        "vs": base,
        "n": len(a),
        "acc_a": 100 * a.mean(),
        "acc_b": 100 * b.mean(),
        **_paired(a, b, n_boot),
    }


def variants(base: list[RunDir], others: list[RunDir], method: str = "tie:tcc") -> pd.DataFrame:
    """`method` of each run in `others` paired with post of the base run on the same problems
    (same task, split, seed, mix): a relay-rule variant decoded in its own run."""
    rows = []
    for var in others:
        same = [
            b
            for b in base
            if b.task == var.task
            and all(task_option(b, k) == task_option(var, k) for k in ("split", "seed", "mix", "n"))
        ]
        if not same:
            raise RunDirError(f"{var.path}: no base run on the same problems ({label(var)})")
        post = outcomes(same[0].predictions, "post")
        mine = outcomes(var.predictions, method)
        if list(post.index) != list(mine.index):
            raise RunDirError(f"{var.path}: not the same problems as {same[0].path}")
        rows.append(_pool_row(label(var), setting(var), method, "post", mine, post, _n_boot(var)))
        rows[-1]["leader_change_rate"] = leader_change_rate(
            var.predictions.loc[var.predictions["method"] == method, "leaders"]
        )
    return pd.DataFrame(rows)


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column, or all-NaN when no row has it (e.g. no post in the run)."""
    return frame[name] if name in frame else pd.Series(float("nan"), index=frame.index)


def plot(summary: pd.DataFrame, out: Path) -> list[Path]:
    """`tie_vs_post.png` (tie:tcc - post with its interval per run) and `per_category.png`."""
    from analysis.output import plt

    written: list[Path] = []
    d = summary[(summary["method"] == "tie:tcc") & _col(summary, "vs_post_delta").notna()]
    if len(d):
        fig, ax = plt.subplots(figsize=(7, 0.45 * len(d) + 1.2))
        y = list(range(len(d)))[::-1]
        err = [d["vs_post_delta"] - d["vs_post_ci_low"], d["vs_post_ci_high"] - d["vs_post_delta"]]
        ax.errorbar(d["vs_post_delta"], y, xerr=err, fmt="o", capsize=3)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(y, [f"{r.run}: {r.setting}" for r in d.itertuples()], fontsize=8)
        ax.set_xlabel("TIE(tcc) - post, points (95% paired bootstrap interval)")
        cols = ["run", "setting", "vs_post_delta", "vs_post_ci_low", "vs_post_ci_high"]
        written += save_figure(fig, d[cols], out / "tie_vs_post.png")
    cats = [c for c in summary.columns if c.startswith("acc_")]
    best = (
        summary["method"].str.startswith("single:") & _col(summary, "vs_best_single_delta").isna()
    )
    picks = summary[summary["method"].isin(["post", "tie:tcc"]) | best]
    long = picks[["run", "method", *cats]].melt(["run", "method"], cats, "category", "accuracy")
    long = long.dropna()
    long["category"] = long["category"].str[4:]
    long["method"] = long["method"].where(~long["method"].str.startswith("single:"), "best single")
    if len(long):
        panels = list(dict.fromkeys(long["run"]))
        fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3), squeeze=False)
        order = [m for m in ("best single", "post", "tie:tcc") if m in set(long["method"])]
        for ax, run in zip(axes[0], panels):
            wide = long[long["run"] == run].pivot(
                index="category", columns="method", values="accuracy"
            )
            wide.reindex(columns=order).plot.bar(ax=ax, rot=0, legend=False)
            ax.set_title(run, fontsize=9)
            ax.set_ylim(0, 100)
            ax.set_xlabel("")
        axes[0][0].set_ylabel("accuracy %")
        axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        written += save_figure(fig, long, out / "per_category.png")
    return written


def manifest(runs: list[RunDir]) -> str:
    """How each run was made: directory, git revision (dirty or not), command with overrides."""
    lines = [
        "# Manifest",
        "",
        "| run | directory | revision | command |",
        "|---|---|---|---|",
    ]
    for run in runs:
        meta_file = run.path / "meta.json"
        meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
        git = meta.get("git") or {}
        rev = (git.get("revision") or "?")[:10]
        rev += " (dirty: git.diff in the run dir)" if git.get("dirty") else ""
        command = meta.get("command") or ""
        if isinstance(command, list):
            command = " ".join(command)
        lines.append(f"| {label(run)} | {run.path} | {rev} | `{command}` |")
    return "\n".join(lines) + "\n"


def run(root: str | Path, out: str | Path, variant_roots: list[str | Path] = ()) -> list[Path]:
    """Every output of the module docstring into `out`."""
    runs = testbed_runs(root)
    out = Path(out)
    summary = pd.concat([summarise(r) for r in runs], ignore_index=True)
    title = "Testbed: accuracy, paired differences, premise ratio, leader change rate"
    written = write_table(display(summary), out / "testbed_table", title)
    summary.to_csv(out / "testbed_table.csv", index=False)  # the raw numbers
    pool = pooled(runs)
    if len(pool):
        written += write_table(
            pool,
            out / "testbed_pooled",
            "Testbed: tie:* vs post and vs the best single model, per run and pooled",
        )
    for root_v in variant_roots:
        var = variants(runs, testbed_runs(root_v))
        written += write_table(var, out / "testbed_variants", "Testbed: tie:tcc variants vs post")
    written += plot(summary, out)
    (out / "manifest.md").write_text(manifest(runs))
    written.append(out / "manifest.md")
    return written


def main(argv: list[str] | None = None) -> None:
    parser = study_parser(__doc__)
    parser.add_argument("--variants", nargs="+", default=[], help="runs of tie:tcc variants")
    args = parser.parse_args(argv)
    out = Path(args.out) if args.out else Path(args.run) / "figures"
    run_study(parser, lambda: run(args.run, out, args.variants))


if __name__ == "__main__":
    main()
