"""The grader audit's CLI end to end on a tiny hand-built data folder (no ../shared needed).

GSM8K and Countdown only (MATH500 would start a math-verify worker); the outputs are shapes where
our graders and d1's parser disagree, so every report section has something to show. ~1 s.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis import grader_audit
from analysis.grader_audit import MODEL_DIR, adjudicate, changed_verdicts, read_adjudication

GSM_FILE = "gsm8k_len256_shard0.json"
CD_FILE = "countdown_len256_shard0.json"


def _data(root: Path) -> Path:
    (root / "gsm8k").mkdir(parents=True)
    (root / "countdown").mkdir()
    (root / MODEL_DIR).mkdir(parents=True)
    rows = [{"question": "A?", "answer": "#### 18"}, {"question": "B?", "answer": "#### 1000000"}]
    (root / "gsm8k" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "countdown" / "cd3_test.jsonl").write_text('{"input": "48,29,16", "output": "93"}\n')
    gsm = [
        # ours 18 (the parenthetical is an aside); d1 takes the last number, 3
        {"question": "A?", "generations": "<answer>\n$18 (since 9 = 3 * 3)\n</answer>"},
        # ours 1000000; d1 reads the last group, 000
        {"question": "B?", "generations": "<answer>\n1 000 000\n</answer>"},
    ]
    for item, gold in zip(gsm, (18, 1000000), strict=True):
        item["ground_truth"] = gold
    cd = [
        {
            "question": "q",
            "generations": "<answer>\n\\[ 48 + 29 + 16 \\]\n</answer><|eot_id|>",
            "ground_truth": [[48, 29, 16], 93],
        }
    ]
    (root / MODEL_DIR / GSM_FILE).write_text(json.dumps({"generations": gsm}))
    (root / MODEL_DIR / CD_FILE).write_text(json.dumps({"generations": cd}))
    return root


def test_cli_report_with_baseline_and_adjudication(tmp_path, capsys):
    data, out = _data(tmp_path / "data"), tmp_path / "out"
    args = ["--data-dir", str(data), "--out", str(out), "--tasks", "gsm8k", "countdown"]
    assert grader_audit.main(args) == 0
    now = pd.read_csv(out / "verdicts.csv")
    assert list(now["correct_region"]) == [True, True, True]
    assert list(now["ref_correct"]) == [False, False, False]

    # A baseline where GSM8K item 0 was wrong (region) and item 1 right (full): a fix, a loss.
    before = now.copy()
    before.loc[0, "correct_region"] = False
    before.loc[1, "correct_full"] = not now.loc[1, "correct_full"]
    before.to_csv(out / "verdicts_before.csv", index=False)
    read = [
        {"task": "gsm8k", "file": GSM_FILE, "index": 0, "answer_right": True, "note": "18, aside"},
        {"task": "gsm8k", "file": GSM_FILE, "index": 1, "answer_right": True, "note": "1 000 000"},
    ]
    pd.DataFrame(read).to_csv(out / "adjudication.csv", index=False)
    assert grader_audit.main(args) == 0
    report = (out / "report.md").read_text()
    assert "2 (item, mode) verdicts changed" in report
    assert "| gsm8k | region | 0 | 1 |" in report
    assert "| 18, aside |" in report
    assert "NOT READ" not in report  # both changes were read
    # The Countdown disagreement with d1 was not read: counted as such.
    assert "| countdown | disagreements, region vs d1, other = d1 | 1 | 0 | 0 | 1 | 0 |" in report
    assert "| gsm8k | disagreements, region vs d1, other = d1 | 2 | 2 | 0 | 0 | 0 |" in report
    assert "verdicts.csv" in capsys.readouterr().out


def test_changed_verdicts_and_adjudicate_directions():
    key = {"task": "t", "file": "f", "extracted_region": "1", "extracted_full": "1"}
    before = pd.DataFrame(
        [
            {**key, "index": 0, "correct_region": True, "correct_full": True, "ref_correct": True},
            {**key, "index": 1, "correct_region": False, "correct_full": True, "ref_correct": True},
            {**key, "index": 2, "correct_region": True, "correct_full": True, "ref_correct": True},
        ]
    )
    now = before.iloc[:2].copy()
    now["correct_region"] = [False, True]
    changed = changed_verdicts(now, before)
    rows = {(r.index, r.mode): (r.before, r.after) for r in changed.itertuples()}
    # item 2 disappeared: both its modes count as changed, with no verdict after
    assert rows == {
        (0, "region"): (True, False),
        (1, "region"): (False, True),
        (2, "region"): (True, None),
        (2, "full"): (True, None),
    }
    reading = pd.DataFrame(
        [{"task": "t", "file": "f", "index": i, "answer_right": True, "note": ""} for i in (0, 1)]
    )
    table = adjudicate(now, reading, changed).set_index("what")
    flips = table.loc["changed verdicts (item, mode), other = before"]
    assert (flips["items"], flips["ours right"], flips["other right"], flips["not read"]) == (
        4,
        1,
        1,
        2,
    )
    dis = table.loc["disagreements, region vs d1, other = d1"]
    assert (dis["items"], dis["ours right"], dis["other right"]) == (1, 0, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("task,file,index,note\nt,f,0,x\n", "lacks columns"),
        ("task,file,index,answer_right,note\nt,f,0,maybe,x\n", "true or false"),
        ("task,file,index,answer_right,note\nt,f,0,True,x\nt,f,0,False,y\n", "read twice"),
    ],
)
def test_bad_adjudication_file_is_refused(tmp_path, text, message):
    path = tmp_path / "adjudication.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_adjudication(path)


def test_missing_baseline_is_refused(tmp_path):
    with pytest.raises(SystemExit):
        grader_audit.main(["--data-dir", str(tmp_path), "--baseline", str(tmp_path / "none.csv")])
