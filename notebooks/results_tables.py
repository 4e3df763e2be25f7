# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Results tables (paper Tables 3, 4, 6-10)
#
# Accuracy per method and task, with a bootstrap CI, the paired difference against the best
# single model (paired bootstrap) and the exact McNemar p. With a sweep folder, one ablation
# table per setting the sweep varies. Set `TIE_RUN_DIR` (a run directory or a sweep folder)
# and optionally `TIE_FIGURES_DIR` (the tables are written there too).

# %% tags=["parameters"]
# ruff: noqa: E402  (a notebook: the path set-up comes before the imports)
import os
import sys
from pathlib import Path

ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "analysis").is_dir())
sys.path.insert(0, str(ROOT))
RUN_DIR = Path(os.environ.get("TIE_RUN_DIR", ROOT / "tests/fixtures/runs/main"))
OUT_DIR = Path(os.environ.get("TIE_FIGURES_DIR", RUN_DIR / "figures"))

# %%
from IPython.display import Markdown, display

from analysis import load_runs, tables

for path in tables.run(RUN_DIR, OUT_DIR):
    if path.suffix == ".md":
        display(Markdown(path.read_text()))

# %% [markdown]
# ## Every number behind the tables

# %%
frame = tables.results_frame(load_runs(RUN_DIR))
frame[["task", "method", "accuracy", "acc_low", "acc_high", "delta", "mcnemar_p", "nfe_mean"]]
