"""Boxed warnings, contraindications, warnings and interactions of a label that a fact of the case
triggers: a genotype (HLA-B*15:02 and carbamazepine), a co-medication named in the label
(warfarin and capecitabine), renal function against the label's creatinine-clearance thresholds,
pregnancy.

Each alert is the label's own sentence (cross-references removed) with the span it came from, so
the caller cites the exact passage. Sections are searched from the most to the least severe; a
trigger gives at most one alert per kind of section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from medcite.analyze.label_text import (
    BOXED,
    CONTRAINDICATIONS,
    DOSAGE,
    INTERACTIONS,
    PRECAUTIONS,
    PREGNANCY,
    SPECIFIC_POPULATIONS,
    WARNINGS,
    WARNINGS_PRECAUTIONS,
    LabelText,
    Span,
    quote,
    full_text_start,
    sentences_of,
)
from medcite.records import CaseFacts, DrugMention, Genotype

# (kind of alert, section codes), most severe first.
SEVERITY = (
    ("boxed_warning", (BOXED,)),
    ("contraindication", (CONTRAINDICATIONS,)),
    ("warning", (WARNINGS_PRECAUTIONS, WARNINGS, PRECAUTIONS)),
    ("interaction", (INTERACTIONS,)),
)
_ACTION = re.compile(r"\bshould\s+not\b|\bscreen|\bavoid|\bcontraindicated\b|\bnot\s+recommended\b|\bconsider\b|"
                     r"\bmonitor|\breduce\b|\bdo\s+not\b|\bdiscontinue", re.IGNORECASE)
_CRCL = re.compile(r"\b(?:CrCl|CLcr|CL\s?cr|creatinine\s+clearance|eGFR|glomerular\s+filtration)\b", re.IGNORECASE)
_ML_MIN = r"\s*(?:mL|ml)\s*/\s*min"
_RANGE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:to|-|–|and)\s*(\d+(?:\.\d+)?)" + _ML_MIN)
_BELOW = re.compile(r"(?:<|≤|less\s+than|below|under|lower\s+than|no\s+more\s+than|at\s+most)\s*(?:or\s+equal\s+to\s*)?(\d+(?:\.\d+)?)" + _ML_MIN, re.IGNORECASE)
_CAPS_RUN = re.compile(r"\b[A-Z][A-Z\-,:;&]+(?:\s+[A-Z][A-Z\-,:;&]+){2,}")
_PREGNANCY = re.compile(r"\bpregnan|\bembryo-?fetal\b|\bfetal\s+(?:harm|toxicity|death)\b|\bteratogen", re.IGNORECASE)


@dataclass
class RawAlert:
    """An alert before citation numbers: kind, the label sentence(s), trigger, spans."""

    kind: str
    text: str
    trigger: str
    spans: list[Span]


def _sentences_by_kind(label: LabelText, kinds=SEVERITY):
    for kind, codes in kinds:
        # The Highlights summary repeats the full text in clipped form: read the full text.
        sents = [s for sec in label.by_code(*codes) for s in sentences_of(sec, full_text_start(sec))]
        if sents:
            yield kind, sents


def genotype_pattern(g: Genotype) -> re.Pattern[str]:
    """Return a pattern finding the gene (and allele, when the case gives one) in label text:
    "HLA-B*15:02" finds "HLA-B*1502" and "HLA-B* 15:02"."""
    gene = re.escape(g.gene).replace(r"\-", "-?")
    if g.allele and g.gene.upper().startswith("HLA"):
        digits = re.sub(r"\D", "", g.allele)
        allele = r":?".join(re.escape(digits[i : i + 2]) for i in range(0, len(digits), 2))
        return re.compile(gene + r"\s*\*?\s*" + allele + r"(?!\d)", re.IGNORECASE)
    return re.compile(r"\b" + gene + r"\b", re.IGNORECASE)


def _status_words(g: Genotype) -> re.Pattern[str] | None:
    if g.status.endswith("metabolizer"):
        return re.compile(g.status.split()[0].replace("ultrarapid", "ultra-?rapid") + r"\s+metaboli[sz]er", re.IGNORECASE)
    if g.status == "deficient":
        return re.compile(r"deficien", re.IGNORECASE)
    return None


def genotype_alerts(label: LabelText, genotypes: list[Genotype]) -> list[RawAlert]:
    """Return the alerts the case's (non-negative) genotypes trigger."""
    out: list[RawAlert] = []
    for g in genotypes:
        if g.negated or g.status in ("negative", "normal metabolizer", "extensive metabolizer"):
            continue
        pattern, status = genotype_pattern(g), _status_words(g)
        # the genotype as the case writes it ("HLA-B*1502"), with its normalised status
        if not g.text:
            trigger = f"{g.gene}{g.allele or ''} {g.status}"
        elif g.status.split()[0] in g.text.lower():
            trigger = g.text  # "CYP2C19 poor metabolizer" already says its status
        else:
            trigger = f"{g.text} {g.status}"
        for kind, sents in _sentences_by_kind(label):
            hits = [i for i, s in enumerate(sents) if pattern.search(s.text) and (status is None or status.search(s.text) or g.allele)]
            if not hits:
                continue
            # Prefer the sentence that says what to do ("should be screened", "should not be treated").
            i = next((i for i in hits if _ACTION.search(sents[i].text)), hits[0])
            chosen = [sents[i]]
            nxt = sents[i + 1] if i + 1 < len(sents) else None
            if nxt is not None and re.search(r"\ballele\b|\bpositive\b|\bcarriers?\b|\bgenotype\b", nxt.text, re.IGNORECASE):
                chosen.append(nxt)
            out.append(RawAlert(kind, " ".join(quote(s.text) for s in chosen), trigger, chosen))
            break  # the most severe section that names the genotype
    return out


def _name_pattern(names: list[str]) -> re.Pattern[str] | None:
    names = sorted({n.lower() for n in names if n and len(n) >= 4}, key=len, reverse=True)
    if not names:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(n) for n in names) + r")(?![\w-])", re.IGNORECASE)


def _plural(name: str) -> str:
    return name[:-1] + "ies" if name.endswith("y") and not name.endswith(("ay", "ey", "oy")) else name + "s"


def _around(text: str, start: int, end: int, width: int = 150) -> str:
    """Return `text` as quoted for an alert: whole when short, else the words within `width`
    characters of the match, with ellipses (a boxed-warning headline can run to 1,000 characters)."""
    if len(text) <= 2 * width + (end - start):
        return quote(text)
    lo = text.rfind(" ", 0, max(0, start - width)) + 1
    hi = text.find(" ", min(len(text), end + width))
    hi = len(text) if hi < 0 else hi
    return ("…" if lo > 0 else "") + quote(text[lo:hi]) + ("…" if hi < len(text) else "")


def comedication_alerts(label: LabelText, others: list[DrugMention], synonyms, classes=None) -> list[RawAlert]:
    """Return the alerts the case's other drugs trigger by being named in the label, by name or
    by class (`synonyms(generic)`: the dictionary names of a generic; `classes(generic)`: its
    pharmacologic classes from its own held label, e.g. diazepam -> benzodiazepine, which
    matches "benzodiazepines" in an opioid's boxed warning)."""
    out: list[RawAlert] = []
    own = {n.lower() for n in label.names()}
    own_classes = set(label.meta.get("pharm_classes") or [])
    for d in others:
        by_name = _name_pattern([n for n in [d.generic, d.text] + list(synonyms(d.generic)) if n.lower() not in own])
        drug_classes = [c for c in (classes(d.generic) if classes else []) if not any(c in o.lower() for o in own_classes)]
        by_class = _name_pattern([form for c in drug_classes for form in (c, _plural(c))])
        for kind, sents in _sentences_by_kind(label):
            hit, trigger, m = None, None, None
            for pattern, named in ((by_name, False), (by_class, True)):
                if pattern is None:
                    continue
                for s in sents:
                    m = pattern.search(s.text)
                    if m:
                        hit, trigger = s, f"{d.generic} ({m.group(0).lower()})" if named else d.generic
                        break
                if hit is not None:
                    break
            if hit is not None:
                out.append(RawAlert(kind, _around(hit.text, m.start(), m.end()), trigger, [hit]))
                break  # the most severe section that names the drug or its class
    return out


def _crcl_applies(sentence: str, value: float) -> bool:
    if not _CRCL.search(sentence):
        return False
    for m in _RANGE.finditer(sentence):
        lo, hi = float(m.group(1)), float(m.group(2))
        if lo <= value <= hi:
            return True
    for m in _BELOW.finditer(sentence):
        if value < float(m.group(1)) or ("equal" in m.group(0) or "≤" in m.group(0)) and value == float(m.group(1)):
            return True
    # ">" thresholds ("no adjustment for CrCl > 50 mL/min") describe better renal function: they
    # are not alerts for this patient.
    return False


def renal_alerts(label: LabelText, crcl: float | None) -> list[RawAlert]:
    """Return the label sentences whose creatinine-clearance threshold the case's CrCl meets."""
    if crcl is None:
        return []
    # A dose adjustment is what the prescriber acts on: it ranks above a general warning here.
    kinds = SEVERITY[:2] + (("dosage", (DOSAGE,)),) + SEVERITY[2:] + (("warning", (SPECIFIC_POPULATIONS,)),)
    for kind, sents in _sentences_by_kind(label, kinds):
        hit = next((s for s in sents if _crcl_applies(s.text, crcl)), None)
        if hit is not None:
            return [RawAlert(kind, quote(hit.text), f"CrCl {crcl:g} mL/min", [hit])]
    return []


def pregnancy_alerts(label: LabelText, pregnant: bool | None) -> list[RawAlert]:
    """Return the boxed warning / contraindication / warning sentences about pregnancy."""
    if not pregnant:
        return []
    kinds = SEVERITY[:3] + (("warning", (PREGNANCY,)),)
    for kind, sents in _sentences_by_kind(label, kinds):
        # an all-capitals heading ("WARNING: ... EMBRYO-FETAL TOXICITY ...") names the topic; the
        # sentence under it says what happens
        body = [s for s in sents if _PREGNANCY.search(_CAPS_RUN.sub(" ", s.text))]
        hit = next((s for s in body if _ACTION.search(s.text)), None) or (body[0] if body else None)
        hit = hit or next((s for s in sents if _PREGNANCY.search(s.text)), None)
        if hit is not None:
            return [RawAlert(kind, quote(hit.text), "pregnancy", [hit])]
    return []


def case_alerts(label: LabelText, facts: CaseFacts, drug: DrugMention, synonyms, classes=None) -> list[RawAlert]:
    """Return every alert the case's facts trigger in `label`, most severe first."""
    # co-medications: drugs the patient takes or is to take with this one; a drug named in
    # passing ("somatostatin receptor-positive") or taken before is not a co-medication
    others = [d for d in facts.drugs if d.generic != drug.generic and not d.negated and d.role in ("comedication", "proposed")]
    # one mention per other drug
    uniq = list({d.generic: d for d in others}.values())
    alerts = genotype_alerts(label, facts.patient.genotypes)
    alerts += comedication_alerts(label, uniq, synonyms, classes)
    alerts += renal_alerts(label, facts.patient.crcl_ml_min)
    alerts += pregnancy_alerts(label, facts.patient.pregnant)
    order = {k: i for i, (k, _) in enumerate(SEVERITY)}
    alerts.sort(key=lambda a: order.get(a.kind, len(order)))
    return alerts
