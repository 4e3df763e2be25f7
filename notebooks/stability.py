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
# # Confidence stability (paper Figure 1 and Table 1)
#
# Do correct and incorrect samples behave differently on their answer tokens while decoding?
# Per model (single-model methods): top-1 probability, entropy and margin over A(t) at every
# step, and the token change count C(T) over the whole decode, recomputed from
# `traces/steps.parquet`. Set `TIE_RUN_DIR` (a run directory or a sweep folder) and optionally
# `TIE_FIGURES_DIR` (default `<run>/figures`).

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
from IPython.display import Image, Markdown, display

from analysis import stability
from analysis.rundir import load_runs

steps = stability.collect(load_runs(RUN_DIR))
print(f"{steps['id'].nunique()} problems, models: {sorted(steps['model'].unique())}")

# %% [markdown]
# ## Answer-token signals over decoding steps (Figure 1)

# %%
curves = stability.signal_curves(steps)
stability.plot_signal_curves(curves, OUT_DIR / "stability_signals.png")
display(Image(filename=str(OUT_DIR / "stability_signals.png")))

# %% [markdown]
# ## Token change count C(T), correct vs incorrect (Table 1)

# %%
summary = stability.change_count_summary(steps)
stability.plot_change_counts(summary, OUT_DIR / "stability_change_count.png")
display(Image(filename=str(OUT_DIR / "stability_change_count.png")))

# %%
from analysis.output import to_markdown

display(Markdown(to_markdown(stability.table1(summary), "C(T): mean [95% bootstrap CI]")))
