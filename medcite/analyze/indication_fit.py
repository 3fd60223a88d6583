"""Indication verdicts the word match (`indication.match_indication`) cannot decide, from the
label's own structure:

- **Meaning**: clinicians write "focal seizures" where the label says "partial-onset seizures",
  "atopic eczema" for "atopic dermatitis", "GAD" for "generalized anxiety disorder (GAD)". The
  case's condition phrases (its recognised conditions, the label's own abbreviations the case
  uses, and the case's first sentence) are compared with each indication and each exclusion
  (Limitation of Use, boxed-warning or "not indicated for" sentence) by MiniLM similarity (the
  ONNX model the index already uses). Close to an indication -> on_label; closer to an exclusion
  -> not_indicated; far from every indication while the case names a condition -> off_label;
  otherwise unclear. The thresholds are set so that a near miss says unclear rather than
  on_label: saying "on label" for a use the label does not cover is the unsafe direction.
- **Biomarkers**: an indication for tumours "whose tumors have EGFR exon 19 deletions" does not
  cover a case that says "EGFR wild-type" or "EGFR-negative": off_label, citing that sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from medcite.analyze.abbreviations import find_pairs
from medcite.analyze.condition_kinds import class_fit
from medcite.analyze.facts import is_condition_word, is_qualifier_word
from medcite.analyze.indication import GRADES, condition_terms, maximal_conditions
from medcite.analyze.dose_check import ADULT_AGE
from medcite.analyze.label_text import (
    ALONE_LABEL,
    BOXED,
    COMBINATION_USE,
    INDICATIONS,
    SEE_REF,
    IndicationUnit,
    LabelText,
    Span,
    indication_units,
    given_alone,
    USE_VERBS,
    patient_uses,
    sentences_of,
    terms,
)
from medcite.records import CaseFacts, IndicationStatus

ON_LABEL_SIM = 0.62  # cosine of MiniLM vectors: "focal seizures" ~ "partial-onset seizures" is 0.69
OFF_LABEL_SIM = 0.50  # "major depression" ~ "obsessive compulsive disorder" is 0.36; below this and named: off_label
EXCLUSION_MARGIN = 0.05  # an exclusion must be this much closer than the best indication

_INDICATED = re.compile(r"\bindicated\b\s*(?:only\s+)?(?:for|in|as)?\s*(?:the\s+)?(?:treatment|management|relief|prevention|prophylaxis)?\s*(?:of)?\s*", re.I)
_POSITIVE = re.compile(r"\b([A-Z][A-Z0-9]{2,9})(?:\s*|-)(?:exon\s+\d+\s+)?(?:mutat\w*|positive|\+|deletions?|amplif\w*|overexpress\w*|rearrange\w*|fusions?|-?mutated)", re.I)
_NEGATIVE = r"\b{gene}\b\s*(?:-|\s)?(?:wild[-\s]?type|negative|WT\b|non-?mutated|unmutated|-\s)"


@dataclass
class Fit:
    """A verdict from meaning or biomarkers, with the sentence it rests on."""

    status: IndicationStatus
    span: Span | None
    reason: str
    unit: IndicationUnit | None = None
    similarity: float = 0.0


_EXCLUDING_WORDS = re.compile(r"\bnot\s+(?:recommended|indicated|approved|for)\b|\blimitations?\s+of\s+use\b", re.I)
_FINITE = re.compile(r"\b(?:is|are|was|were|should|may|can|must|will|has|have|had|reduces?|been)\b", re.I)
_PIECES = re.compile(r"\s*(?:•|;|\n|(?<=[.:])\s+(?=[A-Z])|\s-\s)\s*")
_TAIL = re.compile(r"\s+(?:in\s+(?:adult\s+|pediatric\s+)?patients\b|in\s+adults\b|in\s+children\b|who\b|whose\b|that\b|as\s+(?:detected|determined|an?\s+adjunct)|"
                   r"\[see|\(\s*\d|with\s+or\s+without\b|after\b|following\b|to\s+reduce\b|,)", re.I)
_HEAD = re.compile(r"^(?:symptoms?\s+)?(?:in\s+)?(?:adults?|patients)?\s*with\s+|^(?:(?:the|long-term|first-line|adjuvant|maintenance|short-term|acute|chronic)\s+)*(?:treatment|management|relief|prevention|prophylaxis|therapy)"
                   r"(?:\s+for\s+\d+\s+to\s+\d+\s+weeks)?\s+(?:of|for|in)\s+|^(?:the\s+)?(?:adult\s+|pediatric\s+)?(?:patients|adults|children)\s+(?:\d+\s+years\s+[^,]*?)?with\s+|^the\s*:?\s*", re.I)


_GENERIC = {
    "symptom", "symptoms", "patient", "patients", "adult", "adults", "treatment", "therapy", "disease", "disorder",
    "year", "years", "month", "months", "week", "weeks", "day", "days", "start", "daily", "use", "age", "older",
    "children", "pediatric", "tablets", "capsules", "woman", "man", "female", "male", "history", "dose", "dosage",
}


def _meaningful(phrase: str) -> bool:
    words = re.findall(r"[A-Za-z][A-Za-z'’-]+", phrase)
    return any(len(w) >= 4 and w.lower() not in _GENERIC for w in words)


def condition_targets(unit: IndicationUnit) -> list[str]:
    """Return what an indication is for, as short phrases: its heading, and each "indicated
    for ..." clause or list item cut to its condition ("acute and recurrent diabetic
    gastroparesis"), then each disease a coordinated clause names (`coordinated_names`)."""
    return [t for _, t in _indication_targets([unit])[0]]


def _base_targets(unit: IndicationUnit) -> list[str]:
    """Return the heading and the clauses of an indication cut to their condition;
    cross-references separate items."""
    out = [unit.heading] if unit.heading else []
    text = SEE_REF.sub(" ; ", affirming_text(unit))
    for piece in _PIECES.split(text):
        if _EXCLUDING_WORDS.search(piece) or (not _INDICATED.search(piece) and _FINITE.search(piece)):
            continue  # an exclusion, or a sentence about something else ("Urine specimens ... should be obtained")
        m = _INDICATED.search(piece)
        body = piece[m.end():] if m else piece
        for seg in _TAIL.split(body):
            for _ in range(3):
                seg = _HEAD.sub("", seg.strip(" :,.-"))
            seg = seg.strip(" :,.-")
            if len(seg.split()) <= 18 and _meaningful(seg):
                out.append(seg)
    return [t for t in dict.fromkeys(out) if t and not re.match(r"(?i)limitations?\s+of\s+use", t)]


_ALIAS = r"(?:\s*\((?!(?:see|including|excluding|except|such|with|without|in|for|other|e\.g|i\.e)\b)([a-z][a-z'’ -]{2,30})\))?"
_KINDS = re.compile(rf"^(.*?\s)??([A-Za-z][\w-]*){_ALIAS}(?:\s+(?:and|or)\s+([A-Za-z][\w-]*){_ALIAS})?\s+([A-Za-z][\w-]*)$")


_ADJECTIVE = re.compile(r"(?:ic|al|ed|ive|ous|ary|ar|ile)$", re.I)
_NOT_A_KIND = {"associated", "related", "other", "unknown", "certain", "similar"}


def coordinated_names(target: str) -> list[str]:
    """Return each kind of a disease an indication names by one word each, under the label's
    own words and those it gives in brackets: "tonic-clonic (grand mal) and psychomotor
    (temporal lobe) seizures" -> "tonic-clonic seizures", "grand mal seizures", "psychomotor
    seizures", "temporal lobe seizures"; "actinic (solar) keratoses" -> "solar keratoses". Words
    that grade or stage a disease ("locally advanced or metastatic") are not kinds of it."""
    m = _KINDS.match(target.strip())
    if m is None or not is_condition_word(m.group(6)) or not (m.group(3) or m.group(4)):
        return []
    pre, head = m.group(1) or "", m.group(6)
    kinds = [w for w in (m.group(2), m.group(3), m.group(4), m.group(5)) if w]
    if any(is_qualifier_word(w) or is_condition_word(w) or is_condition_word(w.removesuffix("s")) or w.lower() in _NOT_A_KIND or " or " in w or " and " in w for w in kinds):
        return []  # "stroke and systemic embolism", "hyperammonemia and associated encephalopathy": not kinds of one disease
    if not (m.group(3) or m.group(5)) and not all(_ADJECTIVE.search(w) for w in kinds):
        return []  # "head and neck cancer": one region, not two kinds; unbracketed kinds are adjectives ("partial or generalized")
    return [n for n in dict.fromkeys(f"{pre}{w} {head}" for w in kinds) if n != target]


_LAY_LEAD = re.compile(rf"^.*?\b{USE_VERBS}\b(?:[\s:]*(?:to|and|help|treat|prevent|lower|reduce|relieve|{USE_VERBS})\b)*[\s:]*"
                       r"(?:(?:the\s+)?symptoms\s+of[\s:]+)?(?:o\s+|the\s+)?", re.I)
_LAY_RISK = re.compile(r"\b(?:risk|chances?)\b", re.I)  # "lower your chance of getting ...": an outcome prevented, not the patient's condition
_PEOPLE = r"in\s+(?:people|adults|children|patients|women|men)"
_LAY_TAIL = re.compile(rf"\s+(?:when|{_PEOPLE}|by|who|that|if|because|so|together\s+with|along\s+with)\b|[,.;:]", re.I)
_BRACKETS = re.compile(r"\s*\([^()]*\)")  # "Human Immunodeficiency Virus-1 (HIV-1) infection"
_LAY_POPULATION = re.compile(rf"^\s*{_PEOPLE}\s+(?:who|with|that)\b", re.I)
LAY_ATTACH_SIM = 0.45  # a use in the patients' words belongs to the indication it is closest to, if this close


def lay_targets(use: Span) -> list[str]:
    """Return the condition a use of the patient labeling names: "for 4 to 12 weeks to relieve
    heartburn symptoms with gastroesophageal reflux when ..." -> "heartburn symptoms with
    gastroesophageal reflux". Nothing when the words after the verb are not a disease ("the amount
    of acid in your stomach"), a risk lowered ("your chance of getting invasive breast cancer"),
    or a condition of people who have another one ("stroke ... in people who have atrial
    fibrillation"): those say what is prevented, not what the patient has."""
    text = _BRACKETS.sub("", use.text.strip())
    m = _LAY_LEAD.match(text)
    if m is None or _LAY_RISK.search(text[: m.end()]):
        return []
    pieces = _LAY_TAIL.split(text[m.end():], maxsplit=1)
    body = pieces[0].strip(" :-")
    tail = text[m.end() + len(pieces[0]):]
    words = body.split()
    if not words or len(words) > 12 or not is_condition_word(words[-1]) or _LAY_POPULATION.match(tail):
        return []
    return [body]


def _with_lay_targets(store, label: LabelText, pairs: list[tuple[IndicationUnit, str]]) -> list[tuple[IndicationUnit, str]]:
    """Return `pairs` and each use the patient labeling words its own way, paired with the
    indication it is closest to (a use close to none is left out)."""
    known = {t for _, t in pairs}
    lay = [t for t in dict.fromkeys(t for use in patient_uses(label) for t in lay_targets(use)) if t not in known]
    if not lay:
        return pairs
    vec = _vectors(store, lay + [t for _, t in pairs])
    sims = vec[: len(lay)] @ vec[len(lay) :].T
    return pairs + [(pairs[int(np.argmax(row))][0], t) for t, row in zip(lay, sims) if float(row.max()) >= LAY_ATTACH_SIM]


_SPLIT_CASE = re.compile(r"\s*(?:,|;|:|\.\s|\(|\)|\bwith\b|\band\b|\bon\b|\bdespite\b|\bafter\b|\bfor\b|\bwho\b|\bbut\b|\bnow\b|\bplus\b|"
                         r"\bdue\s+to\b|\bthat\b|\bwhich\b|\bthrough\b|\bsince\b|\bfrom\b|\bin\b|\bat\b|\bto\b)\s*", re.I)
_ABBREV = re.compile(r"(?<![\w-])[A-Z][A-Za-z]*[A-Z][A-Za-z]*(?![\w-])")  # "OAB", "HFrEF", "NSTEMI"
_MEASURED = re.compile(r"\s*(?:of|was|is|:|=)?\s*[<>≤≥~]?\s*\d")  # "BP 110/70", "EF of 30%"
_PERSON = re.compile(r"^\d+[- ]?(?:year|yr|month|week)s?[- ]old\b.*|^\d+\s?[MF]\b|^(?:a|an|the|his|her|newly|new|known|history|of)$", re.I)


def case_phrases(facts: CaseFacts, label: LabelText, table=None) -> list[str]:
    """Return the phrases of the case that may name its condition: its recognised conditions,
    the label's own abbreviations the case uses (expanded), the corpus's most frequent long form
    of its other abbreviations ("OAB"), and the short noun phrases of the sentences that do not
    give the order."""
    phrases = [c.name for c in maximal_conditions(facts.conditions)]
    if table is not None:
        phrases += _expanded_abbreviations(facts, table)
    label_text = " ".join(s.text for s in label.sections if s.code in ("34067-9", "34066-1"))
    negated = {c.abbreviation for c in facts.conditions if c.negated and c.abbreviation}
    for p in find_pairs(label_text):
        if p.short in negated:
            continue
        if re.search(r"(?<![\w-])" + re.escape(p.short) + r"(?![\w-])", facts.text):
            phrases.append(p.long)
    phrases += _genus_spelled_out(facts.text, label_text)
    text = re.sub(r"\b\d+(?:\.\d+)?\s*(?:mg|mcg|g|kg|mL|%)\S*", " , ", _without_drugs(facts, " , "))
    for chunk in _SPLIT_CASE.split(text):
        words = [w for w in chunk.split() if not _PERSON.match(w)]
        chunk = " ".join(words)
        if 1 <= len(words) <= 6 and _meaningful(chunk) and not _negated_chunk(chunk, facts):
            phrases.append(chunk)
    return [p for p in dict.fromkeys(" ".join(x.split()) for x in phrases) if len(p) > 2]


_SPECIES = re.compile(r"(?<![\w.])([A-Z])\.\s?([a-z]{4,})\b")  # "P. falciparum", "H. pylori"


def _genus_spelled_out(case_text: str, label_text: str) -> list[str]:
    """Return the organisms the case names with an abbreviated genus, as the label spells them
    ("P. falciparum" -> "Plasmodium falciparum")."""
    out = []
    for m in _SPECIES.finditer(case_text):
        full = re.search(rf"\b({m.group(1)}[a-z]{{2,}})\s+{m.group(2)}\b", label_text)
        if full:
            out.append(f"{full.group(1)} {m.group(2)}")
    return out


def _expanded_abbreviations(facts: CaseFacts, table) -> list[str]:
    """Return the corpus's most frequent long form of each abbreviation the case writes outside
    its orders ("BID", "PO") and measurements ("BP 110/70", "EF 30%")."""
    negated = {c.abbreviation for c in facts.conditions if c.negated}
    orders = [(d.start, max([d.end] + [p.end for p in (d.dose, d.frequency, d.route, d.duration) if p is not None]))
              for d in facts.drugs]
    out = []
    for m in _ABBREV.finditer(facts.text):
        if m.group(0) in negated or _MEASURED.match(facts.text, m.end()) or any(a <= m.start() < b for a, b in orders):
            continue
        out += table.expand(m.group(0))[:1]
    return out


def _negated_chunk(chunk: str, facts: CaseFacts) -> bool:
    """Return True when the chunk opens with a negation or every content word of it is negated
    ("has never had a gout attack")."""
    if re.match(r"(?i)(?:no|not|non|without|denies|negative)\b", chunk):
        return True
    words = {w for w in terms(chunk) if len(w) >= 4}
    return bool(words) and any(words <= set(terms(f"{n.value} {n.text}")) for n in facts.negations if n.kind == "negation")


def _condition_kinds(store):
    from medcite.analyze.resources import case_resources

    return case_resources(store).kinds


def _vectors(store, texts: list[str]) -> np.ndarray:
    from medcite.index.embed import get_embedder

    cache: dict[str, np.ndarray] = store.cached("indication_vectors", dict)
    missing = [t for t in dict.fromkeys(texts) if t not in cache]
    if missing:
        for t, v in zip(missing, get_embedder().embed(missing)):
            cache[t] = v / (np.linalg.norm(v) or 1.0)
    return np.stack([cache[t] for t in texts]) if texts else np.zeros((0, 384))


def _exclusions(label: LabelText, units: list[IndicationUnit]) -> list[Span]:
    from medcite.analyze.label_text import BOXED, EXCLUDING

    out = [s for u in units for s in u.limitations if not COMBINATION_USE.search(s.text)]
    for section in label.by_code(BOXED):
        out += [s for s in sentences_of(section) if EXCLUDING.search(s.text)]
    return out


def fit_by_meaning(store, label: LabelText, units: list[IndicationUnit], facts: CaseFacts) -> Fit | None:
    """Return the verdict from meaning, or None when nothing is close or far enough to decide."""
    indications = [u for u in units if not u.is_limitation]
    from medcite.analyze.facts import case_resources

    phrases = case_phrases(facts, label, case_resources(store)[1])
    if not indications or not phrases:
        return None
    pairs, cut = _indication_targets(indications)
    if not pairs:
        return None
    pairs = _with_lay_targets(store, label, pairs)
    targets = [t for _, t in pairs]
    excl = _exclusions(label, units)
    vec = _vectors(store, phrases + targets + [s.text for s in excl])
    pv, tv, ev = vec[: len(phrases)], vec[len(phrases) : len(phrases) + len(targets)], vec[len(phrases) + len(targets) :]
    sims = pv @ tv.T
    siblings = np.array([[_sibling(p, t, u) for u, t in pairs] for p in phrases], dtype=bool)
    closest = float(sims.max())
    sims = np.where(siblings | _unshared(phrases, pairs, cut), -1.0, sims)
    i_phrase, i_unit = np.unravel_index(int(np.argmax(sims)), sims.shape)
    best = float(sims[i_phrase, i_unit])
    if len(excl):
        esims = pv @ ev.T
        j_phrase, j = np.unravel_index(int(np.argmax(esims)), esims.shape)
        if float(esims[j_phrase, j]) >= ON_LABEL_SIM and float(esims[j_phrase, j]) > best + EXCLUSION_MARGIN:
            return Fit(IndicationStatus.NOT_INDICATED, excl[j], f"the label excludes {phrases[j_phrase]}", similarity=float(esims[j_phrase, j]))
    named = [c for c in facts.conditions if not c.negated]
    other = _other_kind(phrases, targets, pv @ tv.T, siblings, {c.name for c in named})
    if other is not None:
        return Fit(IndicationStatus.OFF_LABEL, None, other, None, closest)
    if best >= ON_LABEL_SIM:
        unit = _closest_unit(pairs, sims[i_phrase], phrases[i_phrase])
        return Fit(IndicationStatus.ON_LABEL, None, f"{phrases[i_phrase]} is the label's indication ({targets[i_unit][:80]})", unit, best)
    member = class_fit(_condition_kinds(store), pairs, maximal_conditions(facts.conditions))
    if member is not None:
        return Fit(IndicationStatus.ON_LABEL, None, member[1], member[0], best)
    if best < OFF_LABEL_SIM and named:
        return Fit(IndicationStatus.OFF_LABEL, None, f"{named[0].name} is not among the label's indications", None, best)
    return None


def _indication_targets(units: list[IndicationUnit]) -> tuple[list[tuple[IndicationUnit, str]], set[str]]:
    """Return (indication, target) pairs, the `condition_targets` of each, and the targets that
    are kinds cut from a coordinated clause and no indication's own clause."""
    pairs: list[tuple[IndicationUnit, str]] = []
    base: set[str] = set()
    kinds: set[str] = set()
    for u in units:
        own = _base_targets(u)
        cut = [n for t in own for n in coordinated_names(t)]
        pairs += [(u, t) for t in dict.fromkeys(own + cut)]
        base.update(own)
        kinds.update(cut)
    return pairs, kinds - base


def _unshared(phrases: list[str], pairs: list[tuple[IndicationUnit, str]], cut: set[str]) -> np.ndarray:
    """Return where a disease cut from a coordinated indication ("psychomotor seizures") meets a
    case phrase that has none of its own words but the disease word: the short name is close to
    any "... seizures" in meaning, so only its distinguishing words may count."""
    out = np.zeros((len(phrases), len(pairs)), dtype=bool)
    for j, (_, target) in enumerate(pairs):
        if target in cut:
            own = _words(target) - _words(target.split()[-1])
            out[:, j] = [not own & _words(p) for p in phrases]
    return out


def _other_kind(phrases: list[str], targets: list[str], sims: np.ndarray, siblings: np.ndarray, named: set[str]) -> str | None:
    """Return why the case's condition is another kind of an indicated disease: a condition the
    case names is close only to indications that grade or negate it otherwise; no other phrase of
    the case ("headache" for "chronic migraine", "EGFR exon 19 deletion" for "small cell lung
    cancer") makes it the indicated one."""
    for i, phrase in enumerate(phrases):
        if phrase in named and ((sims[i] >= OFF_LABEL_SIM) & siblings[i]).any() and not ((sims[i] >= ON_LABEL_SIM) & ~siblings[i]).any():
            j = int(np.argmax(np.where(siblings[i], sims[i], -1.0)))
            return f"{phrase} is not the label's {targets[j][:80]}"
    return None


_WORD = re.compile(r"[a-z][a-z'’-]+")
_FUNCTION = {"of", "the", "and", "or", "with", "without", "to", "by", "for", "in", "on", "a", "an", "as", "due", "associated"}


def _words(text: str) -> set[str]:
    words = _WORD.findall(text.lower())
    return {w[:-1] if len(w) > 4 and w.endswith("s") and not w.endswith(("is", "ss", "us")) else w for w in words} - _FUNCTION - _GENERIC


_KIND = re.compile(r"\b(type|stage|grade|class)\s+(\d+[a-z]?|[ivx]{1,4})\b|\b([a-z]{4,})\s([b-e]\b|a\b(?!\s+[a-z]))", re.I)


def _grades(words: set[str]) -> set[str]:
    return {part for w in words for part in w.split("-")} & GRADES


def _designated(text: str) -> set[tuple[str, str]]:
    """Return the numbered or lettered kinds in `text`: ("type", "1"), ("hepatitis", "b")."""
    return {((m.group(1) or m.group(3)).lower(), (m.group(2) or m.group(4)).lower()) for m in _KIND.finditer(text)}


def _other_designator(own: set[tuple[str, str]], theirs: set[tuple[str, str]]) -> bool:
    """Return True when the indication gives a word of the case's kinds another number or letter
    ("type 2" against the case's "type 1"), and never the case's own."""
    return any(any(w == v and d != e for v, e in theirs) and (w, d) not in theirs for w, d in own)


def _raw_words(text: str) -> set[str]:
    return set(_WORD.findall(re.sub(r"[‐‑–—]", "-", text.lower())))


def _opposed(words: set[str], others: set[str]) -> bool:
    """Return True when `others` holds the negation of a word of `words` ("small" / "non-small")."""
    return any(f"non-{w}" in others or f"non{w}" in others for w in words if len(w) >= 4)


def _sibling(phrase: str, target: str, unit: IndicationUnit) -> bool:
    """Return True when the case's phrase and the label's target name two grades of one disease:
    they share a disease word, and the phrase grades it in words the indication never uses
    while the indication grades it in others ("severe Alzheimer's dementia" / "mild to moderate
    dementia of the Alzheimer's type"; "sleep-onset insomnia" / "insomnia characterized by
    difficulty with sleep maintenance"; "chronic migraine" / "acute treatment of migraine") — or one
    names the other's negation ("small cell" / "non-small cell")."""
    pw, tw = _words(phrase), _words(target)
    praw, traw = _raw_words(phrase), _raw_words(target)
    if not any(is_condition_word(w) for w in praw & traw):
        return False
    if _opposed(praw, traw) or _opposed(traw, praw):
        return True  # "small cell lung cancer" / "non-small cell lung cancer"
    if _other_designator(_designated(phrase), _designated(unit.span.text)):
        return True  # "type 1 diabetes" / "type 2 diabetes mellitus"; "hepatitis B" / "hepatitis C"
    own, graded = _grades(pw), _grades(_words(unit.span.text))
    return bool(own) and bool(graded) and not own & graded


TIE = 0.02  # indications this close to the best are told apart by the words they share with the case


def _closest_unit(pairs: list[tuple[IndicationUnit, str]], sims: np.ndarray, phrase: str) -> IndicationUnit:
    """Return the indication closest to the case's phrase; of indications whose closest target is
    as close ("thrombocytopenia" in the ITP and the hepatitis C indications), the one whose own
    words hold more of the phrase ("immune thrombocytopenia")."""
    best: dict[int, tuple[float, IndicationUnit]] = {}
    for (unit, _), sim in zip(pairs, sims):
        if float(sim) > best.get(id(unit), (-1.0, unit))[0]:
            best[id(unit)] = (float(sim), unit)
    top = max(sim for sim, _ in best.values())
    words = set(terms(phrase))

    def rank(item: tuple[float, IndicationUnit]) -> tuple[int, float]:
        sim, unit = item
        return len(words & set(terms(f"{unit.heading} {affirming_text(unit)}"))), sim

    return max((x for x in best.values() if x[0] >= top - TIE), key=rank)[1]


_DENIED = re.compile(r"\b(?:no|never\s+had|without|denies|not\s+(?:have|had))\s+(?:any\s+|an?\s+|known\s+|history\s+of\s+|evidence\s+of\s+)?([A-Za-z][\w-]{3,})", re.I)
_NOT_A_REQUIREMENT = {"prior", "previous", "history", "treatment", "therapy", "response", "evidence", "improvement", "known",
                      "other", "additional", "interacting", "significant", "further", "current", "active", "benefit", "change"}


def denied_requirement(unit: IndicationUnit | None, facts: CaseFacts) -> Fit | None:
    """Return off_label when the indication names something the case says the patient does not
    have ("... EDS or cataplexy in adult patients with narcolepsy" for a case with "no
    narcolepsy"; "relapsing forms of MS" for "never had relapses")."""
    if unit is None:
        return None
    wanted = set(terms(affirming_text(unit)))
    for m in _DENIED.finditer(facts.text):
        word = m.group(1).lower()
        stems = set(terms(word))
        if word in _NOT_A_REQUIREMENT or word in _GENERIC or len(word) < 5 or not stems & wanted:
            continue
        return Fit(IndicationStatus.OFF_LABEL, None, f"the indication requires {word}, which the case says the patient does not have", unit)
    return None


def biomarker_conflict(unit: IndicationUnit | None, case_text: str) -> Fit | None:
    """Return off_label when the indication requires a biomarker the case says is absent."""
    if unit is None:
        return None
    for sent in (sentences_of(unit.section, unit.span.start, unit.span.end) if unit.section else [unit.span]):
        for m in _POSITIVE.finditer(sent.text):
            gene = m.group(1)
            if gene.lower() in ("the", "and", "for", "with"):
                continue
            if re.search(_NEGATIVE.format(gene=re.escape(gene)), case_text, re.I):
                return Fit(IndicationStatus.OFF_LABEL, sent, f"the indication requires {m.group(0)}; the case says {gene} is not", unit)
    return None


_CHILD_EXCLUSION = re.compile(r"\bnot\s+(?:recommended|indicated|approved)\b[^.]{0,60}\b(?:pediatric|children|neonates|infants)\b|"
                              r"\b(?:pediatric|children)\b[^.]{0,40}\bnot\s+(?:recommended|indicated|approved)\b", re.I)


def child_exclusion(label: LabelText, facts: CaseFacts) -> Fit | None:
    """Return not_indicated when the patient is a child and the label says its drug is not
    recommended / not indicated in pediatric patients (Indications, boxed warning or Pediatric Use)."""
    from medcite.analyze.label_text import BOXED, INDICATIONS, SPECIFIC_POPULATIONS

    age = facts.patient.age_years
    if age is None or age >= ADULT_AGE:
        return None
    for section in label.by_code(INDICATIONS, BOXED, SPECIFIC_POPULATIONS, "34081-0"):
        for sent in sentences_of(section):
            if _CHILD_EXCLUSION.search(sent.text):
                return Fit(IndicationStatus.NOT_INDICATED, sent, f"the label does not recommend its use in a {age:g}-year-old")
    return None


_NOT_INDICATED = re.compile(r"\bnot\s+(?:indicated|approved)\s+(?:for|in)\b", re.I)
_STRONG_EXCLUSION = re.compile(r"\bnot\s+(?:indicated|approved|recommended)\b|\bnot\s+for\s+(?:use|the\s+treatment)|\bcontraindicated\b|\bshould\s+not\s+be\s+used", re.I)


def exclusion_part(span: Span) -> Span:
    """Return the excluding part of a sentence: from a "Limitations of Use" mark or the list item
    that holds the excluding words ("... indicated for: X Limitations of Use: ... not indicated
    ..." -> the part after the mark)."""
    m = _STRONG_EXCLUSION.search(span.text) or re.search(r"\bnot\b", span.text)
    if m is None:
        return span
    marks = [x.start() for x in re.finditer(r"(?i)limitations?\s+of\s+use|•|(?<=:)\s|(?<![\w.])\d{1,2}\.\d{1,2}\s+(?-i:[A-Z])",
                                            span.text[: m.start()])]
    if not marks:
        return span
    cut = marks[-1]
    return Span(span.text[cut:], span.start + cut, span.end, span.passage_ids, span.code)


def exclusion_sentences(label: LabelText) -> list[Span]:
    """Return the label's exclusions: each indication's Limitations of Use (and lists), the
    Indications & Usage and boxed-warning sentences that say not indicated / not approved /
    contraindicated — never a co-medication exclusion ("in combination with")."""
    from medcite.analyze.label_text import BOXED

    out = [x for u in indication_units(label) for x in u.limitations]
    for u in indication_units(label):
        if u.section is not None:
            out += [exclusion_part(x) for x in sentences_of(u.section, u.span.start, u.span.end) if _STRONG_EXCLUSION.search(x.text)]
    for section in label.by_code(BOXED):
        out += [exclusion_part(x) for x in sentences_of(section) if _STRONG_EXCLUSION.search(x.text)]
    # "5.5 Use in Premenopausal Women: ... is not indicated for the treatment of breast cancer in
    # premenopausal women": a use excluded in so many words, wherever the label says it (a
    # warning's "not recommended" is an alert, not an indication status)
    seen = {(x.start, x.code) for x in out}
    for section in (s for s in label.sections if _NOT_INDICATED.search(s.text)):
        out += [exclusion_part(x) for x in sentences_of(section) if _NOT_INDICATED.search(x.text) and (x.start, x.code) not in seen]
    return [x for x in out if not COMBINATION_USE.search(x.text)]


def affirming_text(unit: IndicationUnit) -> str:
    """Return an indication's text without its exclusions: Limitations of Use, "not approved
    for: • ..." lists and contraindicating sentences are blanked."""
    text = unit.span.text
    cut = [(x.start, x.end) for x in unit.limitations]
    if unit.section is not None:
        cut += [(p.start, p.end) for x in sentences_of(unit.section, unit.span.start, unit.span.end)
                if _STRONG_EXCLUSION.search(x.text) for p in [exclusion_part(x)]]
    for a, b in sorted(cut, reverse=True):
        a, b = a - unit.span.start, b - unit.span.start
        if 0 <= a <= b <= len(text):
            text = text[:a] + " ; " + text[b:]
    return text


def _affirming_words(unit: IndicationUnit) -> set[str]:
    from medcite.analyze.label_text import terms

    return set(terms(affirming_text(unit)))


_POPULATION = re.compile(r"\b(?:post|pre|peri)menopausal\b|\bpregnan\w*|\bbreast-?feeding\b|\blactating\b|\belderly\b|\bnursing[- ]home\b", re.I)


def _without_drugs(facts: CaseFacts, filler: str = " ") -> str:
    """Return the case text with each drug mention replaced by `filler`."""
    text = facts.text
    for d in sorted(facts.drugs, key=lambda d: -d.start):
        text = text[: d.start] + filler + text[d.end :]
    return text


def _label_words(label: LabelText) -> tuple[set[str], set[str]]:
    """Return the words that never distinguish an exclusion (the drug's names, generic words) and
    the words the label's indications affirm."""
    own = set(terms(" ".join(label.names()))) | set(terms(" ".join(_GENERIC)))
    return own, {w for u in indication_units(label) if not u.is_limitation for w in _affirming_words(u)}


def excluded_by_words(label: LabelText, unit: IndicationUnit | None, facts: CaseFacts) -> Fit | None:
    """Return not_indicated when an exclusion sentence of the label (Indications & Usage or boxed
    warning: "not indicated / not approved / contraindicated ...") names something about the case
    that no indication of the label does (the case's conditions and population words only): "postmenopausal", "dementia-related psychosis",
    "pyelonephritis", "leg cramps". Words of the drug's names and generic words do not count."""
    from medcite.analyze.label_text import terms

    case_words: set[str] = set()
    for c in facts.conditions:
        if not c.negated:
            case_words |= set(terms(c.name))
    case_words |= set(terms(" ".join(m.group(0) for m in _POPULATION.finditer(facts.text))))
    if facts.patient.pregnant:
        case_words |= set(terms("pregnant pregnancy"))
    if facts.patient.age_years is not None and facts.patient.age_years < ADULT_AGE:
        case_words |= set(terms("pediatric children"))
    own, indication_words = _label_words(label)
    if any(d.frequency is not None and d.frequency.as_needed for d in facts.proposed()):
        case_words |= set(terms("as needed prn"))
    purposes = {_purpose(w) for w in terms(" ".join(m.group(0) for m in _PURPOSE.finditer(facts.text)))}
    # what each indication (each sentence or list item of it) says together
    indications = [{_purpose(w) for w in terms(piece)} for u in indication_units(label) if not u.is_limitation
                   for piece in _PIECES.split(affirming_text(u)) if piece.strip()]
    conditions = [set(terms(c.name)) for c in facts.conditions if not c.negated]
    for sent in exclusion_sentences(label):
        words = set(terms(sent.text)) - own - indication_words
        hit = sorted(w for w in words & case_words if len(w) >= 3)
        # outside Indications & Usage and the boxed warning, the sentence must name a whole
        # condition of the case ("bipolar depression" is not "major depression")
        if sent.code not in (INDICATIONS, BOXED) and not any(c <= set(terms(sent.text)) for c in conditions):
            hit = []
        if hit:
            return Fit(IndicationStatus.NOT_INDICATED, sent, f"the label excludes this use ({', '.join(hit)})", unit)
        # "not indicated for prophylactic ... administration in otitis media": the purpose and the
        # condition together, which no one indication of the label gives together
        words = {_purpose(w) for w in set(terms(sent.text)) - own}
        both = words & (case_words | purposes)
        if words & purposes and len(both) >= 2 and not any(both <= ind for ind in indications):
            return Fit(IndicationStatus.NOT_INDICATED, sent, f"the label excludes this use ({', '.join(sorted(both))})", unit)
    return None


def excluded_by_qualifier(label: LabelText, facts: CaseFacts, table=None) -> Fit | None:
    """Return not_indicated when an exclusion sentence names a whole condition of the case (or
    the long form of an abbreviation it writes) together with a word the case states and no
    indication of the label uses: "nephrogenic" in "... consistent with lithium-induced nephrogenic
    DI" against "not indicated for the treatment of nephrogenic diabetes insipidus"; "Shiga toxin"
    in a case of hemolytic uremic syndrome against "... Shiga toxin E. coli related hemolytic
    uremic syndrome"."""
    named = [c.words for c in condition_terms(facts.conditions)]
    if table is not None:
        named += [set(terms(x)) for x in _expanded_abbreviations(facts, table)]
    # "electric-shock pain ... pain relief": a condition named again inside a longer one is that one
    named = [c for c in named if c and not any(c < other for other in named)]
    stated = {w for w in terms(_without_drugs(facts)) if len(w) >= 4} - set().union(*named) if named else set()
    own, indication_words = _label_words(label)
    for sent in exclusion_sentences(label):
        words = set(terms(sent.text))
        if any(c <= words for c in named):
            extra = sorted((words - own - indication_words) & stated)
            if extra:
                return Fit(IndicationStatus.NOT_INDICATED, sent, f"the label excludes this use ({', '.join(extra)})")
    return None


_PURPOSE = re.compile(r"\bprophyla\w*|\bprevent\w*|\bprolonged\b|\blong-term\b|\bsuppressive\b|\bmaintenance\b", re.I)


def _purpose(word: str) -> str:
    """One word for a purpose however written ("prophylactic", "prophylaxis", "to prevent")."""
    return "prophylaxi" if word.startswith(("prophyla", "prevent")) else word


_COMBINATION = re.compile(r"\bin\s+combination\s+with\b|\bconcomitant(?:ly)?\b|\bwith\s+other\b", re.I)
# INN/USAN stems that say what kind of agent a name is: -mab (monoclonal antibody), -cept (receptor
# fusion protein) are biologics; a label's "biologic ..." exclusion covers them.
_BIOLOGIC_STEM = re.compile(r"(?:mab|cept)$", re.I)


def combination_exclusion(label: LabelText, facts: CaseFacts, drug: str, classes) -> Fit | None:
    """Return not_indicated when a Limitation of Use excludes use in combination with a drug the
    patient takes with this one: named, of a pharmacologic class its own label gives it
    (`classes(generic)`), or a biologic by its name's stem."""
    comeds = [d for d in facts.drugs if d.generic != drug and not d.negated
              and (d.role in ("comedication", "proposed") or (d.role == "unspecified" and d.dose is not None))]
    if not comeds:
        return None
    sentences = [x for u in indication_units(label) for x in u.limitations if _COMBINATION.search(x.text)]
    for sent in sentences:
        low = sent.text.lower()
        for d in comeds:
            kinds = [d.generic, d.text, *classes(d.generic)] + (["biologic"] if _BIOLOGIC_STEM.search(d.generic.split()[0]) else [])
            hit = next((k for k in kinds if k and re.search(r"(?<![\w-])" + re.escape(k.lower()), low)), None)
            if hit:
                return Fit(IndicationStatus.NOT_INDICATED, sent, f"the label excludes use with {d.generic} ({hit})")
    return None


def monotherapy_exclusion(label: LabelText, facts: CaseFacts, drug) -> Fit | None:
    """Return not_indicated when the case gives the drug alone ("on its own") and the label's
    Indications & Usage or boxed warning says it is not for use as monotherapy / only in
    combination."""
    if given_alone(facts.text, drug) is None:
        return None
    own = [x for u in indication_units(label) if u.section is not None for x in sentences_of(u.section, u.span.start, u.span.end)]
    hit = next((x for x in exclusion_sentences(label) + own if ALONE_LABEL.search(x.text)), None)
    return Fit(IndicationStatus.NOT_INDICATED, hit, "the label does not indicate the drug on its own") if hit else None
