"""`make figures`: every study the run supports, with the file names the issue asks for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from analysis import figures

ROOT = Path(__file__).resolve().parents[2]


def test_build_all_on_main_run(fixture_runs, tmp_path):
    written, skipped = figures.build_all(fixture_runs / "main", tmp_path)
    names = {p.name for p in written}
    assert any(n.startswith("stability_") and n.endswith(".png") for n in names)
    assert any(n.startswith("leader_") and n.endswith(".png") for n in names)
    assert any("table" in n and n.endswith(".md") for n in names)
    for png in (p for p in written if p.suffix == ".png"):
        assert png.with_suffix(".csv").is_file(), f"no numbers saved next to {png.name}"
    assert set(skipped) == {"correction"} and "injection" in skipped["correction"]


def test_build_all_on_injection_run_includes_correction(fixture_runs, tmp_path):
    written, skipped = figures.build_all(fixture_runs / "injection", tmp_path)
    assert not skipped
    assert "correction_table.md" in {p.name for p in written}


def test_figures_cli_default_out_dir_and_bad_input(fixture_runs, tmp_path, capsys):
    import shutil

    import pytest

    run = tmp_path / "run"
    shutil.copytree(fixture_runs / "main", run)
    figures.main([str(run)])  # what `make figures RUN=<run>` runs
    assert (run / "figures" / "table3_main.md").is_file()
    assert "skipped correction" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        figures.main([])
    assert exc.value.code == 2
    # as a module from the repo root, exactly like the Makefile target
    cmd = [sys.executable, "-m", "analysis.figures", str(tmp_path / "missing")]
    bad = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "does not exist" in bad.stderr


def test_studies_on_runs_written_by_the_real_engine(fixture_runs, tmp_path):
    """The engine's own writers (tiny random models): every study reads what they produce."""
    from analysis.change_count import check_round_scores
    from analysis.rundir import RunDir

    run = RunDir(fixture_runs / "engine" / "main")
    assert check_round_scores(run.trace("steps"), run.trace("rounds")).empty
    written, skipped = figures.build_all(run.path, tmp_path / "main")
    names = {p.name for p in written}
    assert {"table3_main.md", "stability_signals.png", "leader_timing.png"} <= names
    assert set(skipped) == {"correction"}
    written, _ = figures.build_all(fixture_runs / "engine" / "sweep", tmp_path / "sweep")
    names = {p.name for p in written}
    assert "table6_interval.md" in names
    table = (tmp_path / "sweep" / "leader_table.md").read_text()
    assert "tie:tcc (interval 8)" in table and "tie:tcc (interval 16)" in table
