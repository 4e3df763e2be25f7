"""Shared machinery of the real benchmarks: options, row validation, loading, answer regions.

Every benchmark task converts raw rows (hub or local file, real schema) into rows with `id`,
`gold`, `category` plus the fields its prompt needs, validating as it goes so a malformed row
fails at load time with its file, row number and field named, before any model runs.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where rows are built: the config check stays light
    import datasets

from tie.tasks.base import CanvasBudget, Task, TaskDataError
from tie.tasks.loading import DataSource, load_raw_rows


class RowError(TaskDataError):
    """A raw row is malformed; raised by converters, re-raised by `load` with file and row."""


def field(raw: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    """`raw[name]`, checked to be of `kind`; RowError names the field otherwise."""
    if name not in raw:
        raise RowError(f"missing field {name!r}")
    value = raw[name]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise RowError(f"field {name!r} has type bool")
    if not isinstance(value, kind):
        raise RowError(f"field {name!r} has type {type(value).__name__}, expected {kind}")
    return value


def text_field(raw: dict[str, Any], name: str, allow_empty: bool = False) -> str:
    """A string field; empty strings are malformed unless allowed."""
    value = field(raw, name, str)
    if not allow_empty and not value.strip():
        raise RowError(f"field {name!r} is empty")
    return value


def str_list_field(raw: dict[str, Any], name: str, min_len: int = 1) -> list[str]:
    """A list-of-strings field (numpy arrays from parquet are accepted)."""
    if name not in raw:
        raise RowError(f"missing field {name!r}")
    value = raw[name]
    if hasattr(value, "tolist") and not isinstance(value, list | str):
        value = value.tolist()
    if (
        not isinstance(value, list | tuple)
        or len(value) < min_len
        or not all(isinstance(v, str) for v in value)
    ):
        raise RowError(f"field {name!r} must be a list of at least {min_len} strings")
    return list(value)


# End-of-sequence tokens that reach graders when text is decoded with special tokens kept
# (LLaDA writes `<|eot_id|>` then pads with `<|endoftext|>`); nothing after one is generation.
END_TOKENS = ("<|eot_id|>", "<|endoftext|>", "<|end_of_text|>", "<|im_end|>", "<|eom_id|>")


def cut_at_end_token(text: str) -> str:
    """`text` up to the first end-of-sequence token (unchanged when there is none)."""
    for token in END_TOKENS:
        at = text.find(token)
        if at != -1:
            text = text[:at]
    return text


def answer_region(answer_text: str, suffix: str) -> str:
    """The answer region as graders see it: the suffix followed by the decoded answer text.

    When the text already starts with the suffix (a caller passed the region itself) it is not
    added twice, so a region `Answer: C` is never read as `Answer:Answer: C`. Text from the first
    end-of-sequence token on (`<|eot_id|>`, `<|endoftext|>`, ...) is dropped.
    """
    text = cut_at_end_token(answer_text or "")
    return text if text.lstrip().startswith(suffix) else suffix + text


class BenchmarkTask(Task):
    """A real benchmark: a data source, a row converter and a default canvas budget."""

    source: DataSource
    answer_suffix = "Answer:"
    default_budget: CanvasBudget

    def __init__(
        self,
        data_files: str | Path | Sequence[str | Path] | None = None,
        data_dir: str | Path | None = None,
        limit: int | None = None,
        reasoning_len: int | None = None,
        answer_len: int | None = None,
        gen_length: int | None = None,
    ) -> None:
        if limit is not None and (
            not isinstance(limit, int) or isinstance(limit, bool) or limit < 1
        ):
            raise ValueError(f"limit must be a positive integer or None, got {limit!r}")
        for label, value in (
            ("reasoning_len", reasoning_len),
            ("answer_len", answer_len),
            ("gen_length", gen_length),
        ):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{label} must be a positive integer, got {value!r}")
        if reasoning_len is not None and gen_length is not None:
            raise ValueError("give gen_length (reasoning = the rest) or reasoning_len, not both")
        self.data_files = data_files
        self.data_dir = data_dir
        self.limit = limit
        answer = answer_len or self.default_budget.answer_len
        # a fixed reasoning length replaces the paper's generation length (testbed-style budget)
        self.budget = (
            CanvasBudget(reasoning_len=reasoning_len, answer_len=answer)
            if reasoning_len is not None
            else CanvasBudget(
                answer_len=answer, gen_length=gen_length or self.default_budget.gen_length
            )
        )
        self.origin: str | None = None  # where the last load() read from

    @abstractmethod
    def convert_row(self, raw: dict[str, Any], index: int) -> dict[str, Any] | None:
        """A validated row (`id`, `gold`, `category`, task fields) or None to leave it out."""

    def keep(self, row: dict[str, Any]) -> bool:
        """Subset filter applied after conversion (e.g. MMLU*)."""
        return True

    def load(self) -> datasets.Dataset:
        raw_rows, origin = load_raw_rows(self.source, self.data_files, self.data_dir)
        self.origin = origin
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        for index, raw in enumerate(raw_rows):
            try:
                row = self.convert_row(raw, index)
            except RowError as err:
                raise TaskDataError(f"{self.name}: {origin} row {index + 1}: {err}") from err
            if row is None or not self.keep(row):
                continue
            if row["id"] in seen:
                raise TaskDataError(
                    f"{self.name}: {origin} row {index + 1}: duplicate id {row['id']!r}"
                )
            seen.add(row["id"])
            rows.append(row)
            if self.limit is not None and len(rows) >= self.limit:
                break
        if not rows:
            raise TaskDataError(f"{self.name}: {origin} holds no usable rows")
        import datasets

        return datasets.Dataset.from_list(rows)

    def grade_modes(self, answer_text: str, row: dict[str, Any]) -> dict[str, bool]:
        """Correctness under every grading mode the task logs; `primary` is the reported one."""
        return {"primary": self.score(answer_text, row)[1]}
