import pytest

from tie.tracing import Tracer, merge_ranks, read_traces, recompute_round_tcc


def _step(step, top1, in_a, rnd=0, model="a"):
    return dict(
        id="p0",
        method="tie:tcc",
        model=model,
        round=rnd,
        step=step,
        answer_top1=top1,
        in_A=in_a,
        mean_top1_prob=0.5,
        mean_entropy=1.0,
        mean_margin=0.1,
        n_masked=3,
        committed_pos=[step],
        committed_ids=[7],
        lookahead=False,
    )


def test_tracer_writes_atomically_in_batches(tmp_path):
    tracer = Tracer(tmp_path, batch_rows=2)
    for s in range(5):
        tracer.add_step(_step(s, [1, 2], [True, False]))
    # before close only the temporary file exists: readers never see a partial table
    assert not (tmp_path / "steps.parquet").exists()
    assert (tmp_path / "steps.parquet.tmp").exists()
    tracer.close()
    tables = read_traces(tmp_path)
    assert len(tables["steps"]) == 5
    assert list(tables["steps"]["answer_top1"].iloc[0]) == [1, 2]
    assert len(tables["rounds"]) == 0 and "score_tcc" in tables["rounds"].columns
    assert not list(tmp_path.glob("*.tmp"))


def test_steps_switch_off_and_missing_columns(tmp_path):
    tracer = Tracer(tmp_path, steps=False)
    tracer.add_step(_step(0, [1], [True]))
    tracer.close()
    assert "steps" not in read_traces(tmp_path)
    bad = Tracer(tmp_path / "b", batch_rows=1)
    with pytest.raises(ValueError, match="lacks columns"):
        bad.add_round({"id": "x"})


def test_merge_ranks(tmp_path):
    for rank in (0, 1):
        with Tracer(tmp_path, rank=rank) as t:
            t.add_step(_step(rank, [1], [True]))
    merge_ranks(tmp_path)
    assert sorted(read_traces(tmp_path)["steps"]["step"]) == [0, 1]
    assert not list(tmp_path.glob("*.rank*"))


def test_recompute_round_tcc_normalised_and_raw(tmp_path):
    with Tracer(tmp_path) as t:
        t.add_step(_step(0, [1, 2, 3], [True, True, False]))
        t.add_step(
            _step(1, [1, 5, 4], [False, True, True])
        )  # 1 of |A(0)|=2 changed (pos 2 not in A)
        t.add_step(_step(2, [1, 6, 9], [False, False, True]))  # 2 of |A(1)|=2 changed
        t.add_step(_step(3, [0, 0, 0], [False, False, False]))  # 1 of 1 changed
    steps = read_traces(tmp_path)["steps"]
    norm = recompute_round_tcc(steps)
    assert norm["score_tcc"].iloc[0] == pytest.approx(-(0.5 + 1.0 + 1.0))
    raw = recompute_round_tcc(steps, normalise=False)
    assert raw["score_tcc"].iloc[0] == pytest.approx(-4.0)
