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
# # Leader switch (paper Table 5 and Figure 3)
#
# How often does the TIE leader change from one round to the next, per scoring function and
# task, and when in decoding do the changes happen? Reads `traces/rounds.parquet`. Set
# `TIE_RUN_DIR` (a run directory or a sweep folder) and optionally `TIE_FIGURES_DIR`.

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

from analysis import leader
from analysis.output import to_markdown
from analysis.rundir import load_runs

rounds = leader.collect(load_runs(RUN_DIR))
rates = leader.change_rate(rounds)
display(Markdown(to_markdown(leader.table5(rates), "Leader change rate, % (changes/relays)")))

# %% [markdown]
# ## Change rate per scoring function

# %%
leader.plot_change_rate(rates, OUT_DIR / "leader_change_rate.png")
display(Image(filename=str(OUT_DIR / "leader_change_rate.png")))

# %% [markdown]
# ## When the changes happen (Figure 3): share of leader changes and change rate against
# normalised decoding progress (share of the problem's rounds done at the relay)

# %%
leader.plot_change_timing(leader.change_progress(rounds), OUT_DIR / "leader_timing.png")
display(Image(filename=str(OUT_DIR / "leader_timing.png")))

# %% [markdown]
# ## Share of rounds each model led

# %%
leader.lead_share(rounds)
