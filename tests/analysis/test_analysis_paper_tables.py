"""The paper's tables from small synthetic run dirs shaped like the overlays' output: MMLU*
derived from an MMLU run by subject, swept settings kept in every table, per-method intervals
(tcc at n = 32 beside top-1 at n = 16), Table 5 and Figure 3 from the TIE rounds."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis import leader, tables
from analysis.rundir import RunDirError, SubsetRun, load_runs, with_derived
from tie.tasks.multiple_choice import MMLU_STAR_SUBJECTS

PAIR = ["llada-1.5", "dream-7b-instruct"]
STAR = ["astronomy", "marketing"]  # MMLU* subjects
OTHER = ["abstract_algebra", "college_physics"]  # MMLU subjects outside MMLU*


def write_run(
    path: Path,
    task: str,
    correct: dict[str, list[bool]],
    categories: list[str] | None = None,
    interval: int = 16,
    per_method: dict | None = None,
    options: dict | None = None,
    policy: str = "low_confidence",
    rounds: pd.DataFrame | None = None,
) -> Path:
    """A run dir as tie-run writes it: config.yaml, predictions.jsonl, metrics.json (with each
    method's interval), optionally traces/rounds.parquet."""
    path.mkdir(parents=True)
    per_method = per_method or {}
    config = {
        "task": {"name": task, "options": {}},
        "models": PAIR,
        "decoding": {"name": "default", "policy": policy, "block_length": 16},
        "ensemble": {
            "interval": interval,
            "per_method": per_method,
            "options": {
                "normalise": True,
                "cross_model": True,
                "final_selection": "lowest_tcc",
                **(options or {}),
            },
        },
    }
    (path / "config.yaml").write_text(yaml.safe_dump(config))
    n = len(next(iter(correct.values())))
    cats = categories or ["main"] * n
    rows = []
    for method, flags in correct.items():
        for i, ok in enumerate(flags):
            rows.append(
                {
                    "index": i,
                    "id": f"{task}/{cats[i]}/{i}",
                    "method": method,
                    "correct": ok,
                    "category": cats[i],
                    "nfe": 10.0,
                }
            )
    (path / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    metrics = {
        "methods": {
            m: {"interval": per_method.get(m, {}).get("interval", interval)} for m in correct
        }
    }
    (path / "metrics.json").write_text(json.dumps(metrics))
    if rounds is not None:
        (path / "traces").mkdir()
        rounds.to_parquet(path / "traces" / "rounds.parquet", index=False)
    return path


# 8 MMLU problems: 4 in MMLU* subjects (first four), 4 outside. On all of MMLU llada is the best
# single model (5/8 vs 4/8); on the MMLU* problems dream is (3/4 vs 1/4).
MMLU_CATS = [STAR[0], STAR[1], STAR[0], STAR[1], OTHER[0], OTHER[1], OTHER[0], OTHER[1]]
MMLU_CORRECT = {
    "single:llada-1.5": [True, False, False, False, True, True, True, True],
    "single:dream-7b-instruct": [True, True, True, False, False, True, False, False],
    "tie:tcc": [True, True, True, True, False, True, True, False],
}


def _acc(flags: list[bool]) -> str:
    return f"{100 * sum(flags) / len(flags):.2f}"


def _cell(table: pd.DataFrame, row: str, col: str) -> str:
    return str(table.set_index("method").loc[row, col]).rstrip("*")


def test_star_subjects_are_mmlu_star():
    assert set(STAR) <= MMLU_STAR_SUBJECTS and not set(OTHER) & MMLU_STAR_SUBJECTS


def test_mmlu_star_is_derived_from_the_mmlu_run_by_subject(tmp_path):
    run = write_run(tmp_path / "sweep" / "0", "mmlu", MMLU_CORRECT, MMLU_CATS)
    write_run(tmp_path / "sweep" / "1", "gsm8k", {m: [True, False] for m in MMLU_CORRECT})
    tables.run(tmp_path / "sweep", tmp_path / "out", n_boot=50)
    main = pd.read_csv(tmp_path / "out" / "table3_main.csv", dtype=str)
    assert main.columns.tolist() == ["method", "mmlu", "mmlu_star", "gsm8k"]  # MMLU* beside MMLU
    for method, flags in MMLU_CORRECT.items():
        assert _cell(main, method, "mmlu") == _acc(flags)
        assert _cell(main, method, "mmlu_star") == _acc(flags[:4])  # hand-computed on MMLU*
    frame = pd.read_csv(tmp_path / "out" / "results_frame.csv")
    best = frame.drop_duplicates("task").set_index("task")["best_single"]
    assert best["mmlu"] == "single:llada-1.5"
    assert best["mmlu_star"] == "single:dream-7b-instruct"  # recomputed on the subset
    star = frame[frame.task == "mmlu_star"].set_index("method")
    assert star.loc["tie:tcc", "n"] == 4 and star.loc["tie:tcc", "n_correct"] == 4
    # paired against dream on the same 4 problems: tcc wins problem 3, loses none
    assert (star.loc["tie:tcc", "wins"], star.loc["tie:tcc", "losses"]) == (1, 0)
    assert "by subject from mmlu" in star.loc["tie:tcc", "run"]
    assert str(run) in star.loc["tie:tcc", "run"]


def test_a_directly_run_mmlu_star_is_not_derived_again(tmp_path):
    write_run(tmp_path / "s" / "0", "mmlu", MMLU_CORRECT, MMLU_CATS)
    write_run(tmp_path / "s" / "1", "mmlu_star", {m: [True] * 3 for m in MMLU_CORRECT}, STAR * 2)
    runs = with_derived(load_runs(tmp_path / "s"))
    assert [r.task for r in runs] == ["mmlu", "mmlu_star"]
    assert not any(isinstance(r, SubsetRun) for r in runs)


def test_deriving_mmlu_star_needs_the_category_column(tmp_path):
    run = write_run(tmp_path / "r", "mmlu", MMLU_CORRECT, MMLU_CATS)
    lines = [json.loads(x) for x in (run / "predictions.jsonl").read_text().splitlines()]
    for row in lines:
        del row["category"]
    (run / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    with pytest.raises(RunDirError, match="category"):
        tables.run(run, tmp_path / "out", n_boot=20)


def _interval_sweep(root: Path, task: str = "gsm8k", cats: list[str] | None = None) -> Path:
    singles = {m: MMLU_CORRECT[m] for m in ("single:llada-1.5", "single:dream-7b-instruct")}
    tcc = {
        8: [True, True, False, False, True, True, False, False],
        16: [True, True, True, False, True, True, True, False],
        32: [True, False, False, False, True, False, False, False],
    }
    # job order as Hydra numbers them; 16 first so a string sort would put it before 8
    for job, n in enumerate((16, 32, 8)):
        write_run(root / str(job), task, {**singles, "tie:tcc": tcc[n]}, cats, interval=n)
    return root


def test_a_swept_interval_stays_in_every_table_in_numeric_order(tmp_path):
    sweep = _interval_sweep(tmp_path / "sweep")
    tables.run(sweep, tmp_path / "out", n_boot=50)
    main = pd.read_csv(tmp_path / "out" / "table3_main.csv", dtype=str)
    assert main["method"].tolist() == [
        "single:dream-7b-instruct",
        "single:llada-1.5",
        "tie:tcc (interval=8)",
        "tie:tcc (interval=16)",
        "tie:tcc (interval=32)",
    ]  # every setting, singles once (they do not depend on n)
    assert _cell(main, "tie:tcc (interval=8)", "gsm8k") == "50.00"
    assert _cell(main, "tie:tcc (interval=16)", "gsm8k") == "75.00"
    assert _cell(main, "tie:tcc (interval=32)", "gsm8k") == "25.00"
    ablation = pd.read_csv(tmp_path / "out" / "table6_interval.csv", dtype=str)
    assert ablation.columns.tolist() == ["method", "interval=8", "interval=16", "interval=32"]
    for col in ("interval=8", "interval=16", "interval=32"):  # singles in every column
        assert _cell(ablation, "single:llada-1.5", col) == "62.50"
    paired = pd.read_csv(tmp_path / "out" / "results_paired_table.csv", dtype=str)
    tie_rows = paired[paired.method == "tie:tcc"]
    assert tie_rows["interval"].tolist() == ["8", "16", "32"]
    assert len(paired[paired.method == "single:llada-1.5"]) == 1


def test_table6_derives_mmlu_star_at_each_interval(tmp_path):
    sweep = _interval_sweep(tmp_path / "sweep", task="mmlu", cats=MMLU_CATS)
    tables.run(sweep, tmp_path / "out", n_boot=20)
    ablation = pd.read_csv(tmp_path / "out" / "table6_interval.csv", dtype=str)
    assert ablation.columns.tolist()[1:] == [
        f"{t} · interval={n}" for t in ("mmlu", "mmlu_star") for n in (8, 16, 32)
    ]
    assert _cell(ablation, "tie:tcc", "mmlu_star · interval=16") == "75.00"  # 3 of the 4
    assert _cell(ablation, "tie:tcc", "mmlu_star · interval=32") == "25.00"
    assert _cell(ablation, "single:dream-7b-instruct", "mmlu_star · interval=8") == "75.00"


def test_each_method_keeps_its_own_interval_in_one_run(tmp_path):
    run = write_run(
        tmp_path / "r",
        "mmlu",
        {**MMLU_CORRECT, "tie:top1": MMLU_CORRECT["tie:tcc"]},
        MMLU_CATS,
        interval=16,
        per_method={"tie:tcc": {"interval": 32}},
    )
    written = {p.name for p in tables.run(run, tmp_path / "out", n_boot=20)}
    assert "table6_interval.md" not in written  # a per-method default is not a sweep
    frame = pd.read_csv(tmp_path / "out" / "results_frame.csv").drop_duplicates("method")
    intervals = frame.set_index("method")["interval"]
    assert intervals["tie:tcc"] == 32 and intervals["tie:top1"] == 16
    assert pd.isna(intervals["single:llada-1.5"])  # n does not act on a single model
    main = pd.read_csv(tmp_path / "out" / "table3_main.csv", dtype=str)
    assert "tie:tcc" in main["method"].tolist()


def test_swept_options_other_than_the_interval_keep_their_tables(tmp_path):
    singles = {m: MMLU_CORRECT[m][:4] for m in ("single:llada-1.5", "single:dream-7b-instruct")}
    for job, norm in enumerate((True, False)):
        write_run(
            tmp_path / "s" / str(job),
            "math500",
            {**singles, "tie:tcc": [norm, True, True, False]},
            options={"normalise": norm},
        )
    tables.run(tmp_path / "s", tmp_path / "out", n_boot=20)
    table8 = pd.read_csv(tmp_path / "out" / "table8_normalise.csv", dtype=str)
    assert _cell(table8, "tie:tcc", "normalise=True") == "75.00"
    assert _cell(table8, "tie:tcc", "normalise=False") == "50.00"
    main = pd.read_csv(tmp_path / "out" / "table3_main.csv", dtype=str)
    assert {"tie:tcc (normalise=True)", "tie:tcc (normalise=False)"} <= set(main["method"])


def _rounds(sequences: dict[str, list[str]], method: str) -> pd.DataFrame:
    rows = []
    for pid, seq in sequences.items():
        for r, lead in enumerate(seq):
            for model in PAIR:
                rows.append({"id": pid, "method": method, "round": r, "model": model,
                             "leader": lead, "score_tcc": 0.0})  # fmt: skip
    return pd.DataFrame(rows)


L, D = PAIR


def test_table5_and_figure3_from_runs_with_per_method_intervals(tmp_path):
    # tcc (n = 32): problem a has 4 rounds, leaders L D D L: changes at relays 1 and 3 of 3;
    # top-1 (n = 16): problem a has 5 rounds, L L L L D: one change at the last relay.
    rounds = pd.concat(
        [
            _rounds({"mmlu/astronomy/0": [L, D, D, L]}, "tie:tcc"),
            _rounds({"mmlu/astronomy/0": [L, L, L, L, D]}, "tie:top1"),
        ]
    )
    run = write_run(
        tmp_path / "r",
        "mmlu",
        {"tie:tcc": [True], "tie:top1": [False]},
        ["astronomy"],
        per_method={"tie:tcc": {"interval": 32}},
        rounds=rounds,
    )
    leader.run(run, tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "leader_table.csv", dtype=str).set_index("scoring")
    assert table.index.tolist() == ["tie:tcc", "tie:top1"]  # no interval: none was swept
    assert table.loc["tie:tcc", "mmlu"] == "66.7 (2/3)"
    assert table.loc["tie:top1", "mmlu"] == "25.0 (1/4)"
    fig = pd.read_csv(tmp_path / "out" / "leader_timing.csv")
    assert set(fig.drop_duplicates("method").set_index("method")["interval"].items()) == {
        ("tie:tcc", 32.0),
        ("tie:top1", 16.0),
    }
    tcc = fig[fig.method == "tie:tcc"].set_index("bin")
    # relays at progress 1/4, 2/4, 3/4 -> bins 3, 5, 8 of 10; changes at 1/4 and 3/4
    assert tcc["n_relays"].to_dict() == {3: 1, 5: 1, 8: 1}
    assert tcc["change_share"].to_dict() == pytest.approx({3: 50.0, 5: 0.0, 8: 50.0})
    top1 = fig[fig.method == "tie:top1"].set_index("bin")
    assert top1["change_share"].to_dict() == pytest.approx({2: 0.0, 4: 0.0, 6: 0.0, 8: 100.0})
    assert "n=" not in " ".join(fig["label"])


def test_figure3_lines_up_interval_sweeps_by_progress_not_round(tmp_path):
    # n = 8: 8 rounds, one change halfway (relay before round 4); n = 16: 4 rounds, one change
    # halfway (relay before round 2). By round index they differ, by progress they coincide.
    for job, (n, seq) in enumerate(((8, [L] * 4 + [D] * 4), (16, [L, L, D, D]))):
        write_run(
            tmp_path / "s" / str(job),
            "gsm8k",
            {"tie:tcc": [True]},
            interval=n,
            rounds=_rounds({"p": seq}, "tie:tcc"),
        )
    leader.run(tmp_path / "s", tmp_path / "out")
    fig = pd.read_csv(tmp_path / "out" / "leader_timing.csv")
    changed = fig[fig.n_changes > 0]
    assert changed["progress"].tolist() == [0.45, 0.45]  # bin (0.4, 0.5] for both
    assert set(fig["label"]) == {"tie:tcc (interval 8)", "tie:tcc (interval 16)"}
    table = (tmp_path / "out" / "leader_table.md").read_text()
    assert "tie:tcc (interval 8)" in table and "n=" not in table
