"""The testbed's one pipeline: its tie-run overlays end to end at tiny size, the analysis over
their sweeps, and the change count the analysis reads equal to the engine's.

Cost: two sweeps of 4 jobs (2 seeds x 2 mixes) and one countdown job, 2 problems each on the zoo,
one thread per job: about 2 CPU-minutes for the module (measured 2m16s user+sys).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
from hydra.core.global_hydra import GlobalHydra

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "experiments" / "testbed"
TINY = ["data.limit=2", "data.batch_size=2", "logger=none", "progress=false", "stats.n_boot=50",
        "threads=1"]  # fmt: skip


def tie_run(argv: list[str], monkeypatch) -> None:
    """`tie-run <argv>` through the CLI's own entry (Hydra main), in this process."""
    from tie import run

    monkeypatch.setattr(sys, "argv", ["tie-run", *argv])
    GlobalHydra.instance().clear()
    run.main()


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory) -> dict[str, Path]:
    """The new overlays and the countdown one as `launch.sh` runs them (-m, their own sweep
    axes), tiny."""
    mp = pytest.MonkeyPatch()
    out = {}
    try:
        for overlay in ("testbed_dev", "testbed_test", "testbed_countdown"):
            sweep = tmp_path_factory.mktemp(overlay)
            tie_run(["-m", f"experiment={overlay}", *TINY, f"hydra.sweep.dir={sweep}"], mp)
            out[overlay] = sweep
    finally:
        mp.undo()
    return out


def jobs(sweep: Path) -> list[Path]:
    return sorted((p for p in sweep.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))


@pytest.mark.parametrize("overlay", ["testbed_dev", "testbed_test"])
def test_overlay_sweeps_seeds_and_mixes_end_to_end(sweeps, overlay, tmp_path):
    from analysis import testbed
    from analysis.rundir import RunDir

    runs = [RunDir(j) for j in jobs(sweeps[overlay])]
    seeds = {"testbed_dev": {8, 9}, "testbed_test": {1007, 1008}}[overlay]
    points = {(testbed.task_option(r, "seed"), testbed.task_option(r, "mix")) for r in runs}
    assert points == {(s, m) for s in seeds for m in ("default", "single_owner")}
    split = "dev" if overlay == "testbed_dev" else "test"
    for run in runs:
        assert testbed.task_option(run, "split") == split
        assert len(run.predictions) == 2 * len(run.methods)
        assert {"single:llada-a", "single:dream-b", "single:llada-c", "post", "tie:tcc"} <= set(
            run.methods
        )
        # the relay rules of ensemble=testbed, for every method of the run (one option set)
        assert testbed.option(run, "change_positions") == "answer_and_block"

    written = testbed.run(sweeps[overlay], tmp_path)
    names = {p.name for p in written}
    assert {"testbed_table.md", "testbed_table.csv", "testbed_pooled.md", "manifest.md"} <= names
    assert {"tie_vs_post.png", "per_category.png"} <= names
    table = pd.read_csv(tmp_path / "testbed_table.csv")
    assert len(table) == sum(len(r.methods) for r in runs)
    assert table.loc[table["method"] == "tie:tcc", "vs_post_delta"].notna().all()
    assert table.loc[table["method"] == "post", "vs_best_single_delta"].notna().all()
    assert table["facts_ok"].between(0, 100).all()  # synth_math: recalled facts scored
    pooled = pd.read_csv(tmp_path / "testbed_pooled.csv")
    pooled_rows = pooled[pooled["runs"].str.contains("pooled")]
    assert set(pooled_rows["n"]) == {4}  # two seeds x two problems, per mix
    manifest = (tmp_path / "manifest.md").read_text()
    assert manifest.count("| synth_math") == 4 and "tie-run" in manifest


def test_countdown_sweep_goes_through_the_same_analysis(sweeps, tmp_path):
    from analysis import testbed

    written = testbed.run(sweeps["testbed_countdown"], tmp_path)
    table = pd.read_csv(tmp_path / "testbed_table.csv")
    assert set(table["run"]) == {"synth_countdown test seed 0"}
    assert "facts_ok" not in table  # synth_math only
    assert (tmp_path / "manifest.md") in written


def test_change_count_of_analysis_equals_the_engines_under_ensemble_testbed(sweeps):
    """analysis and tracing.checks recount C(T) from the step traces over the positions the run
    counted (answer + block under ensemble=testbed): the round scores the relay chose by and the
    whole-decode counts final selection used come out the same; the answer-only recount, what
    analysis/change_count.py did before, does not."""
    from analysis.change_count import check_round_scores, round_scores
    from analysis.rundir import RunDir
    from tie.tracing import recompute_candidate_tcc, recompute_round_tcc

    answer_only_differs = False
    for job in jobs(sweeps["testbed_dev"]):
        run = RunDir(job)
        steps, rounds = run.trace("steps"), run.trace("rounds")
        assert steps["gen_top1"].notna().all()  # the block-aware count was traced
        logged = rounds.set_index(["id", "method", "round", "model"])["score_tcc"]
        again = recompute_round_tcc(steps).set_index(["id", "method", "round", "model"])
        assert len(logged) and again["score_tcc"].reindex(logged.index).tolist() == pytest.approx(
            logged.tolist()
        )
        assert check_round_scores(steps, rounds).empty
        answer = round_scores(steps, positions="answer").set_index(logged.index.names)
        answer_only_differs |= not answer["score_tcc"].reindex(logged.index).equals(logged)

        cands = pd.DataFrame(
            [
                {"id": str(r["id"]), "method": r["method"], **c}
                for r in run.predictions.to_dict("records")
                for c in r["candidates"]
            ]
        ).set_index(["id", "method", "model"])["change_count"]
        whole = recompute_candidate_tcc(steps, rounds).set_index(["id", "method", "model"])
        assert {m for _, m, _ in cands.index} >= {"post", "tie:tcc", "single:llada-a"}
        assert whole["change_count"].reindex(cands.index).tolist() == pytest.approx(cands.tolist())
    assert answer_only_differs  # the test can tell the two position sets apart


def test_round_roles_cards_and_diagnose_read_run_dirs(sweeps, tmp_path, monkeypatch):
    import importlib.util

    def load(name: str):
        spec = importlib.util.spec_from_file_location(f"tb_{name}", SCRIPTS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    job = jobs(sweeps["testbed_dev"])[0]
    assert load("round_roles").main([str(job), "--out", str(tmp_path / "roles")]) == 0
    stats = json.loads((tmp_path / "roles" / "round_roles.json").read_text())
    assert stats["config"]["method"] == "tie:tcc" and "interval 8" in stats["config"]["label"]

    zoo = tmp_path / "zoo"
    shutil.copytree(
        ROOT / "zoo",
        zoo,
        ignore=lambda d, names: [n for n in names if n != "MODEL_CARD.md" and "." in n],
    )
    written = load("cards").update([str(sweeps["testbed_test"])], zoo=zoo)
    card = (zoo / "llada-a" / "MODEL_CARD.md").read_text()
    assert written and card.count("| synth_math test seed") == 4

    by = load("diagnose").load(str(job))
    assert all("facts_ok" in row for methods in by.values() for row in methods.values())


def test_variants_pair_a_rule_variant_with_post_on_the_same_problems(sweeps, tmp_path):
    """A variant run (here the same job copied, its tie:tcc outcomes rewritten) is paired with
    the base run's post problem by problem; a run on other problems is refused."""
    from analysis import testbed
    from analysis.rundir import RunDir, RunDirError

    base = jobs(sweeps["testbed_dev"])[0]
    var = tmp_path / "variant"
    shutil.copytree(base, var)
    rows = [json.loads(x) for x in (var / "predictions.jsonl").read_text().splitlines()]
    for r in rows:
        if r["method"] == "tie:tcc":
            r["correct"] = True
    (var / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    post = RunDir(base).predictions
    post_acc = 100 * post.loc[post["method"] == "post", "correct"].mean()
    table = testbed.variants([RunDir(base)], [RunDir(var)])
    assert table.loc[0, "acc_a"] == 100.0 and table.loc[0, "acc_b"] == pytest.approx(post_acc)
    assert table.loc[0, "delta"] == pytest.approx(100.0 - post_acc)
    other = jobs(sweeps["testbed_dev"])[-1]  # another seed or mix
    with pytest.raises(RunDirError, match="no base run on the same problems"):
        testbed.variants([RunDir(base)], [RunDir(other)])
