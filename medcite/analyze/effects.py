"""Effect sizes stated in research, label and guideline text: hazard / odds / risk ratios with their
95% confidence intervals and p values, median progression-free and overall survival, response
rates — each with the sentence it comes from, so that an answer can quote it and cite it.

Only what the sentence says is returned (numbers as written, no computation); a sentence with
no recognised effect yields nothing.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from medcite.analyze.label_text import sentence_spans

_NUM = r"(\d+(?:\.\d+)?|\.\d+)"
_DASH = r"\s*(?:–|—|−|-|to|,)\s*"
_ABBR = r"\s*(?:\([A-Za-z]+\)|\[[A-Za-z]+\])?"  # "hazard ratio [HR]", "confidence interval (CI)"
_RATIO = re.compile(
    r"\b(?P<kind>hazard\s+ratio|HR|odds\s+ratio|OR|relative\s+risk|risk\s+ratio|RR|aOR|aHR|adjusted\s+(?:hazard|odds)\s+ratio)"
    + _ABBR + r"\s*(?:[,:=]|was|of|for)?\s*(?:was|of|=|:)?\s*" + _NUM,
)
_CI = re.compile(r"95\s*%\s*(?:confidence\s+interval|CI)" + _ABBR + r"\s*[,:=]?\s*(?:was|of)?\s*[\[(]?\s*" + _NUM + _DASH + _NUM)
_P = re.compile(r"(?<![A-Za-z])[Pp]\s*(?:-?value)?\s*(?P<op><|>|=|≤|≥|<=|>=)\s*(?P<val>0?\.\d+|\d(?:\.\d+)?(?:\s*[x×]\s*10\s*-\s*\d+)?)")
_MEDIAN = re.compile(
    r"\bmedian\s+(?P<what>progression[- ]free\s+survival|PFS|overall\s+survival|OS|(?:disease|event|relapse|recurrence)[- ]free\s+survival|"
    r"DFS|EFS|time\s+to\s+(?:tumou?r\s+)?progression|TTP|duration\s+of\s+response|survival)"
    r"[^.;]{0,80}?" + _NUM + r"\s*(?P<unit>months?|mo|weeks?|wk|years?|days?)\b",
    re.IGNORECASE,
)
_RESPONSE = re.compile(
    r"\b(?P<what>(?:overall|objective|complete|partial|biochemical|clinical)?\s*response\s+rates?|ORR|disease\s+control\s+rate)"
    r"[^.;%]{0,60}?" + _NUM + r"\s*%",
    re.IGNORECASE,
)
_KIND_NAMES = {
    "hazard ratio": "HR", "hr": "HR", "ahr": "HR", "adjusted hazard ratio": "HR",
    "odds ratio": "OR", "or": "OR", "aor": "OR", "adjusted odds ratio": "OR",
    "relative risk": "RR", "risk ratio": "RR", "rr": "RR",
}
_MEDIAN_NAMES = {"pfs": "median PFS", "os": "median OS", "dfs": "median DFS", "efs": "median EFS", "ttp": "median TTP"}


@dataclass
class Effect:
    """One effect size: kind (HR, OR, RR, median PFS, median OS, response rate ...), the value as
    written, optional 95% CI bounds, p value and unit, and the sentence it was read from."""

    kind: str
    value: str
    sentence: str
    ci_low: str | None = None
    ci_high: str | None = None
    p: str | None = None
    unit: str | None = None

    def to_dict(self) -> dict:
        """Return the effect as a plain dict (the JSON shape of Answer.effect_sizes items)."""
        return asdict(self)


def _clean(sentence: str) -> str:
    # PDQ markdown italicises P ("*P* < .001"); the asterisks are markup, not text.
    return sentence.replace("*", "")


def effects_in_sentence(sentence: str) -> list[Effect]:
    """Return the effect sizes one sentence states, in order of appearance."""
    text = _clean(sentence)
    found: list[tuple[int, Effect]] = []
    p_match = _P.search(text)
    p_value = (p_match.group("op") + p_match.group("val")).replace(" ", "") if p_match else None
    ratios = list(_RATIO.finditer(text))
    for i, m in enumerate(ratios):
        raw = m.group("kind")
        # "OR" is also the conjunction; as a ratio it is written in capitals right before a number.
        if raw == "OR" and not re.match(r"OR\s*[,:=(]?\s*(?:was\s+|of\s+)?\d", text[m.start():]):
            continue
        kind = _KIND_NAMES.get(" ".join(raw.lower().split()), raw.upper())
        # the p value of a ratio is the one written after it, before the next ratio
        stop = ratios[i + 1].start() if i + 1 < len(ratios) else len(text)
        own_p = _P.search(text, m.end(), stop)
        p = (own_p.group("op") + own_p.group("val")).replace(" ", "") if own_p else (p_value if len(ratios) == 1 else None)
        eff = Effect(kind=kind, value=m.group(2), sentence=sentence.strip(), p=p)
        ci = _CI.search(text, m.end(), m.end() + 80)
        if ci:
            eff.ci_low, eff.ci_high = ci.group(1), ci.group(2)
        found.append((m.start(), eff))
    for m in _MEDIAN.finditer(text):
        what = " ".join(m.group("what").lower().split())
        kind = _MEDIAN_NAMES.get(what, "median " + what.replace("-", " "))
        if kind == "median progression free survival":
            kind = "median PFS"
        elif kind == "median overall survival":
            kind = "median OS"
        found.append((m.start(), Effect(kind=kind, value=m.group(2), unit=m.group("unit"), sentence=sentence.strip(), p=p_value)))
    for m in _RESPONSE.finditer(text):
        what = " ".join(m.group("what").lower().split()) or "response rate"
        found.append((m.start(), Effect(kind=what.rstrip("s") if what.endswith("rates") else what, value=m.group(2),
                                        unit="%", sentence=sentence.strip(), p=p_value)))
    found.sort(key=lambda pair: pair[0])
    return [eff for _, eff in found]


def extract_effects(text: str) -> list[Effect]:
    """Return every effect size stated in `text` (split into sentences), with its sentence."""
    out: list[Effect] = []
    for s, e in sentence_spans(text):
        out.extend(effects_in_sentence(text[s:e]))
    return out
