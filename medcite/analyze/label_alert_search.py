"""How a label alert is found: the label's sentences by severity, a trigger's test of a sentence,
and the search that picks the most severe sentence that fits.

A trigger (a genotype, a co-medication, renal function ...) is a test: sentence -> Hit or None,
where Hit.score says how exactly the sentence names the fact (2 and above: this very fact, e.g.
"poor CYP2D6 metabolizers" for a CYP2D6 poor metabolizer; below 2: only its topic). The search
reads the sections from the most to the least severe (boxed warning > contraindications >
warnings > Limitations of Use > interactions > dosage > specific populations), takes the first
section with an exact hit (else the first with any hit) and, when that section is a warning or an
interaction, the dose adjustment that goes with it. Sentences about other patients are screened
out first: a statement that the fact changes nothing ("no dose adjustment is needed"), a study
description, a sentence about an age group the patient is not in, a sentence that needs a
co-medication the trigger is not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from medcite.analyze.label_text import (
    BOXED,
    CONTRAINDICATIONS,
    DOSAGE,
    EXCLUDING,
    GERIATRIC_USE,
    INDICATIONS,
    INTERACTIONS,
    LACTATION,
    NURSING_MOTHERS,
    PEDIATRIC_USE,
    PRECAUTIONS,
    PREGNANCY,
    SPECIFIC_POPULATIONS,
    WARNINGS,
    WARNINGS_PRECAUTIONS,
    LabelText,
    Span,
    age_ranges,
    full_text_start,
    indication_units,
    quote,
    sentence_spans,
    sentences_of,
)
from medcite.records import AlertKind, CaseFacts, Finding

LIMITATIONS = "limitations-of-use"  # the Limitations of Use sentences of Indications & Usage

# (kind of alert, section codes), most severe first.
SEVERITY: tuple[tuple[AlertKind, tuple[str, ...]], ...] = (
    (AlertKind.BOXED_WARNING, (BOXED,)),
    (AlertKind.CONTRAINDICATION, (CONTRAINDICATIONS,)),
    (AlertKind.WARNING, (WARNINGS_PRECAUTIONS, WARNINGS, PRECAUTIONS)),
    (AlertKind.WARNING, (LIMITATIONS,)),
    (AlertKind.INTERACTION, (INTERACTIONS,)),
    (AlertKind.DOSAGE, (DOSAGE,)),
    (AlertKind.POPULATION, (SPECIFIC_POPULATIONS, PREGNANCY, LACTATION, NURSING_MOTHERS, PEDIATRIC_USE, GERIATRIC_USE)),
)
RANK = {kind: i for i, kind in enumerate(dict.fromkeys(k for k, _ in SEVERITY))}
SEVERE = frozenset({AlertKind.BOXED_WARNING, AlertKind.CONTRAINDICATION})
SPECIFIC = 2.0  # a test's score from which a hit names the very fact, not only its topic
# After an alert of these kinds no dose adjustment is added: the drug is not to be given, or the
# alert already is the adjustment.
FINAL = SEVERE | {AlertKind.DOSAGE, AlertKind.POPULATION}

ACTION = re.compile(r"\bshould\s+not\b|\bscreen|\bavoid|\bcontraindicated\b|\bnot\s+recommended\b|\bconsider\b|\bmonitor|"
                    r"\breduce\b|\bdo\s+not\b|\bdiscontinue\b|\bmaximum\b|\bnot\s+(?:to\s+)?exceed|\bdose\s+reduction|\badjust|"
                    r"\bnot\s+be\s+used\b|\bmust\b", re.IGNORECASE)
# "No dose adjustment is needed ...": the label says the fact does not matter.
NO_ACTION = re.compile(r"\bno\s+(?:\w+\s+){0,2}(?:adjustments?|modifications?|changes?)\b|\bnot\s+(?:necessary|required|needed)\b|"
                       r"\bno\s+clinically\s+(?:significant|meaningful|relevant)\b|\bno\s+(?:need|effect|impact|difference|increase)\b|"
                       r"\b(?:did|do|does)\s+not\s+(?:show|affect|alter|change|influence)\b|\bnot\s+(?:influenced|affected|altered)\b|"
                       r"\b(?:were|was)\s+similar\b", re.IGNORECASE)
# Words of a warning that tells against something ("avoid", "should not", "contraindicated").
STRONG_WARNING = re.compile(r"\bavoid|\bnot\s+recommended|\bshould\s+not\b|\bcontraindicated|\bdo\s+not\b", re.IGNORECASE)
# A study report, not a statement about patients.
DESCRIPTIVE = re.compile(r"\bstud(?:y|ies)\b|\btrials?\b|\bsubjects\b|\bplacebo\b|\bpharmacokinetics?\b|\bet\s+al\b|"
                         r"\bcase\s+reports?\b|\b(?:rats?|mice|dogs|rabbits|monkeys|animals?)\b", re.IGNORECASE)
# A report of what happened: a description for a fact of the patient's body (age, renal function),
# but for a drug or a genotype the warning itself ("fatal reactions have been reported with ...").
REPORTED = re.compile(r"\b(?:was|were|has\s+been|have\s+been)\s+(?:reported|evaluated|studied|observed)\b|\bcases?\s+of\b",
                      re.IGNORECASE)
# A sentence that needs a co-medication as well ("PMs taking a strong CYP3A inhibitor").
NEEDS_COMED = re.compile(r"\btaking\b|\bconcomitant|\bconcurrent|\bco-?administ|\bcombined\b|\binhibitors?\b|\binducers?\b",
                         re.IGNORECASE)
_LIMITATIONS_ON = re.compile(r"\blimitations?\s+of\s+use\b", re.IGNORECASE)
_POPULATION_WORD = re.compile(r"\b(?:patients|adults|individuals|people|persons|women|men|subjects)\b", re.IGNORECASE)
ADULT_AGES = (25.0, 50.0)  # an age range inside these bounds holds most adults: a dosing row, not a population


@dataclass
class RawAlert:
    """An alert before citation numbers: kind, the label sentence(s), trigger, spans."""

    kind: AlertKind
    text: str
    trigger: str
    spans: list[Span]


@dataclass
class Block:
    """The sentences of the sections of one severity (Highlights skipped: the full text is read)."""

    kind: AlertKind
    code: str
    sentences: list[Span]


@dataclass
class Hit:
    """What a trigger's test found in a sentence: how well it fits, where, and words for the trigger."""

    score: float
    start: int = 0
    end: int = 0
    note: str = ""


Test = Callable[[str, AlertKind], "Hit | None"]


_BLOCKS: dict[tuple[str, int, int], list[Block]] = {}
BLOCK_CACHE = 64  # labels whose blocks are kept (a label's sentences are split once per process)


def label_blocks(label: LabelText) -> list[Block]:
    """Return the label's sentences grouped by section, most severe first."""
    key = (label.doc_id, len(label.sections), sum(len(s.text) for s in label.sections))
    if key not in _BLOCKS:
        if len(_BLOCKS) >= BLOCK_CACHE:
            _BLOCKS.pop(next(iter(_BLOCKS)))
        _BLOCKS[key] = _split_blocks(label)
    return _BLOCKS[key]


def _split_blocks(label: LabelText) -> list[Block]:
    out: list[Block] = []
    for kind, codes in SEVERITY:
        for code in codes:
            if code == LIMITATIONS:
                sents = [s for u in indication_units(label) for s in u.limitations]
            else:
                sents = [s for sec in label.by_code(code) for s in sentences_of(sec, full_text_start(sec))]
            if sents:
                out.append(Block(kind, code, sents))
    return out


def indication_text(label: LabelText) -> str:
    """Return what the label is indicated for: Indications & Usage without its Limitations of Use
    (a "Limitations of Use" mark drops what follows it, up to the next numbered subsection) and
    without the sentences that exclude a use."""
    kept = []
    for sec in label.by_code(INDICATIONS):
        dropping = False
        for s, e in sentence_spans(sec.text):
            sentence = sec.text[s:e]
            if re.match(r"\s*\d+\s?\.\s?\d+\s+[A-Z]", sentence):
                dropping = False  # a new subsection
            dropping = dropping or bool(_LIMITATIONS_ON.search(sentence))
            if not dropping and not EXCLUDING.search(sentence):
                kept.append(sentence)
    return "\n".join(kept)


def live(findings: list[Finding], kind: str) -> list[Finding]:
    """Return the findings of one kind that are not negated."""
    return [f for f in findings if f.kind == kind and not f.negated]


def in_parentheses(text: str, pos: int) -> bool:
    """True when text[pos] is inside brackets ("(i.e., 26 hours in elderly patients aged 60 to 76
    years)", "[... by the Schwartz equation for pediatric patients]")."""
    before = text[:pos]
    return before.count("(") > before.count(")") or before.count("[") > before.count("]")


def age_groups(text: str) -> list[tuple[float, float, int, int]]:
    """Return the age groups a sentence names that set most adults apart (children, the elderly,
    "patients over 75"), outside brackets."""
    return [r for r in age_ranges(text) if (r[1] < ADULT_AGES[0] or r[0] >= ADULT_AGES[1]) and not in_parentheses(text, r[2])]


def other_ages(text: str, hit: Hit, age: float | None) -> bool:
    """True when the sentence speaks of age groups (children, the elderly, "patients over 75")
    that a patient of `age` is not in: the whole sentence when it names no other population
    ("Antidepressants increased the risk ... in children, adolescents, and young adults"), else
    the listed population that holds the hit ("... POLG mutations and children under two years")."""
    groups = age_groups(text)
    if age is None or not groups or any(lo <= age <= hi for lo, hi, _, _ in groups):
        return False
    rest = text
    for _, _, s, e in groups:  # the age groups and their nouns ("pediatric patients") blanked out
        tail = re.match(r"[\s,]*(?:patients|subjects|individuals|people|persons)\b", text[e:])
        e += tail.end() if tail else 0
        rest = rest[:s] + " " * (e - s) + rest[e:]
    if not _POPULATION_WORD.search(rest):
        return True
    part = part_of(text, hit, _GROUPS)
    return bool(age_groups(part)) and not any(lo <= age <= hi for lo, hi, _, _ in age_groups(part))


@dataclass
class Context:
    """What the triggers read: the label's blocks and the case."""

    label: LabelText
    facts: CaseFacts
    blocks: list[Block] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.blocks:
            self.blocks = label_blocks(self.label)

    def find(self, trigger: str, test: Test, kinds: set[AlertKind] | None = None, *, ages: bool = True,
             comed: bool = True, reports: bool = False) -> list[RawAlert]:
        """Return the alert(s) of `trigger` (see the module docstring); `ages` and `comed` switch off
        the age-group and co-medication screens for triggers of that kind, `reports` screens out
        case reports as well."""
        age = self.facts.patient.age_years
        described = re.compile(f"{DESCRIPTIVE.pattern}|{REPORTED.pattern}" if reports else DESCRIPTIVE.pattern, re.IGNORECASE)

        def screened(text: str, kind: AlertKind) -> Hit | None:
            hit = test(text, kind)
            if hit is None or (kind != AlertKind.BOXED_WARNING and described.search(text) and not ACTION.search(text)):
                return None
            if NO_ACTION.search(part_of(text, hit, _CLAUSES)) or (ages and other_ages(text, hit, age)):
                return None
            part = part_of(text, hit, _ALTERNATIVES)
            if comed and NEEDS_COMED.search(part) and not re.search(r"\bscreen|\btest", part, re.IGNORECASE):
                return None
            return hit

        return find_alerts(self.blocks, trigger, screened, kinds)


# How a sentence is cut into the parts that belong to one hit: clauses (a "no adjustment" clause
# after a semicolon says nothing of the clause before it), the populations a sentence lists
# ("patients over 60 years, with hepatic impairment, and CYP2C19 poor metabolizers"), and the
# alternatives of a condition ("PMs or patients receiving a CYP2C19 inhibitor").
_CLAUSES = re.compile(r"[;•]")
# A sentence that goes on about the fact of the one before it: an instruction or a reference back.
_FOLLOW_UP = re.compile(r"\s*(?:Reduce|Avoid|Monitor|Consider|Discontinue|Do\s+not|Use|Administer|Initiate|Limit|Decrease|"
                        r"Increase|This|These|Such|Therefore|In\s+(?:these|such)\s+patients)\b")
_GROUPS = re.compile(r"[;•,]|\b(?:or|and)\b")
_ALTERNATIVES = re.compile(r"[;•,]|\bor\b")


def part_of(text: str, hit: Hit, cuts: re.Pattern[str]) -> str:
    """Return the part of a sentence, between `cuts`, that holds the hit (the whole sentence when
    the hit has no place)."""
    if hit.end <= hit.start:
        return text
    marks = list(cuts.finditer(text))
    lo = max((m.end() for m in marks if m.end() <= hit.start), default=0)
    hi = min((m.start() for m in marks if m.start() >= hit.end), default=len(text))
    return text[lo:hi]


def _best(block: Block, test: Test) -> tuple[Span, Hit] | None:
    """Return the sentence of `block` that fits `test` best (a sentence that says what to do wins a tie)."""
    best: tuple[tuple[float, bool], Span, Hit] | None = None
    for s in block.sentences:
        hit = test(s.text, block.kind)
        if hit is None:
            continue
        key = (hit.score, bool(ACTION.search(s.text) or EXCLUDING.search(s.text)))
        if best is None or key > best[0]:
            best = (key, s, hit)
    return (best[1], best[2]) if best else None


def around(text: str, start: int, end: int, width: int = 150) -> str:
    """Return `text` as quoted for an alert: whole when short, else the words within `width`
    characters of the match, with ellipses (a boxed-warning headline can run to 1,000 characters)."""
    if len(text) <= 2 * width + (end - start):
        return quote(text)
    lo = text.rfind(" ", 0, max(0, start - width)) + 1
    hi = text.find(" ", min(len(text), end + width))
    hi = len(text) if hi < 0 else hi
    # a cross-reference cut in half ("[see Dosage and") is not removed by quote(): keep it whole or out
    if text.count("[", 0, lo) > text.count("]", 0, lo):
        lo = text.find("]", lo) + 1 or lo
    if text.count("[", lo, hi) > text.count("]", lo, hi):
        hi = text.rfind("[", lo, hi)
    return ("…" if lo > 0 else "") + quote(text[lo:hi]) + ("…" if hi < len(text) else "")


def make_alert(kind: AlertKind, span: Span, hit: Hit, trigger: str, context: list[Span] | None = None) -> RawAlert:
    """Return the alert quoting `span` around the hit, with the `context` sentences around it in
    label order; the hit's note joins the trigger."""
    if hit.note and hit.note.lower() not in trigger.lower():
        trigger = f"{trigger} ({hit.note})"
    spans = sorted([span, *(context or [])], key=lambda s: s.start)
    text = " ".join(around(s.text, hit.start, hit.end) if s is span else around(s.text, 0, 0) for s in spans)
    return RawAlert(kind, text, trigger, spans)


def _context(block: Block, span: Span, test: Test) -> list[Span]:
    """Return the sentence that completes `span`: when it says what to do, the risk stated right
    before it about the same fact ("Concomitant use with X increases ..." + "Reduce the dosage ...");
    when it states a risk, the sentence right after it that says what to do."""
    i = next((i for i, s in enumerate(block.sentences) if s is span), -1)
    prev = block.sentences[i - 1] if i > 0 else None
    nxt = block.sentences[i + 1] if 0 <= i < len(block.sentences) - 1 else None
    says_what_to_do = bool(ACTION.search(span.text) or EXCLUDING.search(span.text))
    if says_what_to_do and prev is not None and span.start - prev.end <= 3 and not ACTION.search(prev.text):
        hit = test(prev.text, block.kind)
        return [prev] if hit is not None and hit.score >= SPECIFIC else []
    if not says_what_to_do and nxt is not None and nxt.start - span.end <= 3 and ACTION.search(nxt.text):
        same_fact = _FOLLOW_UP.match(nxt.text) or test(nxt.text, block.kind) is not None
        return [nxt] if same_fact and not NO_ACTION.search(nxt.text) else []
    return []


def find_alerts(blocks: list[Block], trigger: str, test: Test, kinds: set[AlertKind] | None = None) -> list[RawAlert]:
    """Return the alert of the most severe section with a sentence that passes `test` (an exact
    hit anywhere before a loose one), and the dose adjustment that goes with a warning or an
    interaction."""
    found = [(b, f) for b in blocks if (kinds is None or b.kind in kinds) and (f := _best(b, test))]
    if not found:
        return []
    ranked = [(b, f) for b, f in found if f[1].score >= SPECIFIC] or found
    block, (span, hit) = ranked[0]
    out = [make_alert(block.kind, span, hit, trigger, _context(block, span, test))]
    if block.kind not in FINAL:
        dosage = next(((b, f) for b, f in ranked if b.kind == AlertKind.DOSAGE), None)
        if dosage is not None:
            b, (span, hit) = dosage
            out.append(make_alert(AlertKind.DOSAGE, span, hit, trigger, _context(b, span, test)))
    return out
