"""Every notebook in notebooks/ executes top to bottom on a fixture run (jupytext -> nbclient).

The .py (percent format) file is converted in memory and run in a `python3` kernel of this
interpreter; the run directory and the figures folder are passed as the notebooks' environment
parameters (TIE_RUN_DIR, TIE_FIGURES_DIR), so the committed fixtures are never written to.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "runs"
NOTEBOOKS = {
    "stability": ("testbed", "stability_signals.png"),
    "leader_switch": ("testbed", "leader_timing.png"),
    "correction": ("injection", "correction_rate.png"),
    "results_tables": ("sweep", "table6_interval.md"),
}


def test_every_notebook_is_covered():
    assert {p.stem for p in (ROOT / "notebooks").glob("*.py")} == set(NOTEBOOKS)


def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLBACKEND", "Agg")


def _execute(name: str, out: Path, km=None) -> None:
    """Run notebook `name` on its fixture run, its parameters set in a first injected cell.

    (A cell rather than the process environment, because a shared, already running kernel no
    longer sees this process's environment.)
    """
    run, expected = NOTEBOOKS[name]
    nb = jupytext.read(ROOT / "notebooks" / f"{name}.py")
    env = {"TIE_RUN_DIR": str(FIXTURES / run), "TIE_FIGURES_DIR": str(out)}
    nb.cells.insert(0, nbformat.v4.new_code_cell(f"import os\nos.environ.update({env!r})"))
    client = NotebookClient(
        nb,
        km=km,
        kernel_name="python3",
        timeout=120,
        resources={"metadata": {"path": str(ROOT / "notebooks")}},
    )
    client.execute()  # raises CellExecutionError naming the failing cell
    assert (out / expected).is_file(), f"{name} did not write {expected}"
    kinds = {
        k
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
        for k in o.get("data", {})
    }
    assert {"image/png", "text/markdown"} & kinds, f"{name} rendered nothing inline"


@pytest.mark.timeout(240)
def test_notebooks_execute_on_fixture_runs(tmp_path, monkeypatch):
    """Fast tier: all notebooks in one shared kernel (one start-up, one set of imports)."""
    _isolate(tmp_path, monkeypatch)
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(ROOT / "notebooks"))
    try:
        for name in sorted(NOTEBOOKS):
            _execute(name, tmp_path / name, km=km)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_notebook_executes_in_fresh_kernel(name, tmp_path, monkeypatch):
    _isolate(tmp_path, monkeypatch)
    _execute(name, tmp_path / "figures")
