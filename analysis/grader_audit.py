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

Outputs: `report.md` (rates per task and mode) and `disagreements.csv` (every item where our
region grade differs from the reference, or region and full grades differ, with short snippets).

CLI: `python -m analysis.grader_audit [--data-dir ../shared/data] [--out experiments/grader-audit]`.
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


def render_report(result: AuditResult, data_dir: str | Path) -> str:
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
    lines.append("")
    return "\n".join(lines)


def write_report(result: AuditResult, out: str | Path, data_dir: str | Path) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report, csv = out / "report.md", out / "disagreements.csv"
    report.write_text(render_report(result, data_dir))
    result.disagreements().to_csv(csv, index=False)
    return [report, csv]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR))
    parser.add_argument("--out", default="experiments/grader-audit")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    args = parser.parse_args(argv)
    result = run_audit(args.data_dir, args.tasks)
    for path in write_report(result, args.out, args.data_dir):
        print(path)
    print(result.summary.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
