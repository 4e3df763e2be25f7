"""Local-file loading and its errors (`tie.tasks.loading`, `tie.tasks.benchmark`)."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tie.tasks import TaskDataError, get_task
from tie.tasks.benchmark import answer_region
from tie.tasks.loading import hub_offline, read_local_file


def test_offline_without_files_names_the_expected_file():
    assert hub_offline()
    with pytest.raises(TaskDataError, match=r"cais/mmlu.*test\.parquet or test\.jsonl.*data_files"):
        get_task("mmlu").load()


def test_missing_data_file_is_named(tmp_path):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(TaskDataError, match="nope.jsonl does not exist"):
        get_task("gsm8k", data_files=str(missing)).load()


def test_data_dir_without_expected_files(tmp_path):
    with pytest.raises(TaskDataError, match="none of the expected files"):
        get_task("arc_c", data_dir=tmp_path).load()


def test_bad_json_line_is_named(tmp_path):
    path = tmp_path / "test.jsonl"
    path.write_text('{"question": "q", "answer": "#### 1"}\n{not json\n')
    with pytest.raises(TaskDataError, match="line 2 is not valid JSON"):
        get_task("gsm8k", data_files=path).load()


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "rows.txt"
    path.write_text("x")
    with pytest.raises(TaskDataError, match="unsupported file type"):
        read_local_file(path)


def test_parquet_and_json_list_load_like_jsonl(tmp_path, fixtures):
    rows = [
        json.loads(line) for line in (fixtures / "mmlu" / "test.jsonl").read_text().splitlines()
    ]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "test.parquet")
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    from_jsonl = get_task("mmlu", data_dir=fixtures / "mmlu").load()
    from_parquet = get_task("mmlu", data_dir=tmp_path).load()
    from_json = get_task("mmlu", data_files=tmp_path / "rows.json").load()
    assert from_parquet.to_list() == from_jsonl.to_list() == from_json.to_list()


def test_limit_and_bad_options(fixtures):
    assert len(get_task("mmlu", data_dir=fixtures / "mmlu", limit=2).load()) == 2
    with pytest.raises(ValueError, match="limit"):
        get_task("mmlu", limit=0)
    with pytest.raises(ValueError, match="reasoning_len"):
        get_task("mmlu", reasoning_len=-1)


def test_budget_override():
    task = get_task("gsm8k", reasoning_len=64, answer_len=8)
    assert (task.budget.reasoning_len, task.budget.answer_len) == (64, 8)


def test_answer_region_does_not_double_the_suffix():
    assert answer_region(" C", "Answer:") == "Answer: C"
    assert answer_region(" Answer: C", "Answer:") == " Answer: C"
    assert answer_region("", "Answer:") == "Answer:"
