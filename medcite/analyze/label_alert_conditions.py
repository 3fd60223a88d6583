"""Label alerts about a condition of the case that a boxed warning, a contraindication or an
exclusion names ("patients with heart failure", "dementia-related psychosis", "in the setting of
CABG surgery", "not indicated for ... in premenopausal women").

The label side: the noun phrases of the sentence parts that describe patients (a whole
contraindication but its consequences; after "patients with", "history of", "treatment of" or an
exclusion elsewhere). The case side: its content words with the words right before them, outside
drug names, patient facts, negations and "normal"/"negative" results. Words meet through stems
(`label_text.terms`). A phrase matches on its head word ("asthma" for "bronchial asthma") unless
the head is general ("heart failure" is not "renal failure"), the label writes it with several
modifiers ("respiratory depression" beside "major depression"), or the case qualifies it
otherwise; an acronym ("CABG") matches itself. What the label treats is never a trigger.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from medcite.analyze.label_alert_search import STRONG_WARNING, Context, Hit, RawAlert, indication_text, make_alert
from medcite.analyze.label_text import EXCLUDING, LabelText, terms
from medcite.records import AlertKind, CaseFacts

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’]*")
# English function words (the index's analyzer keeps most of them).
_FUNCTION_WORDS = frozenset(
    "a an the and or nor but if then than so as at by for from in into of off on onto out over to up with within without "
    "about above after against along among around before behind below between beyond during except inside near since "
    "through toward towards under until upon via per is are was were be been being am do does did done have has had having "
    "will would shall should may might must can could i me my we us our you your he him his she her hers it its they them "
    "their this that these those who whom whose which what when where why how all any both each few more most other some "
    "such no not only own same too very just also again ever never once here there every".split())
_POPULATION_WORDS = frozenset("patients patient women woman men man children child adults adult infants neonates pediatric "
                              "elderly individuals subjects persons people females males mothers girls boys adolescents".split())
# Words that end a condition's noun phrase (verbs, cue words, units, order shorthand, dosage forms).
_NOT_CONDITION = frozenset(
    "use used contraindicated known history including include treatment treat receiving taking risk because due "
    "following setting prevention management approved indicated recommended evidence suggestive significant especially "
    "particularly related associated induced mediated unknown certain see day days week weeks month months year years hour "
    "hours minutes daily times dose doses dosage mg mcg age old ago information section table warnings precautions "
    "contraindications reactions po iv im sc sq bid tid qid qd qhs qam qpm od injection injections tablet tablets capsule "
    "capsules solution suspension formulation infusion start started starting plan order ordered prescribed stop stopped "
    "stopping discontinue discontinued discontinuing discontinuation initiation initiating therapy".split())
# A head this general needs its modifier to match ("heart failure" is not "renal failure").
_GENERIC_HEADS = (
    "failure disease disorder syndrome impairment insufficiency dysfunction infection injury condition reaction event cancer "
    "tumor surgery procedure abnormality therapy deficiency problem effect symptom status function level pain hypersensitivity "
    "component ingredient excipient drug agent medication product allergy relief control benefit outcome efficacy "
    "effectiveness exposure concentration response activity sign care time duration period monitoring test testing screening "
    "result value fever rash nausea vomiting headache fatigue cough diarrhea edema weakness dizziness blocker inhibitor "
    "inducer agonist antagonist antibiotic anticoagulant antidepressant antipsychotic steroid corticosteroid vaccine")
_GENERIC_MODIFIERS = (
    "mild moderate severe acute chronic persistent active actively recurrent refractory uncontrolled serious new current recent "
    "untreated existing preexisting pre-existing underlying documented suspected confirmed prior previous bothersome progressive "
    "stable pathological pathologic concurrent frequent worsening poorly controlled symptomatic asymptomatic diagnosed newly "
    "clinically")
# A result the case reports as normal is not a condition ("G6PD normal", "normal renal function").
_NORMAL_AFTER = re.compile(r"^[\s:-]*(?:normal|negative|wnl|unremarkable|intact|within\s+normal)\b", re.IGNORECASE)
_NORMAL_BEFORE = re.compile(r"\b(?:normal|non|no|negative)[\s-]+(?:\w+[\s-]+)?$", re.IGNORECASE)
_CUE = re.compile(r"\b(?:patients?|women|men|children|adults|those|individuals)\s+(?:with|who\s+(?:have|had|are|were)|having)\b|"
                  r"\bhistory\s+of\b|\btreatment\s+(?:or\s+prevention\s+)?of\b|\bprevention\s+of\b|\bsetting\s+of\b|\bfollowing\b|"
                  r"\bin\s+(?:patients|women|children)\b|\bused?\s+(?:in|for)\b", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[.;:]|\b(?:is|are|was|were|may|can|could|should|must|has|have|had|treated|receiving|taking|because|"
                         r"due|which|that|when|if|result\w*)\b", re.IGNORECASE)
_CONSEQUENCE = re.compile(r"\b(?:because|due\s+to|risk\s+of|may\s+cause|can\s+cause|resulting\s+in|leading\s+to|reported)\b",
                          re.IGNORECASE)
_KINDS = (AlertKind.BOXED_WARNING, AlertKind.CONTRAINDICATION, AlertKind.WARNING)


@lru_cache(maxsize=4096)
def _stem(word: str) -> str:
    found = [t for t in terms(word) if len(t) > 1]
    return found[0] if found else ""


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[frozenset[str], frozenset[str]]:
    """Return the stems of the generic heads and of the generic modifiers."""
    return frozenset(_stem(w) for w in _GENERIC_HEADS.split()), frozenset(_stem(w) for w in _GENERIC_MODIFIERS.split())


@lru_cache(maxsize=1)
def _population_stems() -> frozenset[str]:
    return frozenset(_stem(w) for w in _POPULATION_WORDS)


def _stop(word: str) -> bool:
    w = word.lower()
    return w in _FUNCTION_WORDS or w in _NOT_CONDITION or not _stem(w) or _stem(w) in _population_stems()


@dataclass
class CaseWord:
    """A content word of the case with the words right before it in the same phrase."""

    stem: str
    start: int
    end: int
    phrase_start: int
    modifiers: frozenset[str]


def _tokens(text: str, start: int = 0, end: int | None = None) -> list[re.Match[str]]:
    return list(_WORD.finditer(text, start, len(text) if end is None else end))


def _adjacent(text: str, a: re.Match[str], b: re.Match[str]) -> bool:
    return bool(re.fullmatch(r"[\s-]+", text[a.end() : b.start()]))


def _blocked_spans(facts: CaseFacts) -> list[tuple[int, int]]:
    """Return the case spans that are not condition words: drugs and the word written right before
    one ("the MAOI phenelzine"), patient facts, genotypes, negations."""
    spans = [(d.start, d.end) for d in facts.drugs] + [(n.start, n.end) for n in facts.negations]
    for d in facts.drugs:
        before = re.search(r"[A-Za-z][\w-]*[ \t]+$", facts.text[max(0, d.start - 40) : d.start])
        if before:
            spans.append((d.start - len(before.group(0)), d.start))
    spans += [(f.start, f.end) for f in facts.patient.findings if f.kind not in ("age", "sex")]
    return spans + [(g.start, g.end) for g in facts.patient.genotypes]


def case_words(facts: CaseFacts) -> dict[str, list[CaseWord]]:
    """Return the case's content words by stem (see the module docstring)."""
    _, generic_mods = _vocabulary()
    text, blocked = facts.text, _blocked_spans(facts)
    toks = [t for t in _tokens(text) if not any(s <= t.start() < e for s, e in blocked)]
    out: dict[str, list[CaseWord]] = {}
    for i, t in enumerate(toks):
        if _stop(t[0]) or re.search(r"\d", t[0]) or _NORMAL_AFTER.match(text[t.end() :]) or _NORMAL_BEFORE.search(text[: t.start()]):
            continue
        mods, first, j = [], t.start(), i
        while j > 0 and _adjacent(text, toks[j - 1], toks[j]) and len(mods) < 2 and not _stop(toks[j - 1][0]):
            prev = _stem(toks[j - 1][0])
            if re.search(r"\d", toks[j - 1][0]):
                break
            if prev not in generic_mods:
                mods.append(prev)
            first, j = toks[j - 1].start(), j - 1
        out.setdefault(_stem(t[0]), []).append(CaseWord(_stem(t[0]), t.start(), t.end(), first, frozenset(mods)))
    return out


def _regions(text: str, kind: AlertKind) -> list[tuple[int, int]]:
    """Return the parts of a sentence that describe patients: a contraindication but its
    consequences; in a boxed warning what follows a cue ("patients with") or an exclusion; in a
    warning what follows an exclusion ("not indicated for", "avoid", "should not")."""
    if kind == AlertKind.CONTRAINDICATION:
        out, start = [], 0
        for m in _CONSEQUENCE.finditer(text):
            out.append((start, m.start()))
            end = re.compile(r"[.;]").search(text, m.end())
            start = end.end() if end else len(text)
        return out + [(start, len(text))]
    out = []
    cues = [_CUE, EXCLUDING] if kind == AlertKind.BOXED_WARNING else [EXCLUDING, STRONG_WARNING]
    for m in (m for cue in cues for m in cue.finditer(text)):
        end = _CLAUSE_END.search(text, m.end())
        out.append((m.end(), end.start() if end else len(text)))
    return out


def _fragments(text: str, start: int, end: int) -> list[list[re.Match[str]]]:
    """Return the noun phrases of text[start:end]: runs of adjacent content words ("dementia-related
    psychosis" gives "dementia" and "psychosis"; population words like "women" are left out)."""
    out: list[list[re.Match[str]]] = []
    run: list[re.Match[str]] = []
    for t in _tokens(text, start, end):
        if run and not _adjacent(text, run[-1], t):
            out.append(run)
            run = []
        past_participle = t[0].lower().endswith("ed") and text[t.start() - 1 : t.start()] != "-"
        code = re.match(r"-[A-Z0-9](?![a-z])|\*", text[t.end() : t.end() + 2]) or re.search(r"(?:\*|[A-Z0-9]-)$", text[: t.start()])
        if _stop(t[0]) or past_participle or code:  # "HLA-B*1502" is a code, not a condition
            out.append(run)
            run = []
            continue
        run.append(t)
    return [r for r in out + [run] if r]


def _matching_word(frag: list[re.Match[str]], words: dict[str, list[CaseWord]], case_text: str,
                   ambiguous: Callable[[str], bool]) -> CaseWord | None:
    """Return the case word a label phrase names (see the module docstring)."""
    generic_heads, generic_mods = _vocabulary()
    for t in frag:
        if re.fullmatch(r"[A-Z]{3,}", t[0]):
            hit = next((w for ws in words.values() for w in ws if case_text[w.start : w.end] == t[0]), None)
            if hit:
                return hit
    head = _stem(frag[-1][0])
    if head in generic_mods:
        return None
    mods = {s for t in frag[:-1] if (s := _stem(t[0])) and s not in generic_mods}
    for w in words.get(head, []):
        if mods & w.modifiers:
            return w
        if head not in generic_heads and (not mods or not w.modifiers) and not (mods and ambiguous(frag[-1][0])):
            return w
    return None


def _ambiguity(label: LabelText) -> Callable[[str], bool]:
    """Return f(head word) -> True when the label writes the word with several different modifiers."""
    full = "\n".join(s.text for s in label.sections)
    _, generic_mods = _vocabulary()
    seen: dict[str, bool] = {}

    def ambiguous(word: str) -> bool:
        key = word.lower()
        if key not in seen:
            before = {m[1].lower() for m in re.finditer(rf"\b([A-Za-z]+)[\s-]+{re.escape(word)}\b", full, re.IGNORECASE)}
            seen[key] = len({_stem(b) for b in before - _FUNCTION_WORDS} - generic_mods - {""}) >= 2
        return seen[key]

    return ambiguous


def condition_alerts(ctx: Context) -> list[RawAlert]:
    """Return one alert per condition of the case that a boxed warning, a contraindication or an
    exclusion names, from the most severe section that names it."""
    facts = ctx.facts
    words = case_words(facts)
    if not words:
        return []
    treated = set(terms(indication_text(ctx.label))) | {s for n in ctx.label.names() for s in terms(n)}
    ambiguous = _ambiguity(ctx.label)
    found: dict[int, RawAlert] = {}
    for block in (b for b in ctx.blocks if b.kind in _KINDS):
        for s in block.sentences:
            if block.kind == AlertKind.WARNING and not (EXCLUDING.search(s.text) or STRONG_WARNING.search(s.text)):
                continue
            for frag in (f for start, end in _regions(s.text, block.kind) for f in _fragments(s.text, start, end)):
                w = None if _stem(frag[-1][0]) in treated else _matching_word(frag, words, facts.text, ambiguous)
                if w is not None and w.phrase_start not in found:
                    hit = Hit(2, frag[0].start(), frag[-1].end())
                    found[w.phrase_start] = make_alert(block.kind, s, hit, facts.text[w.phrase_start : w.end])
    return list(found.values())
