"""Label alerts about the patient's body: renal function (CrCl / eGFR against the label's
thresholds, CKD stage, ESRD, dialysis), hepatic function (Child-Pugh class or score, cirrhosis),
age against the ages a sentence names, pregnancy and its weeks ("at term", "starting at 30
weeks"), breastfeeding, QTc and potassium.

A sentence that names a threshold or a class is an alert only when the case's value is in it
("CLcr 30 to 50 mL/min" for CrCl 42; "Child-Pugh B or C" for class B); a sentence about another
severity is not ("no adjustment for mild impairment"); a sentence that only names the topic
("patients with renal impairment") is a loose hit, taken when nothing exact is found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from medcite.analyze.label_alert_search import (
    ACTION,
    NEEDS_COMED,
    SEVERE,
    Context,
    Hit,
    RawAlert,
    Test,
    age_groups,
    live,
)
from medcite.analyze.label_text import EXCLUDING, strip_heading
from medcite.records import AlertKind, CaseFacts

# ---------------------------------------------------------------- renal and hepatic function

_RENAL = re.compile(r"\b(?:e?CrCl|e?CLcr|e?CL\s?cr|creatinine\s+clearance|e?GFR|glomerular\s+filtration|renal|kidney|"
                    r"dialysis|hemodialysis|ESRD|ESKD|end[\s-]stage)\b", re.IGNORECASE)
_RENAL_TOPIC = re.compile(r"\b(?:renal|kidney)\s+(?:impairment|insufficiency|dysfunction|disease|function)|\bCrCl|\bCLcr|\bCL\s?cr|"
                          r"\bcreatinine\s+clearance|\beGFR", re.IGNORECASE)
_END_STAGE = re.compile(r"\b(?:hemo|haemo|peritoneal\s+)?dialy\w*|\bESRD\b|\bESKD\b|\bend[\s-]stage\s+(?:renal|kidney)", re.IGNORECASE)
_ML_MIN = r"\s*(?:mL|ml)\s*(?:/|per)\s*min(?:ute)?"
_NUMBER = r"(\d+(?:\.\d+)?)"
_RANGE = re.compile(_NUMBER + r"\s*(?:to|-|–|and)\s*(?:<\s*|less\s+than\s+)?" + _NUMBER + _ML_MIN, re.IGNORECASE)
_BELOW = re.compile(r"(?:<|≤|less\s+than|below|under|lower\s+than|no\s+more\s+than|at\s+most|up\s+to)\s*(?:or\s+equal\s+to\s*)?"
                    + _NUMBER + _ML_MIN, re.IGNORECASE)
_ABOVE = re.compile(r"(?:>|≥|greater\s+than|above|over|at\s+least|more\s+than)\s*(?:or\s+equal\s+to\s*)?" + _NUMBER + _ML_MIN,
                    re.IGNORECASE)
# A table flattened to text states the unit once, in its header: "Creatinine Clearance (mL/min) ... 15–30 ..."
_BARE_RANGE = re.compile(r"(?<![\d.])" + _NUMBER + r"\s*(?:to|-|–)\s*" + _NUMBER
                         + r"(?![\d.])(?!\s*(?:mg|mcg|g\b|%|days?|hours?|weeks?|years?))")
_BARE_BELOW = re.compile(r"\b(?:below|less\s+than|under|<)\s*" + _NUMBER + r"(?![\d.])(?!\s*(?:mg|mcg|%|years?))", re.IGNORECASE)
_SEVERITY_OF = (r"(?P<s>(?:mild|moderate|severe)"
                r"(?:(?:\s*,\s*|\s+(?:or|and|to|and/or)\s+|\s*-\s*)(?:mild|moderate|severe|moderately\s+severe))*)")
_RENAL_SEVERITY = re.compile(_SEVERITY_OF + r"\s+(?:chronic\s+)?(?:renal|kidney)\b", re.IGNORECASE)
_TYPICAL_CRCL = {"esrd": 10.0, "severe": 22.0, "moderate": 45.0, "mild": 75.0}
_MINE = {"esrd": {"severe"}, "severe": {"severe"}, "moderate": {"moderate"}, "mild": {"mild"}}

_HEPATIC_TOPIC = re.compile(r"\b(?:hepatic|liver)\s+(?:impairment|insufficiency|dysfunction|disease|cirrhosis)|\bChild[\s-]*Pugh|"
                            r"\bcirrho", re.IGNORECASE)
_CP_CLASSES = re.compile(r"Child[\s-]*Pugh[\s-]*(?:class(?:es)?|score|grade|category|[\s-])*(?P<l>[ABC](?:\s*(?:,|or|and|to|-|/)\s*"
                         r"(?:class\s+)?[ABC])*)\b", re.IGNORECASE)
_CP_SCORE = re.compile(r"Child[\s-]*Pugh[\s-]*(?:score|points?)?\s*(?:of\s*)?(?P<a>\d{1,2})\s*(?:to|-|–)\s*(?P<b>\d{1,2})",
                       re.IGNORECASE)
_HEPATIC_SEVERITY = re.compile(_SEVERITY_OF + r"\s+(?:hepatic|liver)\b", re.IGNORECASE)
_CP_SEVERITY = {"A": "mild", "B": "moderate", "C": "severe"}
_CP_SCORES = {"A": 5.5, "B": 8.0, "C": 12.0}


@dataclass
class Organ:
    """The case's renal or hepatic function: a number (CrCl / eGFR), a severity, a Child-Pugh
    class, dialysis, and the case's words for it."""

    words: str
    severity: str | None = None  # mild | moderate | severe | esrd
    value: float | None = None
    child_pugh: str | None = None
    dialysis: bool = False


def _severity_of_clearance(v: float) -> str | None:
    return "esrd" if v < 15 else "severe" if v < 30 else "moderate" if v < 60 else "mild" if v < 90 else None


def renal_state(facts: CaseFacts) -> Organ | None:
    """Return the case's renal function, None when the case says nothing about it (or it is normal)."""
    p = facts.patient
    said = [f for f in p.findings if f.kind in ("crcl", "egfr", "esrd", "dialysis", "renal_impairment") and not f.negated]
    ckd = [c for c in facts.conditions if not c.negated and re.search(r"kidney|renal|nephropathy", c.name)]
    value = p.crcl_ml_min if p.crcl_ml_min is not None else p.egfr
    stage = max((int(c.stage[0]) for c in ckd if c.stage and c.stage[0].isdigit()), default=None)
    if p.esrd or p.dialysis or stage == 5:
        severity: str | None = "esrd"
    elif value is not None:
        severity = _severity_of_clearance(value)
    else:
        by_stage = {4: "severe", 3: "moderate"}.get(stage or 0)
        severity = by_stage or next((f.value for f in said if f.kind == "renal_impairment"), None)
    if severity is None:
        return None
    # a clearance is named in one form ("CrCl 40 mL/min") whatever the case's wording
    named = {"crcl": "CrCl {:g} mL/min", "egfr": "eGFR {:g} mL/min/1.73 m2"}
    parts = sorted([(c.start, f"{c.text} stage {c.stage}" if c.stage else c.text) for c in ckd]
                   + [(f.start, named[f.kind].format(f.value) if f.kind in named else f.text) for f in said])
    return Organ(", ".join(dict.fromkeys(t for _, t in parts)) or "renal impairment", severity, value, dialysis=bool(p.dialysis))


def _clearance_ranges(text: str) -> tuple[list[tuple[float, float, int, int]], bool]:
    """Return the creatinine-clearance ranges (low, high, start, end) at or below which a sentence
    speaks, and whether it names any threshold at all ("CrCl > 50 mL/min" describes better function)."""
    out = [(float(m[1]), float(m[2]), m.start(), m.end()) for m in _RANGE.finditer(text)]
    out += [(0.0, float(m[1]) - (0 if re.search(r"equal|≤|up\s+to", m.group(0)) else 1e-6), m.start(), m.end())
            for m in _BELOW.finditer(text)]
    if not out and re.search(r"\(\s*m[lL]\s*/\s*min", text):
        out += [(float(m[1]), float(m[2]), m.start(), m.end()) for m in _BARE_RANGE.finditer(text)]
        out += [(0.0, float(m[1]) - 1e-6, m.start(), m.end()) for m in _BARE_BELOW.finditer(text)]
    return out, bool(out or _ABOVE.search(text))


def _named_severities(pattern: re.Pattern[str], text: str) -> tuple[set[str], int, int] | None:
    found = [(m, set(re.findall(r"mild|moderate|severe", m["s"].lower()))) for m in pattern.finditer(text)]
    if not found:
        return None
    return set().union(*(s for _, s in found)), found[0][0].start(), found[0][0].end()


def _renal_test(organ: Organ) -> Test:
    def test(text: str, kind: AlertKind) -> Hit | None:
        if not _RENAL.search(text):
            return None
        end_stage = _END_STAGE.search(text)
        if end_stage and organ.severity == "esrd":
            return Hit(3, end_stage.start(), end_stage.end())
        ranges, thresholds = _clearance_ranges(text)
        value = organ.value if organ.value is not None else _TYPICAL_CRCL[organ.severity or "mild"]
        if thresholds:
            hit = next((r for r in ranges if r[0] <= value <= r[1]), None)
            return Hit(3, hit[2], hit[3]) if hit else None
        named = _named_severities(_RENAL_SEVERITY, text)
        if named:
            return Hit(2, named[1], named[2]) if named[0] & _MINE[organ.severity or "mild"] else None
        topic = _RENAL_TOPIC.search(text)
        # a sentence about ESRD or dialysis alone is for those patients only
        return Hit(1, topic.start(), topic.end()) if topic and not end_stage and organ.severity != "mild" else None

    return test


def hepatic_state(facts: CaseFacts) -> Organ | None:
    """Return the case's hepatic function (Child-Pugh class, severity, cirrhosis), None when not said."""
    p = facts.patient
    said = [f for f in p.findings if f.kind in ("child_pugh", "hepatic_impairment") and not f.negated]
    liver = [c for c in facts.conditions
             if not c.negated and re.search(r"cirrho|hepatic\s+(?:impairment|insufficiency)|liver\s+disease", c.name)]
    if not said and not liver:
        return None
    parts = sorted([(c.start, c.text) for c in liver] + [(f.start, f.text) for f in said])
    severity = p.hepatic_impairment or _CP_SEVERITY.get(p.child_pugh or "")
    return Organ(", ".join(dict.fromkeys(t for _, t in parts)), severity, child_pugh=p.child_pugh)


def _hepatic_test(organ: Organ) -> Test:
    def test(text: str, kind: AlertKind) -> Hit | None:
        topic = _HEPATIC_TOPIC.search(text)
        if topic is None:
            return None
        classes = [(set(re.findall(r"[ABC]", m["l"].upper())), m) for m in _CP_CLASSES.finditer(text)]
        scores = [(float(m["a"]), float(m["b"]), m) for m in _CP_SCORE.finditer(text)]
        if organ.child_pugh and (classes or scores):
            m = next((m for letters, m in classes if organ.child_pugh in letters), None)
            m = m or next((m for a, b, m in scores if a <= _CP_SCORES[organ.child_pugh] <= b), None)
            return Hit(3, m.start(), m.end()) if m else None
        named = _named_severities(_HEPATIC_SEVERITY, text)
        if named and organ.severity:
            return Hit(2, named[1], named[2]) if organ.severity in named[0] else None
        cirrhosis = re.search(r"\bcirrho\w*", text, re.IGNORECASE)
        if cirrhosis and "cirrho" in organ.words.lower():
            return Hit(2, cirrhosis.start(), cirrhosis.end())
        return Hit(1, topic.start(), topic.end())

    return test


def organ_alerts(ctx: Context) -> list[RawAlert]:
    """Return the alerts of the case's renal and hepatic function."""
    out: list[RawAlert] = []
    renal, hepatic = renal_state(ctx.facts), hepatic_state(ctx.facts)
    if renal is not None:
        out += ctx.find(renal.words, _renal_test(renal), reports=True)
    if hepatic is not None:
        out += ctx.find(hepatic.words, _hepatic_test(hepatic), reports=True)
    return out


# ---------------------------------------------------------------- age, pregnancy, lactation, labs

_RISK = re.compile(r"\bincreased\s+risk|\bhigher\s+risk|\bgreater\s+risk|\bfatal|\bdeaths?\b|\blife-threatening|\bmore\s+likely",
                   re.IGNORECASE)
_PREGNANCY = re.compile(r"\bpregnan|\bembryo-?fetal\b|\bfetal\s+(?:harm|toxicity|death)\b|\bteratogen|\bfetus\b", re.IGNORECASE)
_CAPS_RUN = re.compile(r"\b[A-Z][A-Z\-,:;&]+(?:\s+[A-Z][A-Z\-,:;&]+){2,}")
# Gestational windows a label names, with the week they start.
_WINDOWS = [(re.compile(p, re.IGNORECASE), w) for p, w in (
    (r"\bat\s+term\b|\bduring\s+labou?r|\blabou?r\s+(?:and|or)\s+delivery|\bprior\s+to\s+delivery", 37),
    (r"\bnear\s+term\b", 34), (r"\bthird\s+trimester|\blate\s+(?:in\s+)?pregnancy", 28), (r"\bsecond\s+trimester", 14),
)]
_WEEKS_ON = re.compile(r"\b(?:starting|beginning|from|after|at|beyond)\s+(?:at\s+|about\s+|approximately\s+)?(?P<w>\d{2})\s+weeks|"
                       r"\b(?P<w2>\d{2})\s+weeks\s+(?:of\s+)?(?:gestation|pregnancy)?\s*(?:or\s+later|and\s+later|onward)", re.IGNORECASE)
_LACTATION = re.compile(r"\bbreast[\s-]?fe\w*|\blactat\w*|\bnursing\s+(?:mothers?|women|infants?)|\bhuman\s+milk|\bbreast\s+milk",
                        re.IGNORECASE)
_QT = re.compile(r"\bQTc?\b|\btorsade", re.IGNORECASE)
_QT_LIMIT = re.compile(r"QTc?\s*(?:interval\s*)?(?:of\s+)?(?:>|≥|greater\s+than|longer\s+than|above|exceed\w*|more\s+than)\s*(\d{3})",
                       re.IGNORECASE)
_LOW_K = re.compile(r"\bhypokal[ae]?mia|\blow\s+(?:serum\s+)?potassium|\bpotassium\b", re.IGNORECASE)
_QUALIFIED = re.compile(r"(?:renal|hepatic|CrCl|CLcr|CL\s?CR|mL/min|Child-Pugh|CYP\w*|metaboli\w*|inhibitors?|inducers?)"
                        r"[^.;]{0,60}$", re.IGNORECASE)
QTC_PROLONGED_MS = 450  # the usual upper limit of normal in men (470 in women)
LOW_POTASSIUM = 3.5


def age_alerts(ctx: Context) -> list[RawAlert]:
    """Return the alert of a sentence about the case's age group (children under N, pediatric
    patients, the elderly, "patients over 75 years") that says what to do or what the risk is."""
    age = ctx.facts.patient.age_years
    if age is None:
        return []
    f = next((f for f in live(ctx.facts.patient.findings, "age") if f.value == age), None)
    trigger = f.text if f and re.search(r"year|yo\b|y/o|age", f.text, re.IGNORECASE) else f"age {age:g}"

    def test(text: str, kind: AlertKind) -> Hit | None:
        if _LACTATION.search(text) or _PREGNANCY.search(text) or NEEDS_COMED.search(text):
            return None  # "the breastfed child", "the fetus", "elderly patients taking X": not the age alone
        heading = len(text) - len(strip_heading(text)) if re.match(r"\s*\d+\s?\.\s?\d+\s", text) else 0
        # the age group of a subsection's heading ("5.12 ... in Elderly, Cachectic, or Debilitated Patients") is its topic
        hit = next((r for r in age_groups(text) if r[0] <= age <= r[1] and r[2] >= heading), None)
        if hit is None or (kind not in SEVERE and not (ACTION.search(text) or EXCLUDING.search(text) or _RISK.search(text))):
            return None
        # "CLcr less than 30 mL/min ... for pediatric patients": the age group of another fact
        return None if _QUALIFIED.search(text[: hit[2]]) else Hit(2, hit[2], hit[3])

    return ctx.find(trigger, test, set(AlertKind) - {AlertKind.INTERACTION}, ages=False, comed=False, reports=True)


def _gestation_test(weeks: float | None, term: bool) -> Test:
    def test(text: str, kind: AlertKind) -> Hit | None:
        body = _CAPS_RUN.sub(" ", text)  # a capitals heading names the topic; the sentence under it says what happens
        m = _PREGNANCY.search(body) or (kind == AlertKind.BOXED_WARNING and _PREGNANCY.search(text))
        if not m:
            return None
        window = next(((w, wm) for rx, w in _WINDOWS if (wm := rx.search(text))), None)
        on = _WEEKS_ON.search(text)
        if on and window is None:
            window = (int(on["w"] or on["w2"]), on)
        if window is None:
            return Hit(2 if _PREGNANCY.search(body) else 1, m.start(), m.end())
        starts, wm = window
        if weeks is None and not term:
            return Hit(1, wm.start(), wm.end())
        in_window = (term and starts >= 34) or (weeks is not None and weeks >= starts)
        return Hit(3, wm.start(), wm.end()) if in_window else None

    return test


def pregnancy_alerts(ctx: Context) -> list[RawAlert]:
    """Return the boxed warning / contraindication / warning / pregnancy sentence about pregnancy;
    a sentence about a gestational window ("at term", "starting at 30 weeks") only when the case
    is in it."""
    p = ctx.facts.patient
    if not p.pregnant:
        return []
    weeks = next((f.value for f in live(p.findings, "gestation")), None)
    term = bool(live(p.findings, "term"))
    stated = next((f.text for f in live(p.findings, "gestation") + live(p.findings, "term")), None)
    trigger = f"pregnancy ({stated})" if stated else "pregnancy"
    kinds = {AlertKind.BOXED_WARNING, AlertKind.CONTRAINDICATION, AlertKind.WARNING, AlertKind.POPULATION}
    return ctx.find(trigger, _gestation_test(weeks, term), kinds, ages=False)  # "the fetus" is not the patient


def lactation_alerts(ctx: Context) -> list[RawAlert]:
    """Return the alert of a sentence about breastfeeding when the case says the patient breastfeeds."""
    said = live(ctx.facts.patient.findings, "lactation")
    if not said:
        return []

    def test(text: str, kind: AlertKind) -> Hit | None:
        m = _LACTATION.search(text)
        return Hit(2 if ACTION.search(text) or kind in SEVERE else 1, m.start(), m.end()) if m else None

    # "the infant" is not the patient
    return ctx.find(said[0].text, test, set(AlertKind) - {AlertKind.DOSAGE, AlertKind.INTERACTION}, ages=False)


def lab_alerts(ctx: Context) -> list[RawAlert]:
    """Return the alerts of a QTc above the label's limit (or above normal, for a sentence about QT
    prolongation) and of a low potassium."""
    out: list[RawAlert] = []
    findings = ctx.facts.patient.findings
    for f in live(findings, "qtc")[:1]:
        def qt(text: str, kind: AlertKind, v: float = f.value) -> Hit | None:
            m = _QT.search(text)
            limits = list(_QT_LIMIT.finditer(text)) if m else []
            if limits:
                over = next((lm for lm in limits if v > float(lm[1])), None)
                return Hit(3, over.start(), over.end()) if over else None
            return Hit(2, m.start(), m.end()) if m and v >= QTC_PROLONGED_MS else None

        out += ctx.find(f.text, qt)
    for f in [f for f in live(findings, "potassium") if f.value < LOW_POTASSIUM][:1]:
        def low_k(text: str, kind: AlertKind) -> Hit | None:
            m = _LOW_K.search(text)
            return Hit(2 if not m[0].lower().startswith("potassium") else 1, m.start(), m.end()) if m else None

        out += ctx.find(f.text, low_k)
    return out
