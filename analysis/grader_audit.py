"""Grader audit: our extractors and graders on real LLaDA-8B-Instruct outputs (d1 format).

Inputs live outside the project, in `../shared/data` (see its README): real generations for
GSM8K, MATH500 and Countdown under `real-outputs/llada-8b-instruct/*.json` (fields `question`,
`generations`, `ground_truth`; no correctness field), the GSM8K test rows and SPG's cd3 rows.

The outputs follow d1's prompt format (`<reasoning>...</reasoning><answer>\\boxed{..}</answer>`,
then LLaDA's `<|eot_id|><|endoftext|>` tokens), not our `Answer:` suffix. Each task's extractor is
applied twice: to the text after the answer marker the format provides (`region`: after the last
`<answer>`, else after the last `</reasoning>`; none when neither is there) and to the whole
completion (`full`). Correctness is compared with

- the gold: for GSM8K our gold comes from `gsm8k/test.jsonl` (joined on the question) and is
  checked against the file's `ground_truth`; for Countdown the cd3 rows are checked likewise;
  MATH500 golds are the file's strings;
- a reference judgement reimplementing d1's `eval/parse_and_get_acc.py` rules (the ones that
  produced these files' published accuracies), without `eval`: GSM8K first numeric `\\boxed{}`
  else last number in `<answer>`, float equality with the file's gold; Countdown last `\\boxed`
  (d1 brace matching), `=`-stripping, number multiset, value within 1e-5; MATH500 last `\\boxed`
  else `<answer>`, judged by math-verify (d1 uses a Hendrycks string `is_equiv`, so this isolates
  extraction) and by our string normalisation.

Outputs: `report.md` (rates per task and mode), `disagreements.csv` (every item where our
region grade differs from the reference, or region and full grades differ, with short snippets)
and `verdicts.csv` (every item's verdicts, small). Two hand-kept inputs in the same folder, read
when present: `verdicts_before.csv` (the verdicts of an earlier grader version; the report lists
every verdict that changed against it) and `adjudication.csv` (for items read by hand: whether
the model's answer is right, `answer_right`, and why; the report counts, for every disagreement
with d1 and every changed verdict, which side the reading supports, and names the unread ones).

CLI: `python -m analysis.grader_audit [--data-dir ../shared/data] [--out experiments/grader-audit]
[--baseline PATH] [--adjudication PATH]`.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd

from tie.tasks.countdown_task import CountdownTask
from tie.tasks.gsm8k import GSM8KTask
from tie.tasks.math500 import Math500Task
from tie.tasks.math_equiv import default_verifier, string_equivalent

TASKS = ("gsm8k", "math500", "countdown")
MODEL_DIR = "real-outputs/llada-8b-instruct"
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SNIPPET_CHARS = 160
VERDICT_CHARS = 80  # extractions in verdicts.csv are cut to this, for reading only

_ANSWER_OPEN = "<answer>"
_REASONING_CLOSE = "</reasoning>"


# --- reading the files ---------------------------------------------------------------------


def output_files(data_dir: str | Path, task: str) -> list[Path]:
    """The shards of one task, sorted; FileNotFoundError naming the folder when there are none."""
    folder = Path(data_dir) / MODEL_DIR
    files = sorted(folder.glob(f"{task}_*.json"))
    if not files:
        raise FileNotFoundError(f"no {task}_*.json under {folder}")
    return files


def load_outputs(data_dir: str | Path, task: str) -> list[dict[str, Any]]:
    """All generations of a task, each with `file` and `index` (position in its shard) added."""
    items = []
    for path in output_files(data_dir, task):
        payload = json.loads(path.read_text())
        for index, item in enumerate(payload["generations"]):
            items.append({**item, "file": path.name, "index": index})
    return items


def answer_region(completion: str) -> tuple[str | None, str]:
    """The text after the d1 format's answer marker and which marker it was.

    After the last `<answer>`; when the model dropped that tag (it often writes `<>` or nothing),
    after the last `</reasoning>`; `(None, "none")` when neither is there (truncated outputs).
    """
    for marker in (_ANSWER_OPEN, _REASONING_CLOSE):
        at = completion.rfind(marker)
        if at != -1:
            return completion[at + len(marker) :], marker
    return None, "none"


def _short(text: str) -> str:
    return text if len(text) <= VERDICT_CHARS else text[:VERDICT_CHARS] + "..."


def _snippet(text: str | None) -> str:
    if text is None:
        return ""
    text = text.replace("<|endoftext|>", "").replace("\n", "\\n")
    return text if len(text) <= SNIPPET_CHARS else "..." + text[-SNIPPET_CHARS:]


# --- d1 reference rules (eval/parse_and_get_acc.py @ 837888f), reimplemented without eval ------


def d1_last_boxed(text: str) -> str | None:
    """d1/Hendrycks `remove_boxed(last_boxed_only_string(text))`, None when that raises."""
    if "\\boxed " in text:
        return text.split("\\boxed ")[-1].split("$")[0]
    idx = text.rfind("\\boxed")
    if idx < 0:
        idx = text.rfind("\\fbox")
        if idx < 0:
            return text  # d1 returns the whole text when there is no box at all
    depth = 0
    for i in range(idx, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                boxed = text[idx : i + 1]
                if boxed.startswith("\\boxed{") and boxed.endswith("}"):
                    return boxed[len("\\boxed{") : -1]
                return boxed
    return None  # unclosed box: remove_boxed(None) raises in d1


def d1_gsm8k(completion: str) -> float | None:
    """d1 `parse_gsm_answers`: first numeric `\\boxed{}` content, else last number in <answer>."""
    for content in re.findall(r"\\boxed{(.*?)}", completion):
        content = content.strip()
        if content and not re.match(r"^\.+$", content):
            try:
                return float(content)
            except ValueError:
                numbers = re.findall(r"-?\d+\.?\d*", content)
                if numbers:
                    return float(numbers[0])
    match = re.search(r"<answer>(.*?)</answer>", completion, re.DOTALL)
    if match and match.group(1).strip():
        text = match.group(1).strip()
        try:
            return float(text)
        except ValueError:
            numbers = re.findall(r"-?\d+\.?\d*", text)
            if numbers:
                return float(numbers[-1])
    return None


def d1_countdown_expression(completion: str) -> str:
    """d1 `parse_countdown_answers` extraction: last box, else <answer>, else the whole text."""
    equation = d1_last_boxed(completion)
    if equation is None:
        match = re.search(r"<answer>(.*?)</answer>", completion, re.DOTALL)
        equation = match.group(1).strip() if match else completion
    equation = equation.replace("\\div", "/").replace("\\times", "*").replace("\\cdot", "*")
    match = re.search(r"([0-9+\-*/() ]+)=[0-9. ]+", equation)
    return match.group(1).strip() if match else equation


_D1_OPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
}


def _d1_value(node: ast.AST) -> Fraction:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return Fraction(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _d1_value(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _D1_OPS:
        return _D1_OPS[type(node.op)](_d1_value(node.left), _d1_value(node.right))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        base, exp = _d1_value(node.left), _d1_value(node.right)
        if exp.denominator != 1 or abs(exp) > 64 or abs(base) > 10**6:
            raise ValueError("power too large to audit")  # d1's eval would hang or overflow
        return base**exp.numerator
    raise ValueError(type(node).__name__)


def d1_countdown(completion: str, numbers: Sequence[int], target: int) -> tuple[str, bool]:
    """d1's Countdown judgement: (extracted equation, correct). `eval` replaced by an AST walk."""
    equation = d1_countdown_expression(completion)
    try:
        used = sorted(int(n) for n in re.findall(r"\d+", equation))
    except ValueError:
        return equation, False
    if used != sorted(numbers) or not re.match(r"^[\d+\-*/().\s]+$", equation):
        return equation, False
    try:
        value = _d1_value(ast.parse(equation.strip(), mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError, RecursionError, OverflowError):
        return equation, False
    return equation, abs(float(value) - target) < 1e-5


def d1_math_extract(completion: str) -> str | None:
    """d1 `parse_math_answers` extraction: last box, else the <answer> block."""
    parsed = d1_last_boxed(completion)
    if not parsed:
        match = re.search(r"<answer>(.*?)</answer>", completion, re.DOTALL)
        if match:
            parsed = match.group(1).strip()
    return parsed


# --- the audit -----------------------------------------------------------------------------


KEY = ["task", "file", "index"]
VERDICTS = ["correct_region", "correct_full", "ref_correct"]
MODES = ("region", "full")


@dataclass
class AuditResult:
    items: pd.DataFrame  # one row per (task, output)
    summary: pd.DataFrame  # one row per task
    gold_checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def disagreements(self) -> pd.DataFrame:
        items = self.items
        mask = (items["correct_region"] != items["ref_correct"]) | (
            items["correct_region"] != items["correct_full"]
        )
        return items[mask].reset_index(drop=True)

    def verdicts(self) -> pd.DataFrame:
        """Every item's key, extractions (cut short) and verdicts: what a later run compares."""
        columns = KEY + ["extracted_region", "correct_region", "extracted_full", "correct_full"]
        frame = self.items[columns + ["ref_correct"]].copy()
        for column in ("extracted_region", "extracted_full"):
            frame[column] = frame[column].map(_short, na_action="ignore")
        return frame


def read_verdicts(path: str | Path) -> pd.DataFrame:
    """A `verdicts.csv` as written by `write_report` (extractions kept as text, None as NaN)."""
    frame = pd.read_csv(path, dtype={"extracted_region": str, "extracted_full": str})
    missing = [c for c in KEY + VERDICTS if c not in frame]
    if missing:
        raise ValueError(f"{path}: not a verdicts file, it lacks columns {missing}")
    return frame


def changed_verdicts(items: pd.DataFrame, baseline: pd.DataFrame) -> pd.DataFrame:
    """One row per (item, mode) whose verdict differs from `baseline`: `before` -> `after`.

    Items of the baseline that this run no longer has count as changes too (`after` missing).
    """
    now = items.set_index(KEY)
    before = baseline.set_index(KEY)
    rows = []
    for key, old in before.iterrows():
        for mode in MODES:
            column = f"correct_{mode}"
            after = bool(now.at[key, column]) if key in now.index else None
            if after is None or after != bool(old[column]):
                rows.append(
                    {
                        **dict(zip(KEY, key, strict=True)),
                        "mode": mode,
                        "before": bool(old[column]),
                        "after": after,
                        "extracted_before": old.get(f"extracted_{mode}"),
                        "extracted_after": None
                        if after is None
                        else now.at[key, f"extracted_{mode}"],
                    }
                )
    columns = KEY + ["mode", "before", "after", "extracted_before", "extracted_after"]
    return pd.DataFrame(rows, columns=columns)


def read_adjudication(path: str | Path) -> pd.DataFrame:
    """The hand-read items: key, `answer_right` (true/false) and `note`."""
    frame = pd.read_csv(path)
    missing = [c for c in KEY + ["answer_right", "note"] if c not in frame]
    if missing:
        raise ValueError(f"{path}: not an adjudication file, it lacks columns {missing}")
    bad = frame[~frame["answer_right"].isin([True, False])]
    if len(bad):
        raise ValueError(f"{path}: answer_right must be true or false, rows {list(bad.index)}")
    if frame.duplicated(KEY).any():
        raise ValueError(f"{path}: items read twice: {frame[frame.duplicated(KEY)][KEY].values}")
    return frame


def adjudicate(
    items: pd.DataFrame, adjudication: pd.DataFrame, changed: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per task, for the d1 disagreements (region and full mode) and the changed verdicts: how
    many the hand reading says we got right, the other side (d1, or the earlier verdict) got
    right, and how many were not read."""
    read = adjudication.set_index(KEY)["answer_right"].astype(bool)
    rows = []
    for task, frame in items.groupby("task", sort=False):
        frame = frame.set_index(KEY)
        for mode in MODES:
            label, column = f"{mode} vs d1", f"correct_{mode}"
            dis = frame[frame[column] != frame["ref_correct"]]
            truth = read.reindex(dis.index)
            known = truth.notna()
            right = truth[known].astype(bool)
            rows.append(
                {
                    "task": task,
                    "what": f"disagreements, {label}, other = d1",
                    "items": len(dis),
                    "ours right": int((dis[column][known] == right).sum()),
                    "other right": int((dis["ref_correct"][known] == right).sum()),
                    "not read": int((~known).sum()),
                    "ours wrong with nothing extracted": int(
                        (
                            (dis[column][known] != right) & dis[f"extracted_{mode}"][known].isna()
                        ).sum()
                    ),
                }
            )
        if changed is not None:
            mine = changed[changed["task"] == task].set_index(KEY)
            truth = read.reindex(mine.index)
            known = truth.notna()
            after = mine["after"][known].astype(bool)
            before = mine["before"][known].astype(bool)
            rows.append(
                {
                    "task": task,
                    "what": "changed verdicts (item, mode), other = before",
                    "items": len(mine),
                    "ours right": int((after == truth[known].astype(bool)).sum()),
                    "other right": int((before == truth[known].astype(bool)).sum()),
                    "not read": int((~known).sum()),
                    "ours wrong with nothing extracted": int(
                        (
                            (after != truth[known].astype(bool))
                            & mine["extracted_after"][known].isna()
                        ).sum()
                    ),
                }
            )
    return pd.DataFrame(rows)


def _gsm8k_rows(data_dir: Path, task: GSM8KTask) -> tuple[dict[str, dict], dict[str, Any]]:
    """Our converted GSM8K rows keyed by question, and the gold parse check over the file."""
    path = data_dir / "gsm8k" / "test.jsonl"
    rows, failed = {}, []
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    for index, line in enumerate(lines):
        raw = json.loads(line)
        try:
            rows[raw["question"]] = task.convert_row(raw, index)
        except Exception as err:  # noqa: BLE001 - counted and reported
            failed.append(f"row {index}: {err}")
    return rows, {"rows": len(lines), "parsed": len(rows), "failed": failed[:10]}


def audit_gsm8k(data_dir: Path) -> tuple[list[dict], dict[str, Any]]:
    task = GSM8KTask()
    rows, check = _gsm8k_rows(data_dir, task)
    out, unmatched, gold_mismatch = [], 0, []
    for item in load_outputs(data_dir, "gsm8k"):
        completion = item["generations"]
        row = rows.get(item["question"])
        if row is None:
            unmatched += 1
            continue
        file_gold = item["ground_truth"]
        if file_gold is None or Fraction(str(file_gold)) != Fraction(row["gold"]):
            gold_mismatch.append(
                f"{item['file']}#{item['index']}: file {file_gold} vs ours {row['gold']}"
            )
        region, marker = answer_region(completion)
        ex_region = task.extract(region, row) if region is not None else None
        ex_full = task.extract(completion, row)
        ref = d1_gsm8k(completion)
        out.append(
            _record(
                "gsm8k",
                item,
                row["gold"],
                marker,
                region,
                ex_region,
                task.grade(ex_region, row),
                ex_full,
                task.grade(ex_full, row),
                None if ref is None else repr(ref),
                ref is not None and ref == file_gold,
            )
        )
    check.update(unmatched_outputs=unmatched, file_gold_mismatch=gold_mismatch)
    return out, check


def audit_countdown(data_dir: Path) -> tuple[list[dict], dict[str, Any]]:
    task = CountdownTask(variant="cd3")
    path = data_dir / "countdown" / "cd3_test.jsonl"
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    rows, failed = {}, []
    for index, line in enumerate(lines):
        try:
            row = task.convert_row(json.loads(line), index)
        except Exception as err:  # noqa: BLE001 - counted and reported
            failed.append(f"row {index}: {err}")
            continue
        rows.setdefault((tuple(row["nums"]), row["target"]), row)
    check: dict[str, Any] = {
        "rows": len(lines),
        "parsed": len(lines) - len(failed),
        "failed": failed[:10],
    }
    out, unmatched = [], 0
    for item in load_outputs(data_dir, "countdown"):
        nums, target = item["ground_truth"]
        row = rows.get((tuple(nums), target))
        if row is None:  # not in cd3: grade against the file's own ground truth
            unmatched += 1
            row = {"nums": list(nums), "target": int(target), "gold": str(target)}
        completion = item["generations"]
        region, marker = answer_region(completion)
        ex_region = task.extract(region, row) if region is not None else None
        ex_full = task.extract(completion, row)
        ref_expr, ref_ok = d1_countdown(completion, nums, target)
        out.append(
            _record(
                "countdown",
                item,
                f"{list(nums)} -> {target}",
                marker,
                region,
                ex_region,
                task.grade(ex_region, row),
                ex_full,
                task.grade(ex_full, row),
                ref_expr,
                ref_ok,
            )
        )
    check.update(unmatched_outputs=unmatched)
    return out, check


def audit_math500(data_dir: Path, timeout_s: float = 10.0) -> tuple[list[dict], dict[str, Any]]:
    task = Math500Task(timeout_s=timeout_s)
    verifier = default_verifier()
    out, gold_self = [], 0
    statuses: dict[str, int] = {}
    memo: dict[tuple[str | None, str], Any] = {}

    def compare(pred: str | None, gold: str) -> Any:  # the three modes often extract the same
        if (pred, gold) not in memo:
            memo[pred, gold] = verifier.compare(pred, gold, timeout_s)
        return memo[pred, gold]

    for item in load_outputs(data_dir, "math500"):
        gold = item["ground_truth"].strip()
        row = {"gold": gold}
        gold_self += compare(gold, gold).equal
        completion = item["generations"]
        region, marker = answer_region(completion)
        ex_region = task.extract(region, row) if region is not None else None
        res_region = compare(ex_region, gold)
        statuses[res_region.status] = statuses.get(res_region.status, 0) + 1
        ex_full = task.extract(completion, row)
        ref = d1_math_extract(completion)
        rec = _record(
            "math500",
            item,
            gold,
            marker,
            region,
            ex_region,
            res_region.equal,
            ex_full,
            compare(ex_full, gold).equal,
            ref,
            compare(ref, gold).equal,
        )
        rec["string_region"] = string_equivalent(ex_region, gold)
        rec["ref_string"] = ref is not None and string_equivalent(ref, gold)
        out.append(rec)
    n = len(out)
    return out, {"rows": n, "parsed": gold_self, "failed": [], "region_status": statuses}


def _record(
    task: str,
    item: dict,
    gold: str,
    marker: str,
    region: str | None,
    ex_region: str | None,
    ok_region: bool,
    ex_full: str | None,
    ok_full: bool,
    ref_extracted: str | None,
    ref_ok: bool,
) -> dict[str, Any]:
    return {
        "task": task,
        "file": item["file"],
        "index": item["index"],
        "gold": gold,
        "marker": marker,
        "extracted_region": ex_region,
        "correct_region": bool(ok_region),
        "extracted_full": ex_full,
        "correct_full": bool(ok_full),
        "ref_extracted": ref_extracted,
        "ref_correct": bool(ref_ok),
        "tail": _snippet(region if region is not None else item["generations"]),
    }


_AUDITS = {"gsm8k": audit_gsm8k, "math500": audit_math500, "countdown": audit_countdown}


def summarize(items: pd.DataFrame) -> pd.DataFrame:
    """Per task: outputs, marker counts, parse and correct counts per mode, agreement with d1."""
    rows = []
    for task, frame in items.groupby("task", sort=False):
        n = len(frame)
        rows.append(
            {
                "task": task,
                "outputs": n,
                "marker_answer": int((frame["marker"] == _ANSWER_OPEN).sum()),
                "marker_reasoning_close": int((frame["marker"] == _REASONING_CLOSE).sum()),
                "marker_none": int((frame["marker"] == "none").sum()),
                "with_marker": int((frame["marker"] != "none").sum()),
                "parsed_region": int(frame["extracted_region"].notna().sum()),
                "correct_region": int(frame["correct_region"].sum()),
                "parsed_full": int(frame["extracted_full"].notna().sum()),
                "correct_full": int(frame["correct_full"].sum()),
                "parsed_ref": int(frame["ref_extracted"].notna().sum()),
                "correct_ref": int(frame["ref_correct"].sum()),
                "agree_region_ref": int((frame["correct_region"] == frame["ref_correct"]).sum()),
                "agree_full_ref": int((frame["correct_full"] == frame["ref_correct"]).sum()),
            }
        )
    return pd.DataFrame(rows)


def run_audit(data_dir: str | Path = DEFAULT_DATA_DIR, tasks: Sequence[str] = TASKS) -> AuditResult:
    """Audit the named tasks on the real outputs under `data_dir` (no files written)."""
    data_dir = Path(data_dir)
    records, checks = [], {}
    for name in tasks:
        if name not in _AUDITS:
            raise ValueError(f"unknown task {name!r}; expected one of {TASKS}")
        recs, checks[name] = _AUDITS[name](data_dir)
        records += recs
    items = pd.DataFrame(records)
    return AuditResult(items=items, summary=summarize(items), gold_checks=checks)


# --- report --------------------------------------------------------------------------------


def _pct(count: int, total: int) -> str:
    return f"{count} ({100.0 * count / total:.1f}%)" if total else "0"


def _md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def render_report(
    result: AuditResult,
    data_dir: str | Path,
    baseline: pd.DataFrame | None = None,
    adjudication: pd.DataFrame | None = None,
) -> str:
    s = result.summary
    lines = [
        "# Grader audit on real LLaDA-8B-Instruct outputs",
        "",
        f"Generated by `python -m analysis.grader_audit` from `{MODEL_DIR}` "
        "(d1 format, gen length 256, 128 steps, block 32). `region` = our task extractor on the "
        "text after the last `<answer>` (else after `</reasoning>`); `full` = our extractor on the "
        "whole completion; `d1 ref` = d1's own parsing rules (`eval/parse_and_get_acc.py`), "
        "re-implemented without `eval` (MATH500: d1 extraction judged by math-verify). "
        "The files carry no correctness field, only `ground_truth`.",
        "",
        "## Answer markers",
        "",
    ]
    lines += _md_table(
        ["task", "outputs", "`<answer>`", "only `</reasoning>`", "neither"],
        [
            [r.task, r.outputs, r.marker_answer, r.marker_reasoning_close, r.marker_none]
            for r in s.itertuples()
        ],
    )
    lines += [
        "",
        "Region parse rate among outputs with a marker: "
        + ", ".join(f"{r.task} {_pct(r.parsed_region, r.with_marker)}" for r in s.itertuples())
        + ".",
        "",
        "## Parse and correct rates (share of all outputs)",
        "",
    ]
    lines += _md_table(
        [
            "task",
            "parsed region",
            "correct region",
            "parsed full",
            "correct full",
            "parsed d1 ref",
            "correct d1 ref",
            "region agrees with d1 ref",
            "full agrees with d1 ref",
        ],
        [
            [r.task]
            + [
                _pct(getattr(r, c), r.outputs)
                for c in (
                    "parsed_region",
                    "correct_region",
                    "parsed_full",
                    "correct_full",
                    "parsed_ref",
                    "correct_ref",
                    "agree_region_ref",
                    "agree_full_ref",
                )
            ]
            for r in s.itertuples()
        ],
    )
    items = result.items
    if "string_region" in items and (items["task"] == "math500").any():
        m = items[items["task"] == "math500"]
        lines += [
            "",
            f"MATH500 secondary (string normalisation): region {_pct(int(m['string_region'].sum()), len(m))}, "
            f"d1 extraction {_pct(int(m['ref_string'].sum()), len(m))}.",
        ]
    lines += ["", "## Gold checks", ""]
    for task, check in result.gold_checks.items():
        extra = {k: v for k, v in check.items() if k not in ("rows", "parsed", "failed")}
        what = "gold self-equivalent under math-verify" if task == "math500" else "rows converted"
        lines.append(
            f"- **{task}**: {what}: {_pct(check['parsed'], check['rows'])}; "
            + "; ".join(f"{k}: {v}" for k, v in extra.items())
        )
        for failure in check["failed"]:
            lines.append(f"  - {failure}")
    dis = result.disagreements()
    lines += [
        "",
        "## Disagreements",
        "",
        f"{len(dis)} items where region != d1 ref or region != full; all in `disagreements.csv`. "
        "Counts by kind:",
        "",
    ]
    kinds = []
    for task, frame in items.groupby("task", sort=False):
        cr, cf, rf = frame["correct_region"], frame["correct_full"], frame["ref_correct"]
        kinds.append(
            [
                task,
                int((cr & ~rf).sum()),
                int((~cr & rf).sum()),
                int((cr & ~cf).sum()),
                int((~cr & cf).sum()),
            ]
        )
    lines += _md_table(
        [
            "task",
            "region right, d1 wrong",
            "region wrong, d1 right",
            "region right, full wrong",
            "region wrong, full right",
        ],
        kinds,
    )
    lines += _changes_section(result, baseline, adjudication)
    lines.append("")
    return "\n".join(lines)


def _text(value: Any) -> str:
    return "None" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _changes_section(
    result: AuditResult, baseline: pd.DataFrame | None, adjudication: pd.DataFrame | None
) -> list[str]:
    lines: list[str] = []
    changed = None if baseline is None else changed_verdicts(result.items, baseline)
    if changed is not None:
        flips = []
        for task in result.items["task"].unique():
            for mode in MODES:
                frame = changed[(changed["task"] == task) & (changed["mode"] == mode)]
                after = frame["after"].map(lambda v: v is True)  # None: the item is gone
                flips.append(
                    [
                        task,
                        mode,
                        int((frame["before"] & ~after).sum()),
                        int((~frame["before"].astype(bool) & after).sum()),
                    ]
                )
        lines += [
            "",
            "## Verdicts changed against the baseline",
            "",
            f"Baseline: `verdicts_before.csv` ({len(baseline)} items). "
            f"{len(changed)} (item, mode) verdicts changed:",
            "",
        ]
        lines += _md_table(["task", "mode", "right -> wrong", "wrong -> right"], flips)
        if len(changed):
            lines += ["", "Every change, read by hand in `adjudication.csv`:", ""]
            read = {} if adjudication is None else adjudication.set_index(KEY)["note"].to_dict()
            lines += _md_table(
                ["task", "item", "mode", "before -> after", "extracted before -> after", "reading"],
                [
                    [
                        r.task,
                        f"{r.file.split('_')[-1].removesuffix('.json')}#{r.index}",
                        r.mode,
                        f"{r.before} -> {r.after}",
                        f"`{_text(r.extracted_before)}` -> `{_text(r.extracted_after)}`",
                        read.get((r.task, r.file, r.index), "NOT READ"),
                    ]
                    for r in changed.itertuples()
                ],
            )
    if adjudication is not None:
        table = adjudicate(result.items, adjudication, changed)
        lines += [
            "",
            "## Adjudication (read by hand)",
            "",
            f"`adjudication.csv` holds {len(adjudication)} items read by hand: whether the model's "
            "answer is right as a careful reader judges it. For each group of items: how many "
            "our verdict gets right, how many the other side's verdict (d1's, or ours before) gets "
            "right, how many were not read, and of our wrong verdicts how many had nothing "
            "extracted (in region mode: the output has no answer marker, so no region, by design).",
            "",
        ]
        lines += _md_table(list(table.columns), table.values.tolist())
    return lines


def write_report(
    result: AuditResult,
    out: str | Path,
    data_dir: str | Path,
    baseline: pd.DataFrame | None = None,
    adjudication: pd.DataFrame | None = None,
) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report, csv, verdicts = out / "report.md", out / "disagreements.csv", out / "verdicts.csv"
    report.write_text(render_report(result, data_dir, baseline, adjudication))
    result.disagreements().to_csv(csv, index=False)
    result.verdicts().to_csv(verdicts, index=False)
    return [report, csv, verdicts]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR))
    parser.add_argument("--out", default="experiments/grader-audit")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument(
        "--baseline", help="earlier verdicts.csv to compare with (default: OUT/verdicts_before.csv)"
    )
    parser.add_argument(
        "--adjudication", help="hand-read items (default: OUT/adjudication.csv when present)"
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    inputs = []
    for given, default in (
        (args.baseline, "verdicts_before.csv"),
        (args.adjudication, "adjudication.csv"),
    ):
        path = Path(given) if given else out / default
        if given and not path.is_file():
            parser.error(f"{path} does not exist")
        inputs.append(path if path.is_file() else None)
    baseline = read_verdicts(inputs[0]) if inputs[0] else None
    adjudication = read_adjudication(inputs[1]) if inputs[1] else None
    result = run_audit(args.data_dir, args.tasks)
    if baseline is not None:
        baseline = baseline[baseline["task"].isin(args.tasks)]
    for path in write_report(result, out, args.data_dir, baseline, adjudication):
        print(path)
    print(result.summary.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
