"""tie-run with `decoding.cache=prefix|dual` (issue 23) runs to the end through the real decoder
and TIE engine; the tiny models here have one layer, where the caches are exact, so every
method's predictions (relayed TIE included: a relay makes the rows recompute) match `none`."""

from __future__ import annotations

import json

from tie.run import execute

METHODS = "ensemble.methods=[single:llada-a,single:dream-b,post,tie:tcc,tie:top1]"


def predictions(make_cfg, tmp_path, cache: str) -> list[dict]:
    run_dir = tmp_path / f"run-{cache}"
    execute(make_cfg("api=orch_fakes:tiny_real_api", "task=synth_math", "decoding=testbed",
                     "data.limit=2", "data.batch_size=2", METHODS, f"decoding.cache={cache}",
                     run_dir=run_dir))  # fmt: skip
    rows = [json.loads(x) for x in (run_dir / "predictions.jsonl").read_text().splitlines()]
    return [
        {k: r[k] for k in ("id", "method", "prediction", "nfe", "selected_model") if k in r}
        for r in rows
    ]


def test_cached_runs_match_the_exact_run_on_one_layer_models(make_cfg, tmp_path):
    exact = predictions(make_cfg, tmp_path, "none")
    assert len(exact) == 2 * 5 and all("prediction" in r for r in exact)
    for cache in ("prefix", "dual"):
        assert predictions(make_cfg, tmp_path, cache) == exact, cache


def test_plain_decode_mode_takes_the_cache(make_cfg):
    text = execute(make_cfg("api=orch_fakes:tiny_real_api", "mode=decode", "model=llada-a",
                            "decode_canvas=plain", "prompt=hello", "decoding.gen_length=8",
                            "decoding.block_length=4", "decoding.cache=dual"))  # fmt: skip
    exact = execute(make_cfg("api=orch_fakes:tiny_real_api", "mode=decode", "model=llada-a",
                             "decode_canvas=plain", "prompt=hello", "decoding.gen_length=8",
                             "decoding.block_length=4"))  # fmt: skip
    assert isinstance(text, str) and text == exact
