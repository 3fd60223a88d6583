"""The prescribed dose, frequency and route compared with the label's dosing rows for this patient.

1. Rows that apply to the patient (`applies`): a row for a population the patient is in — renal
   impairment (CrCl / eGFR in the row's band, ESRD or dialysis), hepatic impairment (Child-Pugh
   class), a genotype (CYP2D6 poor metabolizer), an interacting drug the patient takes (named in
   the row, or of a class the row names where the label names the drug as one of that class) —
   is an *adjustment*; pediatric rows apply only to a child of the row's age and weight band.
2. If an adjustment applies, the order is judged against it: "avoid" -> mismatch; a dose the
   adjustment states -> matches; any other dose -> mismatch (the order ignores the adjustment).
3. Otherwise the order is judged against the base rows of the indication's D&A subsection
   (recommended, titration and maximum rows for this age band; never reduction-for-toxicity,
   switch tables or study sentences): matches when the dose lies within the stated doses and
   exceeds no stated maximum (per dose, or per day for daily totals); mismatch when comparable
   rows exist and it does not; not_stated (with the reason) when nothing is comparable.

Safety has a direction: "matches" needs a row that covers the order; anything else is a mismatch
or says why it could not be checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from medcite.analyze.label_dosing import ADJUSTED, LATER_PHASE, MAINTENANCE_PHASE, DosingRow, Population, RowKind, frequency_only
from medcite.analyze.label_text import COMBINATION_USE, Span, quote
from medcite.records import CaseFacts, Dose, DoseVerdict, DrugMention, Frequency, PatientFacts, RegimenStatus

_MASS = {"mg": 1.0, "g": 1000.0, "mcg": 0.001}
_RADIO = {"GBq": 1.0, "MBq": 0.001, "mCi": 0.037}  # 1 mCi = 37 MBq
_SPECIAL = ADJUSTED
_BASE_KINDS = {RowKind.RECOMMENDED, RowKind.TITRATION, RowKind.MAXIMUM}
ADULT_AGE = 17.0  # labels' "adults" are 17 or 18 and older; a 17-year-old is left to the row's own band


@dataclass
class Verdicts:
    """The dose, frequency and route verdicts of one order (citations attached by the caller)."""

    dose: DoseVerdict
    frequency: DoseVerdict
    route: DoseVerdict
    spans: dict[str, list[Span]] = field(default_factory=dict)
    adjustment: list[DosingRow] = field(default_factory=list)  # the rows of the patient's population


# ---------------------------------------------------------------- which rows apply


def _is_child(p: PatientFacts) -> bool:
    return p.age_years is not None and p.age_years < ADULT_AGE


OLDER_AGE = 50.0  # an age band starting here or later is an older-adult adjustment, not an adult row


def _age_fits(row: DosingRow, p: PatientFacts) -> bool:
    if row.age is not None and row.age.lo is not None and row.age.lo >= OLDER_AGE and (row.populations & _SPECIAL):
        return True  # one of several populations the row lists; `applies` decides
    child_row = Population.PEDIATRIC in row.populations and Population.ADULT not in row.populations
    if row.age is not None and p.age_years is not None and not row.age.holds(p.age_years):
        return False
    if row.age is not None and p.age_years is None and (row.age.hi is not None and row.age.hi <= 18):
        return False
    if child_row and not _is_child(p):
        return False
    if _is_child(p) and Population.ADULT in row.populations and Population.PEDIATRIC not in row.populations:
        return row.age is not None and row.age.holds(p.age_years or 0)
    if row.weight is not None:
        return p.weight_kg is not None and row.weight.holds(p.weight_kg)
    return True


def _renal_applies(row: DosingRow, p: PatientFacts) -> bool:
    clearance = p.crcl_ml_min if p.crcl_ml_min is not None else p.egfr
    if row.dialysis and (p.dialysis or p.esrd):
        return True
    if row.crcl is not None and clearance is not None:
        return row.crcl.holds(clearance)
    if row.crcl is not None and (p.dialysis or p.esrd):
        return True
    return False


def _hepatic_applies(row: DosingRow, p: PatientFacts) -> bool:
    cls = p.child_pugh or {"mild": "A", "moderate": "B", "severe": "C"}.get(p.hepatic_impairment or "")
    if cls is None:
        return False
    return not row.child_pugh or cls in row.child_pugh


def genotype_status(g, text: str) -> str:
    """Return the metabolizer word of a genotype: its status, or the one the case writes right
    after it ("CYP2C19 *2/*2, poor metabolizer")."""
    word = g.status.split()[0] if g.status else ""
    if word in ("genotype", "positive", "") and text:
        m = re.match(r"[^.;]{0,40}?\b(poor|intermediate|extensive|normal|ultra-?rapid)\s+metaboli", text[g.end:], re.I)
        if m:
            word = m.group(1).lower().replace("-", "")
    return "extensive" if word == "normal" else word


_DIPLOTYPE = re.compile(r"\*\d+[A-Z]?\s*/\s*\*\d+[A-Z]?")


def diplotypes(text: str) -> set[str]:
    """Return the star-allele pairs a text names ("*1/*3", "*3 / *1" -> "*1/*3"), order-free."""
    return {"/".join(sorted(re.sub(r"\s", "", m).split("/"))) for m in _DIPLOTYPE.findall(text)}


def _genotype_applies(row: DosingRow, p: PatientFacts, text: str = "") -> bool:
    listed = diplotypes(row.source or row.span.text)
    for g in p.genotypes:
        if g.negated or (g.gene.upper() not in row.genes and "*" not in row.genes):
            continue
        if listed and g.allele and diplotypes(g.allele):
            if diplotypes(g.allele) & listed:
                return True  # the row lists the patient's own genotype ("*1/*3 or *2/*3")
            continue
        word = genotype_status(g, text)
        if row.metabolizer is not None:
            if word == row.metabolizer:
                return True
            continue
        if word in ("poor", "intermediate", "ultrarapid") and re.search(word.replace("ultrarapid", "ultra-?rapid"), row.span.text, re.I):
            return True
        if g.status in ("homozygous", "heterozygous", "deficient") or (g.allele and g.allele in row.span.text):
            return True
    return False


_STOPPED = re.compile(r"\bafter\s+(?:the\s+)?(?:discontinu\w*|stopping|cessation|withdrawal)\b", re.I)


def _interaction_applies(row: DosingRow, comed_classes: dict[str, list[str]]) -> bool:
    """Return True when the row is for a co-medication of the case, by its name or its class. What
    a row says for "after discontinuation of" the interacting drug ("resume ... at 80 mg 3 weeks
    after discontinuation of the strong CYP3A4 inducer") is not for a patient still on it."""
    text = _CYP3A.sub("cyp3a", row.span.text.lower())
    stopped = _STOPPED.search(text)
    text, context = (text[: stopped.start()], "") if stopped else (text, _CYP3A.sub("cyp3a", " ".join(row.interacting).lower()))
    return _names_any(comed_classes, text, context)


def after_stopping(sentences: list, stopped_classes: dict[str, list[str]]):
    """Return the label sentence (a Span) that says what to do "after discontinuation of" a drug
    the case has stopped, by its name or class: "Resume the dose that was used prior to initiating
    the strong CYP3A4 inhibitor 2 to 3 days after discontinuation of the strong inhibitor"."""
    for sent in sentences:
        text = _CYP3A.sub("cyp3a", sent.text.lower())
        if _STOPPED.search(text) and _names_any(stopped_classes, text, ""):
            return sent
    return None


def _names_any(comed_classes: dict[str, list[str]], text: str, context: str) -> bool:
    for name, classes in comed_classes.items():
        if re.search(r"(?<![\w-])" + re.escape(name.lower()) + r"(?![\w-])", text):
            return True
        # the row's own words first: "with a P-gp and moderate CYP3A4 inhibitor" under a heading
        # "P-gp and CYP3A4 Inhibitors" is for moderate ones only
        for c in (_CYP3A.sub("cyp3a", c) for c in classes):  # a CYP3A4 inhibitor is a CYP3A inhibitor, and the labels write either
            if _names_class(c, text if _STRENGTH.sub("", c) in text else context):
                return True
    return False


STRENGTHS = r"strong|moderate|weak|potent"  # of an enzyme inhibitor or inducer; "potent" is "strong"
_STRENGTH = re.compile(rf"^({STRENGTHS})\s+")
_STRENGTHS_BEFORE = re.compile(rf"((?:{STRENGTHS})(?:\s*(?:,|or|and|/|to)\s*(?:{STRENGTHS}))*)[\s-]+$")


_CYP3A = re.compile(r"\bcyp\s?3a[45]\b")


def _names_class(cls: str, text: str) -> bool:
    """Return True when `text` names the class `cls` ("strong cyp3a inhibitor"): a class of one
    strength is not another's ("moderate" is not named by "strong CYP3A inhibitors"). A class of
    no stated strength (the label's own "CYP3A inhibitors (e.g., itraconazole)") is named by any:
    the label may mean the strong ones, and applying their dose is the safe side. Both come with
    CYP3A4/5 written CYP3A (`_names_any`)."""
    m = _STRENGTH.match(cls)
    if m is None:
        return cls in text
    strength, core = m.group(1).replace("potent", "strong"), cls[m.end() :]
    for hit in re.finditer(re.escape(core), text):
        before = _STRENGTHS_BEFORE.search(text, max(0, hit.start() - 40), hit.start())
        named = set(re.findall(STRENGTHS, before.group(1))) if before else set()
        if not named or strength in {w.replace("potent", "strong") for w in named}:
            return True
    return False


def applies(row: DosingRow, p: PatientFacts, comed_classes: dict[str, list[str]], text: str = "") -> bool:
    """Return True when `row` is for a population this patient is in (see module docstring)."""
    if not _age_fits(row, p):
        return False
    special = row.populations & _SPECIAL
    older = row.age is not None and row.age.lo is not None and row.age.lo >= OLDER_AGE
    if not special:
        return True
    if older and p.age_years is not None and row.age.holds(p.age_years):
        return True  # "for patients who are greater than 60 years of age, patients with hepatic impairment, ..."
    if _population_key(row)[1] and special != {Population.INTERACTION}:
        # "for moderate renal impairment ... in combination with enzalutamide": the combination is
        # the setting of the row, the other population the one it is for — both must hold
        if not _interaction_applies(row, comed_classes):
            return False
        special = special - {Population.INTERACTION}
    return ((Population.RENAL in special and _renal_applies(row, p))
            or (Population.HEPATIC in special and _hepatic_applies(row, p))
            or (Population.GENOTYPE in special and _genotype_applies(row, p, text))
            or (Population.INTERACTION in special and _interaction_applies(row, comed_classes))
            or (Population.ANCESTRY in special and _ancestry_applies(row, p)))


def _ancestry_applies(row: DosingRow, p: PatientFacts) -> bool:
    """The case's ancestry region ("East Asian" for "of Korean ancestry") is one the row names,
    or the row names Asian ancestry broadly and the case's is an Asian one."""
    regions = {f.value for f in p.findings if f.kind == "ancestry" and not f.negated}
    return bool(regions & row.ancestry) or ("Asian" in row.ancestry and any("Asian" in r for r in regions))


# ---------------------------------------------------------------- comparing doses


def _factor(unit: str) -> tuple[str, float]:
    base = unit.removesuffix("/day")
    for table in (_MASS, _RADIO):
        if base in table:
            return ("mass" if table is _MASS else "activity"), table[base]
    return base, 1.0


def _per_day(f: Frequency | None) -> float | None:
    if f is None or f.as_needed or not f.times or not f.per_days:
        return None
    return f.times / f.per_days


_BSA = re.compile(r"\bBSA\s*(?:of\s*|is\s*|=\s*|:\s*)?(\d(?:\.\d+)?)\s*m\s?(?:2|²)", re.I)
BSA_TOLERANCE = 0.10  # a dose from mg/m2 x BSA is rounded to what the tablets or vials allow


def body_surface_area(text: str) -> float | None:
    """Return the body surface area the case states ("BSA 1.8 m2"), or None."""
    m = _BSA.search(text)
    return float(m.group(1)) if m else None


def _order_amounts(order: Dose, freq: Frequency | None, p: PatientFacts, bsa: float | None = None) -> dict[tuple[str, bool], float]:
    """Return the order as {(unit family, daily): amount}: per dose and per day, per kg when the
    patient's weight is known and per m2 when the case gives a body surface area."""
    fam, k = _factor(order.unit)
    daily_unit = order.unit.endswith("/day")
    out: dict[tuple[str, bool], float] = {}
    amount = order.value * k
    per_day = _per_day(freq)
    out[(fam, daily_unit)] = amount
    if not daily_unit and per_day is not None:
        out[(fam, True)] = amount * per_day
    mass = [(d, v) for (f, d), v in out.items() if f == "mass"]
    if p.weight_kg:
        for d, v in mass:
            out[("mass/kg", d)] = v / p.weight_kg
    if bsa:
        for d, v in mass:
            out[("mg/m2~", d)] = v / bsa  # "~": compared with BSA_TOLERANCE against the label's mg/m2
    return out


def _within(key: tuple[str, bool], x: float, lo: float, hi: float) -> bool:
    tol = BSA_TOLERANCE * x if key[0] == "mg/m2~" else 1e-9
    return lo - tol <= x <= hi + tol


def _order_value(order: dict, key: tuple[str, bool]) -> tuple[tuple[str, bool], float] | None:
    if key in order:
        return key, order[key]
    derived = (key[0] + "~", key[1])
    return (derived, order[derived]) if derived in order else None


_STARTING = re.compile(r"\binitia|\bstart|\brecommended\s+(?:dose|dosage)\b|\btarget\b|\busual\b", re.I)
_LOADING = re.compile(r"\bloading\s+dose\s+of\s*$|\bfirst\s+dose\s+of\s*$", re.I)


_REDUCE_TO = re.compile(r"\b(?:reduce|decrease|lower)\w*\s+(?:the\s+)?(?:[\w-]+\s+){0,3}?(?:dose|dosage)\s+to\b", re.I)


def _row_amounts(row: DosingRow) -> list[tuple[tuple[str, bool], float, float]]:
    out = []
    flags = row.daily_doses or [row.daily] * len(row.doses)
    # "in patients with starting doses of 200 mg or 150 mg, reduce the dose to 100 mg": the doses
    # before "reduce ... to" say whom the row is for, the one after it is the row's dose
    to = _REDUCE_TO.search(row.source or "")
    after = to.end() if to and any(d.start >= to.end() for d in row.doses) else 0
    alternatives = _alternative_rates(row)
    for d, daily in zip(row.doses, flags):
        if d.start < after:
            continue
        if _LOADING.search(row.source[max(0, d.start - 25) : d.start]) and len(row.doses) > 1:
            continue  # a one-time loading dose beside the regimen the row gives
        unit = d.unit
        fam, k = _factor(unit)
        if unit.startswith("mg/kg") or unit.startswith("mcg/kg"):
            fam, k = "mass/kg", (0.001 if unit.startswith("mcg") else 1.0)
        hi = d.value_max if d.value_max is not None else d.value
        out.append(((fam, daily), d.value * k, hi * k))
        if (per := alternatives.get(d.start)) is not None and not daily:
            out.append(((fam, True), d.value * k * per, hi * k * per))
    return out


def _alternative_rates(row: DosingRow) -> dict[int, float]:
    """Return, for a maximum given as alternatives each at its own interval ("25 mg every day or
    50 mg every other day"), each dose's amount a day by its start: the ceiling is the same
    amount a day, not the larger dose given daily."""
    if row.kind != RowKind.MAXIMUM or len(row.doses) < 2:
        return {}
    text, freqs = row.source or row.span.text, _row_frequencies(row)
    ends = [d.start for d in row.doses[1:]] + [len(text)]
    rates = {}
    for d, end in zip(row.doses, ends):
        own = next((f for f in freqs if d.end <= f.start <= min(end, d.end + 25)), None)
        if own is None or _per_day(own) is None:
            return {}
        rates[d.start] = _per_day(own)
    return rates if len(set(rates.values())) > 1 else {}


def _covers(rows: list[DosingRow], order: dict) -> tuple[DosingRow | None, DosingRow | None, bool]:
    """Return (row covering the order, maximum row exceeded, anything comparable)."""
    comparable, cover, exceeded = False, None, None
    for row in rows:
        amounts = _row_amounts(row)
        if row.kind == RowKind.MAXIMUM:
            # a maximum row's ceiling is its largest dose ("from the initial 75 mg ... to a maximum of 225 mg")
            tops: dict = {}
            for key, _, hi in amounts:
                tops[key] = max(tops.get(key, hi), hi)
            for key, top in tops.items():
                found = _order_value(order, key)
                if found:
                    comparable = True
                    if not _within(found[0], found[1], 0.0, top) and found[1] > top and exceeded is None:
                        exceeded = row
            if not _STARTING.search(row.source):
                continue
            # "an initial dosage of 20 mg ..., to a maximum of 40 mg": its other doses are doses too
        for key, lo, hi in amounts:
            found = _order_value(order, key)
            if found is None:
                continue
            comparable = True
            if _within(found[0], found[1], lo, hi) and cover is None:
                cover = row
    return cover, exceeded, comparable


# ---------------------------------------------------------------- the verdicts


_YEARS_ON = re.compile(r"\b(?:\d+|one|two|three|several)\s+years?\s+(?:ago|after|since|out|of\s+treatment|on\b)|\bafter\s+(?:one|a|1)\s+year\b", re.I)
_DONE = re.compile(r"\b(?:completed|finished|after|following|done\s+with)\s+(?:the\s+|her\s+|his\s+)?(?:[\w-]+\s+){0,2}$", re.I)
_PHASE_CASE = re.compile(r"\b(induction|maintenance|loading)\b", re.I)
_CLASS_OF = re.compile(rf"(?<![\w-])((?:{STRENGTHS})\s+)?(CYP\d[A-Z]\d{{0,2}}|P-?gp|P-glycoprotein)(?:\s+(?:and|or|/)\s+(?:CYP\d[A-Z]\d{{0,2}}|P-?gp))?\s+(inhibitors?|inducers?)", re.I)


_EXAMPLES = re.compile(r"\(\s*e\.\s?g\.|\be\.\s?g\.|\bsuch\s+as\b|\bincluding\b|\bfor\s+example\b|:|\|")  # "strong CYP3A inhibitors (e.g., itraconazole", a table cell
_APPOSITION = re.compile(r"\s*[(,]\s*(?:a|an)\s+")


def comedication_classes(label_sentences: list[str], comeds: list[DrugMention], synonyms) -> dict[str, list[str]]:
    """Return {co-medication name: the enzyme classes the label puts it in} — "strong CYP3A
    inhibitors (e.g., itraconazole, ...)" puts itraconazole among strong CYP3A inhibitors. The
    class words are lower case, without the plural ("strong cyp3a inhibitor")."""
    out: dict[str, list[str]] = {}
    for d in {m.generic: m for m in comeds}.values():  # one reading per drug, however often it is named
        names = {n.lower() for n in [d.generic, d.text, *synonyms(d.generic)] if n and len(n) >= 4}
        classes: list[str] = []
        for sent in label_sentences:
            low = sent.lower()
            for name in names:
                pos = low.find(name)
                if pos < 0:
                    continue
                # the class right after the drug ("clarithromycin (a strong CYP3A inhibitor)"),
                # else the class named nearest before it in the same sentence
                end = pos + len(name)
                after = _CLASS_OF.match(sent, end + m0.end()) if (m0 := _APPOSITION.match(sent[end:])) else None
                found = [after] if after else [m for m in _CLASS_OF.finditer(sent) if m.start() < pos
                                               and (_EXAMPLES.search(sent[m.end() : pos]) or not sent[m.end() : pos].strip())
                                               and len(sent[m.end() : pos]) < 200]
                if found:
                    m = found[-1]
                    classes.append(" ".join(m.group(0).lower().split()).rstrip("s"))
        out[d.generic] = list(dict.fromkeys(classes))
    return out


_RANK = {"strong": 3, "potent": 3, "moderate": 2, "weak": 1}


def enzyme_classes(names: list[str]) -> list[str]:
    """Return the enzyme classes among class names other labels give a drug as an example of,
    in the form `comedication_classes` gives ("usual dose Strong CYP3A4 inducers" -> "strong
    cyp3a4 inducer"). Only classes of a stated strength, and of one enzyme and role only the
    strongest: another label's "CYP3A4 inhibitors (e.g., ...)" says too little to apply this
    label's dose for strong ones, and a drug two labels rank differently is not the weaker one
    ("Strong-moderate CYP3A4 inhibitors" is no strength at all). Other classes
    ("Antimycobacterials") are left out."""
    best: dict[str, tuple[int, str]] = {}
    for n in names:
        n = " ".join(n.split())
        m = next((m for m in _CLASS_OF.finditer(n) if m.end() == len(n)), None)
        if m is None or not m.group(1):
            continue
        strength, cls = m.group(1).strip().lower(), " ".join(m.group(0).lower().split()).removesuffix("s")
        core = _CYP3A.sub("cyp3a", cls.split(" ", 1)[1])
        if _RANK[strength] > best.get(core, (0, ""))[0]:
            best[core] = (_RANK[strength], cls)
    return [cls for _, cls in best.values()]


def ranked_class(cls: str) -> bool:
    """Return True when an enzyme class states its strength ("strong cyp3a inhibitor")."""
    return bool(_STRENGTH.match(cls))


def without_unranked(classes: list[str]) -> list[str]:
    """Return `classes` but those of no strength whose enzyme and role a ranked one names
    ("cyp3a4 inducer" beside "moderate cyp3a4 inducer")."""
    ranked = {_CYP3A.sub("cyp3a", _STRENGTH.sub("", c)) for c in classes if ranked_class(c)}
    return [c for c in classes if ranked_class(c) or _CYP3A.sub("cyp3a", c) not in ranked]


def candidate_rows(rows: list[DosingRow], number: str | None, case_text: str) -> list[DosingRow]:
    base = [r for r in rows if r.kind in _BASE_KINDS and not (r.populations & _SPECIAL)]
    if number is not None and any(r.subsection == number for r in base):
        base = [r for r in base if r.subsection == number]
    phases, done = set(), set()
    for m in _PHASE_CASE.finditer(case_text):
        # "Completed the 3-day loading doses; now ...": a phase behind the patient, not the order's
        (done if _DONE.search(case_text[max(0, m.start() - 40) : m.start()]) else phases).add(m.group(1).lower())
    if done - phases and any(r.phase not in done - phases for r in base):
        base = [r for r in base if r.phase not in done - phases]
    if _YEARS_ON.search(case_text):
        phases.add(LATER_PHASE)
    else:
        base = [r for r in base if r.phase != LATER_PHASE]  # the case is not a year into treatment
    if phases and any(r.phase in phases for r in base):
        base = [r for r in base if r.phase in phases or (r.phase is None and r.kind == RowKind.MAXIMUM)]
    return base


_NEW_START = re.compile(r"\b(?:start(?:s|ed|ing)?|initiat\w*|begin|commenc\w*|[\w-]*na[iï]ve)\b", re.I)
_ONGOING = re.compile(r"\b(?:increas\w*|titrat\w*|escalat\w*|continu\w*|maintenance|already|stable\s+on|switch\w*|convert\w*|"
                      r"restart\w*|resum\w*|loading|week\s+\d+|after\s+\d+\s+(?:days?|weeks?|months?)|(?:from|on|at)\s+\d+(?:\.\d+)?\s*(?:mg|mcg)\b)", re.I)
_STARTING_DOSE_ROW = re.compile(r"\b(?:starting|initial|initiation)\s+(?:dose|dosage)\b|\b(?:initiate|start)\b[^.]{0,60}?\b(?:at|with)\s+(?:a\s+)?(?:dose\s+of\s+)?\d", re.I)


def new_start(case_text: str) -> bool:
    """Return True when the case starts the drug ("Start ... today", "antipsychotic-naive") and
    gives no earlier dose, titration or maintenance of it."""
    return bool(_NEW_START.search(case_text)) and not _ONGOING.search(case_text)


_THEN = re.compile(r"\bfor\s+the\s+first\s+\d+\s+(?:days?|weeks?)\b[^.]*?(?:;|,)?\s*(?:then|followed\s+by|thereafter)\b|"
                   r"\bfollowed\s+by\b|\bthereafter\b|;\s*then\b", re.I)


def _first_step(row: DosingRow) -> DosingRow:
    """Return the row cut to the doses before its "then" ("90 mg orally once daily for the first
    7 days; then increase the dose to 180 mg"): what a start is given."""
    text = row.source or row.span.text
    m = _THEN.search(text)
    if m is None:
        return row
    keep = [i for i, d in enumerate(row.doses) if d.start < m.start()]
    if not keep or len(keep) == len(row.doses):
        return row
    flags = row.daily_doses or [row.daily] * len(row.doses)
    return replace(row, doses=[row.doses[i] for i in keep], daily_doses=[flags[i] for i in keep],
                   frequencies=[f for f in row.frequencies if f.start < m.start()] or row.frequencies)


def starting_rows(base: list[DosingRow]) -> list[DosingRow]:
    """Return the label's starting-dose rows among `base` when it has them, else `base`, each cut
    to its first step: a titration target or a maximum is where treatment may go, not where it
    begins."""
    starting = [r for r in base if r.kind == RowKind.RECOMMENDED and _STARTING_DOSE_ROW.search(r.source or r.span.text)]
    return [_first_step(r) for r in starting or base]


def _status(cover, exceeded, comparable) -> RegimenStatus:
    if cover is not None and exceeded is None:
        return RegimenStatus.MATCHES
    return RegimenStatus.MISMATCH if comparable else RegimenStatus.NOT_STATED


@dataclass
class _Order:
    """One order being judged: what was prescribed, its amounts and the case around it."""

    mention: DrugMention
    facts: CaseFacts
    number: str | None  # the indication's D&A subsection
    comed_classes: dict[str, list[str]]
    one_indication: bool = False  # the label has one indication: its subsections cannot be other uses
    start: bool = False  # the case starts the drug (`new_start`)
    amounts: dict = field(default_factory=dict)
    weighed: list[DosingRow] = field(default_factory=list)  # rows of a weight band the patient is in

    @property
    def prescribed(self) -> str | None:
        return self.mention.dose.text if self.mention.dose else None

    def applies(self, row: DosingRow) -> bool:
        return applies(row, self.facts.patient, self.comed_classes, self.facts.text)

    def verdict(self, status: RegimenStatus, row: DosingRow | None, detail: str | None) -> DoseVerdict:
        return DoseVerdict(status, quote(row.span.text) if row else None, self.prescribed, [], detail)


Judged = tuple[DoseVerdict, list[DosingRow], list[DosingRow]]
RADIATION = "radiation"
# radiation the case gives with the drug ("neoadjuvant chemoradiation", "on RT days"), not radiation
# behind the patient ("after lumpectomy and radiation")
_RADIATION = re.compile(r"\b(?:[Cc]hemo-?radi\w*|[Rr]adiotherapy|[Rr]adiation|RT)\b")
_PAST = re.compile(r"\b(?:after|following|s/p|status\s+post|prior|previous|history\s+of|completed|finished)\b[^.;]{0,40}$", re.I)


def concurrent_radiation(text: str) -> bool:
    """Return True when the case gives radiation therapy along with its order."""
    return any(not _PAST.search(text[max(0, m.start() - 60) : m.start()]) for m in _RADIATION.finditer(text))


def _without_partner(row: DosingRow, partner: str) -> DosingRow:
    """Return the row without the doses its text gives "without" the partner ("825 mg/m2 ... with
    concomitant radiation therapy and 1,250 mg/m2 ... without radiation therapy"): those are for
    a patient not given it."""
    text = row.source or row.span.text
    if partner not in text.lower():
        return row
    ends = [d.start for d in row.doses[1:]] + [len(text)]
    keep = [i for i, d in enumerate(row.doses)
            if not re.search(r"\bwithout\s+(?:\w+\s+){0,2}" + partner, text[d.end : ends[i]], re.I)]
    if not keep or len(keep) == len(row.doses):
        return row
    flags = row.daily_doses or [row.daily] * len(row.doses)
    return replace(row, doses=[row.doses[i] for i in keep], daily_doses=[flags[i] for i in keep])
_NOT_DOSES = (RowKind.STUDY, RowKind.SWITCH, RowKind.REDUCTION, RowKind.PREPARATION)


def judge_dose(order: DrugMention, rows: list[DosingRow], facts: CaseFacts, number: str | None,
               comed_classes: dict[str, list[str]], one_indication: bool = False) -> Judged:
    """Return the dose verdict, the rows it rests on and the adjustment rows that apply."""
    o = _Order(order, facts, number, comed_classes, one_indication)
    usable = [r for r in rows if r.kind not in _NOT_DOSES]
    if concurrent_radiation(facts.text):
        # radiation given with the drug is a partner of the order, as a co-medication is
        comed_classes = {**comed_classes, RADIATION: [RADIATION]}
        o.comed_classes = comed_classes
        usable = [_without_partner(r, RADIATION) for r in usable]
    adjust = [r for r in usable if (r.populations & _SPECIAL) and r.kind != RowKind.NO_ADJUSTMENT and not frequency_only(r) and o.applies(r)]
    if number is not None and any(r.subsection == number for r in adjust):
        # the indication's own adjustments, and those of other kinds stated elsewhere (a
        # combination's dose in 2.1, a strong CYP3A inhibitor's reduction in 2.4)
        own = {_population_key(r) for r in adjust if r.subsection == number}
        adjust = [r for r in adjust if r.subsection == number or _population_key(r) not in own]
    usual = candidate_rows([r for r in usable if o.applies(r)], number, facts.text)
    base = usual
    o.start = new_start(facts.text)
    if o.start:
        # a start is judged on the label's starting doses, never on a dose reached after titration
        base = starting_rows([r for r in usual if r.phase != MAINTENANCE_PHASE])
        adjust = [r for r in adjust if r.phase != MAINTENANCE_PHASE]
    if order.dose is None:
        basis = adjust or base
        return DoseVerdict(RegimenStatus.NOT_PRESCRIBED, quote(basis[0].span.text) if basis else None, None), basis[:1], adjust
    o.amounts = _order_amounts(order.dose, order.frequency, facts.patient, body_surface_area(facts.text))
    o.weighed = _weighed(usable, o)
    if adjust:
        return _judge_adjusted(o, adjust, usual)
    verdict, basis = _judge_base(o, base)
    return verdict, basis, []


def _split_by_subsection(o: _Order, rows: list[DosingRow]) -> bool:
    """Return True when the rows are in several subsections that judge the order differently and
    the case's indication (which would pick one) was not recognised."""
    groups = {r.subsection for r in rows}
    if o.number is not None or o.one_indication or len(groups) < 2:
        return False
    return len({_status(*_covers([r for r in rows if r.subsection == n], o.amounts)) for n in groups}) > 1


def _population_key(row: DosingRow) -> tuple:
    """What kind of population a row adjusts for; a combination partner ("when used in
    combination with ...") is a kind apart from an interacting drug or enzyme class."""
    combination = bool(row.interacting) and all(COMBINATION_USE.search(i) for i in row.interacting)
    return tuple(sorted(row.populations)), combination


_REDUCING = re.compile(r"\breduce\w*\b|\bdecrease\w*\b|\bdo\s+not\s+exceed\b|\bnot\s+to\s+exceed\b", re.I)


def _misses(row: DosingRow, amounts: dict) -> bool:
    """Return True when the row's doses are comparable with the order and none covers it."""
    cover, _, comparable = _covers([row], amounts)
    return cover is None and comparable


_KEPT = re.compile(r"\b(?:continu\w*|unchanged|kept|same\s+dose)\b", re.I)


def _kept(o: _Order) -> bool:
    """Return True when the order keeps the dose the case gave the patient before ("on
    azathioprine 150 mg daily ... azathioprine continued at 150 mg daily")."""
    d, text = o.mention.dose, o.facts.text
    earlier = [m.dose for m in o.facts.drugs if m.generic == o.mention.generic and m.dose is not None and m.end <= o.mention.start]
    clause = text[text.rfind(".", 0, o.mention.start) + 1 : d.end] if d else ""
    return d is not None and bool(_KEPT.search(clause)) and any((e.value, e.unit) == (d.value, d.unit) for e in earlier)


def _judge_adjusted(o: _Order, adjust: list[DosingRow], base: list[DosingRow]) -> Judged:
    """The patient is in a population the label doses apart: avoid, a stated dose, or a reduction."""
    avoid = [r for r in adjust if r.kind == RowKind.AVOID and (not r.doses or _covers([r], o.amounts)[0] is not None)]
    if avoid:
        return o.verdict(RegimenStatus.MISMATCH, avoid[0], "the label advises against this use in this patient"), avoid[:1], adjust
    adjust = [r for r in adjust if r.kind != RowKind.AVOID]
    if _split_by_subsection(o, adjust):
        detail = "the label doses this patient's population differently by indication, and the case's indication was not recognised"
        return o.verdict(RegimenStatus.NOT_STATED, adjust[0], detail), adjust[:1], adjust
    dosed = [r for r in adjust if r.doses]
    if not dosed:  # "dosage reduction is recommended in ...": no number, but the usual dose is not it
        if _covers(base, o.amounts)[0] is not None:
            detail = "the label calls for a lower dose in this patient's population; the order is the usual dose"
            return o.verdict(RegimenStatus.MISMATCH, adjust[0], detail), adjust[:1], adjust
        if _kept(o):  # an undosed adjustment row is a reduction (`label_dosing` keeps no other)
            detail = "the label calls for a lower dose in this patient's population; the order keeps the dose the patient was on"
            return o.verdict(RegimenStatus.MISMATCH, adjust[0], detail), adjust[:1], adjust
        detail = "the label calls for a lower dose in this patient's population without stating it"
        return o.verdict(RegimenStatus.NOT_STATED, adjust[0], detail), adjust[:1], adjust
    # a reduction the patient's population calls for ("with strong CYP3A inhibitors ... reduce the
    # dose to 100 mg") binds even when another of its rows (the combination's dose) covers the order
    unmet = [r for r in dosed if _REDUCING.search(r.source or r.span.text) and _misses(r, o.amounts)]
    if unmet:
        return o.verdict(RegimenStatus.MISMATCH, unmet[0], "the label gives a lower dose for this patient's population"), unmet[:1], dosed
    cover, exceeded, comparable = _covers(dosed, o.amounts)
    status = _status(cover, exceeded, comparable)
    if status == RegimenStatus.NOT_STATED:
        status = RegimenStatus.MISMATCH  # the patient's population has its own dosing the order does not follow
    row = exceeded or cover or dosed[0]
    detail = None if status == RegimenStatus.MATCHES else "the label gives a different dose for this patient's population"
    return o.verdict(status, row, detail), [row], dosed


_INCREASE = re.compile(r"\bincreas\w*|\btitrat\w*|\bescalat\w*", re.I)


def _titration_cover(base: list[DosingRow], order: dict) -> DosingRow | None:
    """Return the maximum row of a titration the order stands inside: a dose "can be increased
    ... up to 40 mg" from a starting dose makes every dose between the two the label's."""
    for top in base:
        if top.kind != RowKind.MAXIMUM or not _INCREASE.search(top.source or top.span.text):
            continue
        for key, _, hi in _row_amounts(top):
            found = _order_value(order, key)
            starts = [lo for r in base if r.kind == RowKind.RECOMMENDED and r.subsection == top.subsection
                      for k, lo, _ in _row_amounts(r) if k == key]
            if found and starts and _within(found[0], found[1], min(starts), hi):
                return top
    return None


def _judge_base(o: _Order, base: list[DosingRow]) -> tuple[DoseVerdict, list[DosingRow]]:
    """The order against the indication's rows for the patient's age and weight band."""
    if _split_by_subsection(o, base):
        return o.verdict(RegimenStatus.NOT_STATED, None, "the label doses its indications differently, and the case's indication was not recognised"), []
    if not base:
        return o.verdict(RegimenStatus.NOT_STATED, None, "no dosing row for this indication and patient"), []
    cover, exceeded, comparable = _covers(base, o.amounts)
    if cover is None and exceeded is None and not o.start:
        cover = _titration_cover(base, o.amounts)
    if cover is not None and o.mention.frequency is not None:
        # of the rows giving this dose ("one capsule daily ... for the initial seven days", "one
        # capsule every 12 hours" after), the one that says it is given as often as the order;
        # a bare "daily" ("usually 400 to 800 mg daily") is an amount a day, not how often
        cover = next((r for r in base if _covers([r], o.amounts)[0] is r
                      and any(_same(o.mention.frequency, f) and f.as_written.strip(" .").lower() != "daily"
                              for f in _paired_frequencies(r, o.mention.dose))), cover)
    status = _status(cover, exceeded, comparable)
    row = exceeded or cover or next((r for r in base if r.kind == RowKind.RECOMMENDED), base[0])
    if status == RegimenStatus.MATCHES and row.weight is None:
        banded = _weight_band_verdict(o)
        if banded is not None:
            return banded
    if status == RegimenStatus.NOT_STATED:
        units = sorted({d.unit for r in base for d in r.doses})
        detail = f"units not comparable: the label states {', '.join(units)}, the order {o.mention.dose.unit}"
    elif status == RegimenStatus.MISMATCH:
        detail = "above the label's maximum" if exceeded else "not a dose the label gives for this indication"
    else:
        detail = None
    return o.verdict(status, row, detail), [row]


_WEIGHED_KINDS = (RowKind.RECOMMENDED, RowKind.TITRATION, RowKind.MAXIMUM)


def _weighed(usable: list[DosingRow], o: _Order) -> list[DosingRow]:
    """Return the dosed rows of a weight band the patient's weight is in ("for adult patients
    weighing less than 40 kg", "20 kg to less than 40 kg | 900 mg"), of the indication's
    subsection when it has some."""
    rows = [r for r in usable if r.weight is not None and r.doses and r.kind in _WEIGHED_KINDS
            and not (r.populations & _SPECIAL) and o.applies(r)]
    own = [r for r in rows if r.subsection == o.number]
    return own or rows


def _weight_band_verdict(o: _Order) -> tuple[DoseVerdict, list[DosingRow]] | None:
    """Judge an order a row without a weight band covers against the label's rows for the
    patient's weight band: none gives the order's dose, a mismatch; some do and some do not (a
    table's columns read into one row), not stated; all do (or none is comparable), no say."""
    judged = [(r, _covers([r], o.amounts)) for r in o.weighed]
    comparable = [(r, c) for r, c in judged if c[2]]
    missing = [r for r, c in comparable if c[0] is None or c[1] is not None]
    if not missing:
        return None
    if len(missing) == len(comparable):
        detail = "the label gives a different dose for patients of this weight"
        return o.verdict(RegimenStatus.MISMATCH, missing[0], detail), missing[:1]
    detail = "the label doses patients of this weight differently, in a table the check cannot read; weight not comparable"
    return o.verdict(RegimenStatus.NOT_STATED, missing[0], detail), missing[:1]


# a frequency after these words is how often to titrate or to test, not how often to dose
_STEP_INTERVAL = re.compile(r"\b(?:increments?|steps?|(?:titrat|increas|adjust)\w*(?:\s+(?:the\s+)?(?:dose|dosage))?|"
                            r"(?:monitor|check|measure|obtain|assess|repeat)\w*\s+(?:[\w-]+\s+){0,3})\s*$", re.I)


def _row_frequencies(row: DosingRow) -> list[Frequency]:
    text = row.source or row.span.text
    out, stepped = [], False
    for f in row.frequencies:
        if f.as_needed and row.kind == RowKind.TITRATION:
            stepped = True
            continue  # "increments of up to 75 mg per day, as needed": how to titrate, not a PRN regimen
        if text.rfind("(", 0, f.start) > text.rfind(")", 0, f.start):
            continue  # "(thirty minutes before each meal and at bedtime)": a note on timing
        if _STEP_INTERVAL.search(text[max(0, f.start - 30) : f.start]):
            stepped = True
            continue  # "12.5 to 25 mcg increments every 4 to 6 weeks": how often to titrate, not to dose
        out.append(f)
    return out or ([] if stepped else row.frequencies)


def _paired_frequencies(row: DosingRow, dose: Dose | None) -> list[Frequency]:
    """Return the row's frequencies; of a row with several doses ("15 mg twice daily ... then
    20 mg once daily"), those written after the dose the order gives: each dose has its own."""
    freqs = _row_frequencies(row)
    if dose is None or len(row.doses) < 2:
        return freqs
    fam, k = _factor(dose.unit)
    paired = []
    for fr in freqs:
        before = [d for d in row.doses if d.end <= fr.start]
        if before and _factor(before[-1].unit)[0] == fam:
            d = before[-1]
            lo, hi = d.value * _factor(d.unit)[1], (d.value_max if d.value_max is not None else d.value) * _factor(d.unit)[1]
            if lo - 1e-9 <= dose.value * k <= hi + 1e-9:
                paired.append(fr)
    return paired or freqs


def _same(a: Frequency, b: Frequency) -> bool:
    if a.as_needed or b.as_needed:
        return a.as_needed and b.as_needed
    return a.interval_days is not None and b.interval_days is not None and abs(a.interval_days - b.interval_days) < 1e-6


def judge_frequency(order: DrugMention, basis: list[DosingRow], pool: list[DosingRow]) -> tuple[DoseVerdict, list[DosingRow]]:
    """Return the frequency verdict: the rows the dose verdict rests on first, then the pool."""
    if order.frequency is None:
        return DoseVerdict(RegimenStatus.NOT_PRESCRIBED), []
    f = order.frequency
    for rows in (basis, pool):
        stated = [(r, fr) for r in rows for fr in _paired_frequencies(r, order.dose)]
        if any(_same(f, fr) for _, fr in stated):
            r = next(r for r, fr in stated if _same(f, fr))
            return DoseVerdict(RegimenStatus.MATCHES, quote(r.span.text), f.text), [r]
        divided = [r for r in rows if re.search(r"divided\s+doses", r.span.text, re.I)]
        if divided and f.times and f.times >= 2:
            return DoseVerdict(RegimenStatus.MATCHES, quote(divided[0].span.text), f.text), divided[:1]
        if stated:
            r, fr = stated[0]
            return (DoseVerdict(RegimenStatus.MISMATCH, quote(r.span.text), f.text, [], f"the label says {fr.as_written}"), [r])
    return DoseVerdict(RegimenStatus.NOT_STATED, None, f.text, [], "the label states no dosing frequency for this indication"), []


def judge_route(order: DrugMention, basis: list[DosingRow], all_sentences: list[Span], label_routes: list[str]) -> tuple[DoseVerdict, list[Span]]:
    """Return the route verdict: the route the dose's rows give, else any D&A sentence, else the
    label's product routes."""
    from medcite.analyze.regimen import find_routes

    if order.route is None:
        return DoseVerdict(RegimenStatus.NOT_PRESCRIBED), []
    want = order.route.name
    stated = [(r.span, name) for r in basis for name in r.routes]
    stated += [(s, r.name) for s in all_sentences for r in find_routes(s.text)]
    saying = next((s for s, name in stated if name == want), None)
    lowered = [r.lower() for r in label_routes]
    if lowered:  # the product's own routes decide; a D&A sentence may say "do not give IM"
        if want in lowered:
            return DoseVerdict(RegimenStatus.MATCHES, want, want), [saying] if saying else []
        return DoseVerdict(RegimenStatus.MISMATCH, ", ".join(lowered), want, [], "route from the label's product data"), []
    if saying is not None:
        return DoseVerdict(RegimenStatus.MATCHES, want, want), [saying]
    if stated:
        span, name = stated[0]
        return DoseVerdict(RegimenStatus.MISMATCH, name, want, [], f"the label gives the {name} route"), [span]
    return DoseVerdict(RegimenStatus.NOT_STATED, None, want, [], "the label states no route"), []
