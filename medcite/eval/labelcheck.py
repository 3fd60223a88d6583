"""`medcite eval labelcheck FILE`: score the label check on a benchmark of vignettes.

A case is one JSON object a line (`../shared/benchmarks/label-check/README.md`): `id`, `set_id`
(the label that must be chosen, null when none is held), `drug`, `text`, `expect` (a subset of
`indication`, `dose`, `frequency`, `route`, `alerts_must_mention`), `category`, `basis`.
Each case runs through the product's own path (case facts -> `check_case`), the check of the
case's drug is compared field by field, and the result keeps per-field accuracy, a confusion
matrix per field, the unsafe count (expected mismatch / not_indicated / off_label, got matches /
on_label) and every failing case with the basis it missed.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medcite.records import IndicationStatus, LabelCheck, RecordError, RegimenStatus

FIELDS = ("indication", "dose", "frequency", "route")
ALERTS = "alerts"
UNSAFE_EXPECTED = {RegimenStatus.MISMATCH, IndicationStatus.NOT_INDICATED, IndicationStatus.OFF_LABEL}
UNSAFE_GOT = {RegimenStatus.MATCHES, IndicationStatus.ON_LABEL}
NONE = "none"  # no check came back for the case's drug


@dataclass
class CaseResult:
    """One benchmark case as the label check decided it."""

    id: str
    category: str
    expected: dict[str, Any]
    got: dict[str, str]
    alert_text: str
    label_ok: bool
    seconds: float
    failures: list[str] = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)
    basis: list[dict] = field(default_factory=list)
    text: str = ""

    @property
    def correct(self) -> bool:
        return not self.failures


@dataclass
class LabelCheckScore:
    """The benchmark's totals (see module docstring)."""

    cases: list[CaseResult]

    def field_counts(self) -> dict[str, tuple[int, int]]:
        """Return {field: (right, scored)} for the four verdicts and the alerts."""
        out: dict[str, tuple[int, int]] = {}
        for name in (*FIELDS, ALERTS):
            scored = [c for c in self.cases if _scored(c, name)]
            right = [c for c in scored if name not in c.failures]
            out[name] = (len(right), len(scored))
        return out

    def confusion(self) -> dict[str, dict[str, dict[str, int]]]:
        """Return {field: {expected: {got: n}}}."""
        out: dict[str, dict[str, Counter]] = {f: defaultdict(Counter) for f in FIELDS}
        for c in self.cases:
            for f in FIELDS:
                if f in c.expected:
                    out[f][c.expected[f]][c.got.get(f, NONE)] += 1
        return {f: {e: dict(g) for e, g in m.items()} for f, m in out.items()}

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape of `medcite eval labelcheck --json`."""
        secs = sorted(c.seconds for c in self.cases) or [0.0]
        return {
            "cases": len(self.cases),
            "correct": sum(c.correct for c in self.cases),
            "label_chosen": sum(c.label_ok for c in self.cases),
            "unsafe": sum(len(c.unsafe) for c in self.cases),
            "fields": {f: {"right": r, "scored": n} for f, (r, n) in self.field_counts().items()},
            "confusion": self.confusion(),
            "seconds_p50": secs[len(secs) // 2],
            "seconds_p95": secs[min(len(secs) - 1, int(0.95 * len(secs)))],
            "failures": [
                {"id": c.id, "category": c.category, "text": c.text, "expected": c.expected, "got": c.got,
                 "failed": c.failures, "unsafe": c.unsafe, "alert_text": c.alert_text, "basis": c.basis}
                for c in self.cases if not c.correct
            ],
        }


def _scored(c: CaseResult, name: str) -> bool:
    if name == ALERTS:
        return bool(c.expected.get("alerts_must_mention"))
    return name in c.expected


def read_cases(path: str | Path) -> Iterable[dict | RecordError]:
    """Yield the benchmark's cases; a line that is not a JSON case gives a RecordError."""
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                case = json.loads(line)
            except json.JSONDecodeError as e:
                yield RecordError(str(path), f"line {n}", f"not JSON: {e.msg}")
                continue
            if not isinstance(case, dict) or not case.get("text") or not isinstance(case.get("expect"), dict):
                yield RecordError(str(path), f"line {n}", "a case needs 'text' and an 'expect' object")
                continue
            yield case


def _pick(checks: list[LabelCheck], case: dict) -> LabelCheck | None:
    """Return the check of the case's drug: by the expected label, else by name, else the first."""
    set_id = case.get("set_id")
    for c in checks:
        if set_id and c.label and c.label.get("set_id") == set_id:
            return c
    drug_words = set(str(case.get("drug", "")).lower().split())
    for c in checks:
        if set(c.drug.lower().split()) & drug_words:
            return c
    return checks[0] if checks else None


def score_case(case: dict, checks: list[LabelCheck], seconds: float) -> CaseResult:
    """Compare the checks of one case with what the case expects."""
    check = _pick(checks, case)
    expect = case["expect"]
    got: dict[str, str] = {}
    alert_text = ""
    if check is not None:
        got = {"indication": str(check.indication.status), "dose": str(check.dose.status),
               "frequency": str(check.frequency.status), "route": str(check.route.status)}
        alert_text = " ".join(f"{a.trigger} {a.text}" for a in check.alerts)
    set_id = case.get("set_id")
    label_ok = (check is not None and ((check.label or {}).get("set_id") == set_id if set_id else check.label is None))
    result = CaseResult(case.get("id", "?"), case.get("category", ""), expect, got, alert_text, label_ok, seconds,
                        basis=case.get("basis") or [], text=case["text"])
    for f in FIELDS:
        if f not in expect:
            continue
        if got.get(f, NONE) != expect[f]:
            result.failures.append(f)
            if expect[f] in UNSAFE_EXPECTED and got.get(f) in UNSAFE_GOT:
                result.unsafe.append(f)
    needed = [s.lower() for s in expect.get("alerts_must_mention") or []]
    if any(s not in alert_text.lower() for s in needed):
        result.failures.append(ALERTS)
    return result


def evaluate_labelcheck(store, cases: Iterable[dict], progress: Callable[[int], Any] | None = None) -> LabelCheckScore:
    """Run every case through the label check and score it."""
    from medcite.analyze.concordance import check_text

    results = []
    for case in cases:
        t0 = time.perf_counter()
        checks = [dc.check for dc in check_text(store, case["text"])]
        results.append(score_case(case, checks, time.perf_counter() - t0))
        if progress:
            progress(1)
    return LabelCheckScore(results)
