"""Regimen parsing: doses, frequencies, routes and durations found in text, normalised.

Used on case text by `medcite.analyze.facts` and usable on label text ("1,250 mg/m 2 twice daily
orally"), so a case and a label compare on the same normal forms:
- Dose: value + canonical unit ("mcg" for µg/ug, "mg/m2" for mg/m², "IU" for international units).
- Frequency: `times` doses every `per_days` days; q8h == "three times daily" == 3 per 1 day;
  "every 4 weeks" == "q4w" == "every 28 days" == 1 per 28 days. The canonical `text` is derived
  from the numbers, so two frequencies with the same numbers have the same text.
- Route: the openFDA route vocabulary in lower case.
- Duration: "for 14 days", "x 6 cycles", "for a total of 4 doses".
"""

from __future__ import annotations

import re
from collections.abc import Callable

from medcite.records import Dose, Duration, Frequency, Route

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "once": 1, "twice": 2, "thrice": 3,
}
NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"
_NUMW = NUM + "|" + "|".join(_NUMBER_WORDS)
DAYS_PER = {"hour": 1 / 24, "day": 1.0, "week": 7.0, "month": 30.0, "year": 365.0}


def number(text: str) -> float:
    """Return the value of "1,250", "7.4", "two" or "twice"."""
    t = text.strip().lower()
    if t in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[t])
    return float(t.replace(",", ""))


def _unit_word(word: str) -> str:
    w = word.lower().rstrip("s").rstrip(".")
    return {"h": "hour", "hr": "hour", "d": "day", "w": "week", "wk": "week", "mo": "month", "m": "month", "y": "year", "yr": "year"}.get(w, w)


# ---------------------------------------------------------------- doses

# Order matters: longer units first. Each alternative maps to its canonical unit.
_UNITS: list[tuple[str, str]] = [
    (r"mg\s*/\s*m\s?(?:2|²)", "mg/m2"),
    (r"(?:mcg|µg|μg|ug)\s*/\s*m\s?(?:2|²)", "mcg/m2"),
    (r"mg\s*/\s*kg", "mg/kg"),
    (r"(?:mcg|µg|μg|ug)\s*/\s*kg", "mcg/kg"),
    (r"units?\s*/\s*kg", "units/kg"),
    (r"international\s+units?", "IU"),
    (r"IU", "IU"),
    (r"mcg|µg|μg|ug", "mcg"),
    (r"mg", "mg"),
    (r"GBq", "GBq"),
    (r"MBq", "MBq"),
    (r"mCi", "mCi"),
    (r"mEq", "mEq"),
    (r"mmol", "mmol"),
    (r"m[lL]", "mL"),
    (r"units?", "units"),
    (r"g", "g"),
]
_UNIT_RE = "|".join(f"(?P<u{i}>{pat})" for i, (pat, _) in enumerate(_UNITS))
# A daily total ("400 mg/day"); any other "/x" ("mg/dL", "mL/min") is a lab value, not a dose.
_DOSE = re.compile(
    rf"(?<![\w.,])(?P<v>{NUM})(?:\s*(?:-|–|to)\s*(?P<v2>{NUM}))?\s*(?:{_UNIT_RE})"
    rf"(?P<per>\s*/\s*(?:day|d|24\s*h(?:ours)?)\b)?(?![\w/²])",
    re.IGNORECASE,
)


def find_doses(text: str) -> list[Dose]:
    """Return the doses in `text` (value + canonical unit), in text order."""
    out: list[Dose] = []
    for m in _DOSE.finditer(text):
        unit = next(_UNITS[int(k[1:])][1] for k, v in m.groupdict().items() if k.startswith("u") and v)
        if m.group("per"):
            unit += "/day"
        out.append(
            Dose(
                value=number(m.group("v")),
                unit=unit,
                text=m.group(0),
                start=m.start(),
                end=m.end(),
                value_max=number(m.group("v2")) if m.group("v2") else None,
            )
        )
    return out


# A count of dose units ("1 capsule", "two tablets"): the dose of a label or an order that gives
# no amount, compared only with another count of the same unit.
_COUNT = re.compile(r"(?<![\w.,/])(?P<v>\d+|one|two|three|four)\s+(?P<u>capsule|tablet|cap|tab)s?\b", re.IGNORECASE)
_COUNT_UNIT = {"cap": "capsule", "tab": "tablet"}
_STRENGTH_PAIR = re.compile(r"\d+(?:\.\d+)?\s*(?:mg|mcg)\s*/\s*$", re.IGNORECASE)  # "20 mg/10 mg": a combination product's strength


def find_counts(text: str) -> list[Dose]:
    """Return the counts of capsules or tablets in `text` ("2 capsules" -> 2 "capsule"), in text order."""
    return [Dose(number(m.group("v")), _COUNT_UNIT.get(m.group("u").lower(), m.group("u").lower()), m.group(0), m.start(), m.end())
            for m in _COUNT.finditer(text)]


def order_doses(text: str) -> list[Dose]:
    """Return the doses of an order text: amounts, and counts of capsules or tablets where no
    amount goes with them. After a combination product's strength ("20 mg/10 mg, 1 capsule") the
    count is the dose, since the strength names two drugs; beside one amount ("100 mg, 2
    tablets", "2 tablets (10 mg)") the amount is."""
    doses = find_doses(text)
    out: list[Dose] = []
    for c in find_counts(text):
        if any(d.start <= c.start < d.end for d in doses):
            continue
        before = next((d for d in doses if d.end <= c.start and re.fullmatch(r"[\s,(]*", text[d.end : c.start])), None)
        after = next((d for d in doses if d.start >= c.end and re.fullmatch(r"[\s,(]*", text[c.end : d.start])), None)
        pair = _STRENGTH_PAIR.search(text[max(0, before.start - 16) : before.start]) if before is not None else None
        if pair is not None:
            doses.remove(before)
            begin = max(0, before.start - 16) + pair.start()
            out.append(Dose(c.value, c.unit, text[begin : c.end], begin, c.end))
        elif before is None and after is None:
            out.append(c)
    return sorted(doses + out, key=lambda d: d.start)


# ---------------------------------------------------------------- frequencies


def canonical_frequency(times: int, per_days: float) -> str:
    """Return the canonical wording of `times` doses every `per_days` days."""
    if per_days == 1:
        words = {1: "once daily", 2: "twice daily", 3: "three times daily", 4: "four times daily"}
        return words.get(times, f"{times} times daily")
    if times == 1:
        if per_days < 1:
            hours = round(per_days * 24, 2)
            return f"every {hours:g} hours"
        if per_days == 7:
            return "once weekly"
        if per_days % 7 == 0:
            return f"every {int(per_days // 7)} weeks"
        if per_days == 30:
            return "monthly"
        if per_days % 30 == 0:
            return f"every {int(per_days // 30)} months"
        return f"every {per_days:g} days"
    if per_days == 7:
        return f"{times} times weekly" if times != 2 else "twice weekly"
    return f"{times} times every {per_days:g} days"


def _every(n: float, unit: str) -> tuple[int, float]:
    per = n * DAYS_PER[unit]
    if unit == "hour" and n > 0 and 24 % n == 0:
        return int(24 // n), 1.0  # q8h: three doses a day
    return 1, per


_PERIOD = r"(?:daily|a\s+day|per\s+day|each\s+day|every\s+day|/\s*day)"
_WEEKLY = r"(?:weekly|a\s+week|per\s+week|each\s+week|every\s+week|/\s*week)"
_FREQ_PATTERNS: list[tuple[str, Callable[[re.Match[str]], tuple[int, float] | None]]] = [
    # q8h, q 12 h, q.12h, q24h; q4w, q3wk, q2wks; q14d; every 8 hours / 3 weeks / 28 days / 3 months
    (r"\bq\.?\s?(?P<n>\d+(?:\.\d+)?)\s?(?P<u>h|hr|hrs|hours?|d|days?|w|wk|wks|weeks?|mo|months?)\b\.?",
     lambda m: _every(number(m["n"]), _unit_word(m["u"]))),
    (rf"\bevery\s+(?P<n>{_NUMW})(?:\s*(?:-|–|to)\s*(?:{NUM}))?\s*(?P<u>hours?|hrs?|h|days?|weeks?|wks?|months?|years?)\b",
     lambda m: _every(number(m["n"]), _unit_word(m["u"]))),
    (r"\bevery\s+other\s+(?P<u>day|week|month)\b", lambda m: _every(2, _unit_word(m["u"]))),
    (rf"\b(?:once|1\s*time)\s+{_PERIOD}", lambda m: (1, 1.0)),
    (rf"\b(?:twice|two\s+times|2\s*times)\s+{_PERIOD}", lambda m: (2, 1.0)),
    (rf"\b(?P<n>three|four|five|six|[3-9])\s*times\s+{_PERIOD}", lambda m: (int(number(m["n"])), 1.0)),
    (r"\b(?:once[\s-])?daily\b|\bevery\s+(?:day|morning|evening|night)\b|\bnightly\b|\bat\s+bedtime\b",
     lambda m: (1, 1.0)),
    (r"(?i:\bq\.?d\.?(?!\w)|\bqhs\b|\bq\.?am\b|\bq\.?pm\b)", lambda m: (1, 1.0)),
    (r"(?i:\bb\.?i\.?d\.?(?!\w))", lambda m: (2, 1.0)),
    (r"(?i:\bt\.?i\.?d\.?(?!\w))", lambda m: (3, 1.0)),
    (r"(?i:\bq\.?i\.?d\.?(?!\w))", lambda m: (4, 1.0)),
    (rf"\b(?:once\s+)?{_WEEKLY}|\bq\.?\s?wk?\b", lambda m: (1, 7.0)),
    (rf"\b(?P<n>twice|two|three|four|[2-7])\s*(?:times\s+)?{_WEEKLY}", lambda m: (int(number(m["n"])), 7.0)),
    (r"\b(?:once[\s-])?monthly\b|\bonce\s+(?:a|per|every)\s+month\b|\bevery\s+month\b", lambda m: (1, 30.0)),
    (r"\b(?:once[\s-])?(?:yearly|annually)\b|\bonce\s+(?:a|per)\s+year\b", lambda m: (1, 365.0)),
    (r"\b(?:as\s+needed|when\s+needed|p\.?r\.?n\.?(?!\w))", lambda m: None),
]
_FREQ = [(re.compile(p, re.IGNORECASE), f) for p, f in _FREQ_PATTERNS]


def _frequency(m: re.Match[str], parsed: tuple[int, float] | None) -> Frequency:
    if parsed is None:
        return Frequency(None, None, None, "as needed", m.group(0), m.start(), m.end(), as_needed=True)
    times, per_days = parsed
    return Frequency(
        times=times,
        per_days=per_days,
        interval_days=round(per_days / times, 6),
        text=canonical_frequency(times, per_days),
        as_written=m.group(0),
        start=m.start(),
        end=m.end(),
    )


def find_frequencies(text: str) -> list[Frequency]:
    """Return the dosing frequencies in `text`, longest match first where they overlap, in text order.

    A frequency restated in parentheses right after another ("monthly (every 4 weeks)") is one
    frequency with the parenthesis's (more precise) numbers."""
    found: list[Frequency] = []
    for rx, parse in _FREQ:
        for m in rx.finditer(text):
            found.append(_frequency(m, parse(m)))
    found.sort(key=lambda f: (f.start - f.end, f.start))
    kept: list[Frequency] = []
    for f in found:
        if not any(f.start < k.end and k.start < f.end for k in kept):
            kept.append(f)
    kept.sort(key=lambda f: f.start)
    merged: list[Frequency] = []
    for f in kept:
        prev = merged[-1] if merged else None
        if prev is not None and re.fullmatch(r"\s*\(\s*", text[prev.end : f.start]) and re.match(r"\s*\)", text[f.end :]):
            close = f.end + text[f.end :].index(")") + 1
            f.start, f.end = prev.start, close
            f.as_written = text[prev.start : close]
            merged[-1] = f
            continue
        merged.append(f)
    return merged


# ---------------------------------------------------------------- routes

_ROUTES: list[tuple[str, str, bool]] = [
    # (pattern, canonical openFDA route, case-sensitive)
    (r"\b(?P<deep>deep\s+)?(?:subcutaneous(?:ly)?|sub-cutaneous(?:ly)?|subq)\b|\bs\.c\.(?!\w)", "subcutaneous", False),
    (r"\b(?:SC|SQ)\b", "subcutaneous", True),
    (r"\bintravenous(?:ly)?\b|\bi\.v\.(?!\w)", "intravenous", False),
    (r"(?<!stage )(?<!grade )(?<!class )(?<!type )(?<!phase )(?<!Stage )(?<!Grade )(?<!Class )(?<!Type )(?<!Phase )\bIV\b", "intravenous", True),
    (r"\bintramuscular(?:ly)?\b|\bi\.m\.(?!\w)", "intramuscular", False),
    (r"\bIM\b", "intramuscular", True),
    (r"\borally\b|\boral\b|\bby\s+mouth\b|\bper\s+os\b|\bp\.o\.(?!\w)", "oral", False),
    (r"\bPO\b", "oral", True),
    (r"\bintravitreal(?:ly)?\b", "intravitreal", False),
    (r"\bintrathecal(?:ly)?\b", "intrathecal", False),
    (r"\btopical(?:ly)?\b", "topical", False),
    (r"\btransdermal(?:ly)?\b", "transdermal", False),
    (r"\bsublingual(?:ly)?\b", "sublingual", False),
    (r"\brectal(?:ly)?\b|\bper\s+rectum\b", "rectal", False),
    (r"\binhaled\b|\binhalation\b|\bnebuli[sz]ed\b", "respiratory (inhalation)", False),
    (r"\bintranasal(?:ly)?\b|\bnasal\s+spray\b", "nasal", False),
    (r"\bintradermal(?:ly)?\b", "intradermal", False),
]
_ROUTE = [(re.compile(p, 0 if cs else re.IGNORECASE), name) for p, name, cs in _ROUTES]


def find_routes(text: str) -> list[Route]:
    """Return the routes of administration in `text`, in text order (canonical openFDA names)."""
    out: list[Route] = []
    for rx, name in _ROUTE:
        for m in rx.finditer(text):
            deep = m.groupdict().get("deep")
            if any(m.start() < r.end and r.start < m.end() for r in out):
                continue
            out.append(Route(name, m.group(0), m.start(), m.end(), "deep" if deep else None))
    out.sort(key=lambda r: r.start)
    return out


# ---------------------------------------------------------------- durations

_DURATION = re.compile(
    rf"\b(?:for|during|over)\s+(?:a\s+total\s+of\s+|up\s+to\s+|at\s+least\s+|the\s+(?:first|next|last)\s+)?"
    rf"(?P<n>{_NUMW})\s*(?P<u>days?|weeks?|months?|years?|cycles?|doses?|injections?|infusions?)\b"
    rf"|(?<![\w])[x×]\s*(?P<n2>{NUM})\s*(?P<u2>days?|weeks?|months?|cycles?|doses?)\b",
    re.IGNORECASE,
)


def find_durations(text: str) -> list[Duration]:
    """Return the treatment durations in `text` ("for 14 days", "x 6 cycles"), in text order."""
    out: list[Duration] = []
    for m in _DURATION.finditer(text):
        n = number(m["n"] or m["n2"])
        unit = _unit_word(m["u"] or m["u2"])
        if unit in ("injection", "infusion"):
            unit = "dose"
        days = n * DAYS_PER[unit] if unit in DAYS_PER else None
        out.append(Duration(n, unit + "s", days, m.group(0), m.start(), m.end()))
    return out
