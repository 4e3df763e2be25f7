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
# # Injection / correction (paper Table 2)
#
# Starting model B from model A's partial trajectory (after a fraction r of A's decode): how
# often does B then get right a problem that A got right and B alone got wrong? Needs an
# injection-mode run (`traces/injection.parquet`). Set `TIE_RUN_DIR` and optionally
# `TIE_FIGURES_DIR`.

# %% tags=["parameters"]
# ruff: noqa: E402  (a notebook: the path set-up comes before the imports)
import os
import sys
from pathlib import Path

ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "analysis").is_dir())
sys.path.insert(0, str(ROOT))
RUN_DIR = Path(os.environ.get("TIE_RUN_DIR", ROOT / "tests/fixtures/runs/injection"))
OUT_DIR = Path(os.environ.get("TIE_FIGURES_DIR", RUN_DIR / "figures"))

# %%
from IPython.display import Image, Markdown, display

from analysis import correction
from analysis.output import to_markdown
from analysis.rundir import load_runs

rates = correction.correction_rates(correction.collect(load_runs(RUN_DIR)))
display(Markdown(to_markdown(correction.table2(rates), "Correction rate, % [95% CI] (k/n)")))

# %%
correction.plot_rates(rates, OUT_DIR / "correction_rate.png")
display(Image(filename=str(OUT_DIR / "correction_rate.png")))
