"""Batch review: answer a queue of cases (a prior-authorisation queue) and sort them by verdict.

`run_review` reads cases from CSV or JSON Lines (field `id`, and `case` or `question`), answers
each one with the same `ask` call as the CLI and the API, and appends one JSON line per case to the
output file. A re-run skips the ids already in the output, so a stopped review resumes where it
stopped. Each case gets one category from its label checks:

- contraindicated: a contraindication of a drug's label is triggered by the patient's facts
- not indicated: a Limitation of Use or a "not indicated / not for" sentence excludes the use
- off-label: the condition is recognised and is not among the label's indications
- dose mismatch: a dose, frequency or route differs from the label's row for this patient
- unclear: no proposed drug, no label held, or something could not be checked (the line says what)
- on-label: every proposed drug is indicated and every prescribed part of its regimen matches

The category is `LabelCheck.category()`, the same one the CDS card and the bottom line use.
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from medcite.errors import MedciteError
from medcite.records import SEVERITY, LabelCheck, RecordError, ReviewCategory
from medcite.settings import Settings

CATEGORIES: tuple[str, ...] = tuple(c.value for c in ReviewCategory)
TEXT_FIELDS = ("case", "question")


@dataclass
class Case:
    """One case of the queue."""

    id: str
    text: str


@dataclass
class ReviewSummary:
    """What a review run did, and the categories of every case in the output file."""

    total: int = 0  # readable cases in the input
    answered: int = 0  # answered by this run
    skipped: int = 0  # already in the output file (resumed)
    failed: int = 0  # cases whose answer raised (they are retried by the next run)
    errors: list[str] = field(default_factory=list)
    categories: dict[str, int] = field(default_factory=lambda: {c: 0 for c in CATEGORIES})
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape of `medcite review --json`."""
        return asdict(self)


# ---------------------------------------------------------------------- reading cases
def read_cases(path: str | Path) -> Iterator[Case | RecordError]:
    """Yield the cases of a .csv or .jsonl file, and a RecordError for each unreadable row."""
    path = Path(path)
    suffix = "".join(path.suffixes[-1:]).lower()
    if suffix not in {".csv", ".jsonl", ".ndjson"}:
        raise MedciteError(f"{path}: cases must be a .csv or .jsonl file (fields: id, and case or question)")
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise MedciteError(f"{path}: cannot read ({exc.strerror})") from None
    seen: set[str] = set()
    with handle:
        rows = _csv_rows(handle, path) if suffix == ".csv" else _jsonl_rows(handle, path)
        for where, row in rows:
            if isinstance(row, RecordError):
                yield row
                continue
            item = _case(row, str(path), where)
            if isinstance(item, Case):
                if item.id in seen:
                    item = RecordError(str(path), where, f"duplicate id {item.id!r}; the first one is kept")
                else:
                    seen.add(item.id)
            yield item


def _csv_rows(handle, path: Path) -> Iterator[tuple[str, dict | RecordError]]:
    reader = csv.DictReader(handle)
    missing = [f for f in ("id",) if f not in (reader.fieldnames or [])]
    if missing or not any(f in (reader.fieldnames or []) for f in TEXT_FIELDS):
        raise MedciteError(f"{path}: the header must name an `id` column and a `case` or `question` column")
    for row in reader:
        yield f"line {reader.line_num}", row


def _jsonl_rows(handle, path: Path) -> Iterator[tuple[str, dict | RecordError]]:
    for n, line in enumerate(handle, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            yield f"line {n}", RecordError(str(path), f"line {n}", f"not JSON ({exc.msg})")
            continue
        if not isinstance(row, dict):
            yield f"line {n}", RecordError(str(path), f"line {n}", "expected a JSON object")
            continue
        yield f"line {n}", row


def _case(row: dict, source: str, where: str) -> Case | RecordError:
    case_id = row.get("id")
    case_id = str(case_id).strip() if case_id is not None else ""
    text = next((str(row[f]).strip() for f in TEXT_FIELDS if row.get(f) not in (None, "")), "")
    if not case_id:
        return RecordError(source, where, "no `id`")
    if not text:
        return RecordError(source, f"{where} id={case_id}", "no `case` or `question` text")
    return Case(case_id, text)


# ---------------------------------------------------------------------- verdicts
def case_category(categories: list[str]) -> str:
    """Return the category of a case from its drugs' categories (the most serious; unclear when none)."""
    for name in SEVERITY:
        if name in categories:
            return name.value
    return ReviewCategory.UNCLEAR.value


def verdict_json(check: LabelCheck) -> dict[str, Any]:
    """Return the compact verdicts of one label check for a review result line."""
    return {
        "drug": check.drug,
        "category": check.category().value,
        "undecided": check.undecided(),
        "label": check.label,
        "indication": check.indication.status,
        "dose": {"status": check.dose.status, "labeled": check.dose.labeled, "prescribed": check.dose.prescribed},
        "frequency": {"status": check.frequency.status, "labeled": check.frequency.labeled, "prescribed": check.frequency.prescribed},
        "route": {"status": check.route.status, "labeled": check.route.labeled, "prescribed": check.route.prescribed},
        "alerts": [{"kind": a.kind, "trigger": a.trigger} for a in check.alerts],
    }


def review_result(case: Case, answer, full: bool = False) -> dict[str, Any]:
    """Return the output line of one case: id, category, per-drug verdicts (and the answer if `full`)."""
    verdicts = [verdict_json(c) for c in answer.label_checks]
    result = {
        "id": case.id,
        "category": case_category([v["category"] for v in verdicts]),
        "verdicts": verdicts,
        "corpus_version": answer.corpus_version,
        "settings_hash": answer.settings_hash,
    }
    if full:
        result["answer"] = answer.to_dict()
    return result


# ---------------------------------------------------------------------- output file
def read_results(out_path: str | Path) -> dict[str, dict[str, Any]]:
    """Return {id: result} of an output file (missing file: empty; a torn last line is ignored)."""
    out: dict[str, dict[str, Any]] = {}
    path = Path(out_path)
    if not path.exists():
        return out
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a killed run; its case is answered again
            if isinstance(row, dict) and "id" in row:
                out[str(row["id"])] = row
    return out


def _open_for_append(path: Path):
    """Open the output for appending, first cutting off a last line a killed run left unfinished."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size:
        with path.open("rb+") as raw:
            data = raw.read()
            if not data.endswith(b"\n"):
                raw.truncate(data.rfind(b"\n") + 1)
    return path.open("a", encoding="utf-8")


def run_review(
    store,
    cases_path: str | Path,
    out_path: str | Path,
    settings: Settings | None = None,
    ask_fn: Callable | None = None,
    full: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_case: Callable[[Case, str | None], None] | None = None,
    on_error: Callable[[str], None] | None = None,
) -> ReviewSummary:
    """Answer every case not yet in `out_path`, appending one JSON line each; return the summary.

    on_start(n) gets the number of cases left; on_case(case, category) is called after each
    (category None when it failed); on_error(line) gets each unreadable row or failed case.
    """
    if ask_fn is None:
        from medcite.limits import bounded_ask

        def ask_fn(store, text, settings=None):  # a case past the limits fails alone; the queue goes on
            return bounded_ask(store, text, settings or Settings())
    started = time.perf_counter()
    summary = ReviewSummary()
    out = Path(out_path)
    done = read_results(out)
    todo: list[Case] = []
    for item in read_cases(cases_path):
        if isinstance(item, RecordError):
            summary.errors.append(item.line())
            if on_error:
                on_error(item.line())
            continue
        summary.total += 1
        if item.id in done:
            summary.skipped += 1
        else:
            todo.append(item)
    if on_start:
        on_start(len(todo))
    with _open_for_append(out) as handle:
        for case in todo:
            try:
                answer = ask_fn(store, case.text, settings=settings)
            except MedciteError as exc:
                line = f"{cases_path} [id={case.id}]: {exc}"
                summary.failed += 1
                summary.errors.append(line)
                if on_error:
                    on_error(line)
                if on_case:
                    on_case(case, None)
                continue
            result = review_result(case, answer, full=full)
            handle.write(json.dumps(result, ensure_ascii=False, default=str) + "\n")
            # Flushed per case: a killed review loses at most the case it was writing.
            handle.flush()
            os.fsync(handle.fileno())
            done[case.id] = result
            summary.answered += 1
            if on_case:
                on_case(case, result["category"])
    counts = Counter(r.get("category", "unclear") for r in done.values())
    summary.categories = {c: counts.get(c, 0) for c in CATEGORIES}
    summary.seconds = time.perf_counter() - started
    return summary
