"""Step 1 of answering a case: free text -> `CaseFacts` (drugs, conditions, patient, negations).

No model and no hand-written disease list: drugs come from the drug dictionary (DrugLexicon),
conditions from noun phrases that end in a disease word ("... neuroendocrine tumor",
"atrial fibrillation", "...carcinoma") or from abbreviations that the case itself or the corpus
(AbbreviationTable) defines ("pNET"). Regimens are parsed by `medcite.analyze.regimen`, patient
facts by `medcite.analyze.patient`. Negation is NegEx-style: a trigger ("no history of",
"denies", "without", "negative for", "not") opens a scope to the end of its clause (at most
8 words); "... was negative" / "-negative" close one backwards.

Attachment rules (why they are simple): a dose, frequency, route or duration belongs to the
nearest drug before it in the same sentence (else the next one after it); a condition qualifier
(grade, differentiation, resection, extent, stage, metastatic site) to the nearest condition in
the same sentence (else the nearest before it). Nothing is inferred that is not written: "avid
regions in the liver" gives the site "liver", not "metastatic".
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import islice

from medcite.analyze.abbreviations import AbbreviationTable, find_pairs, normalize_long, singular
from medcite.analyze.drug_lexicon import DrugLexicon
from medcite.analyze.patient import find_patient, summarise
from medcite.analyze.regimen import find_durations, find_frequencies, find_routes, order_doses
from medcite.records import CaseFacts, ConditionMention, DrugMention, Finding, Qualifier

Span = tuple[int, int]

# ---------------------------------------------------------------- sentences and clauses

_NO_SPLIT_BEFORE = {"e.g", "i.e", "dr", "vs", "approx", "no", "fig", "mr", "mrs", "ms", "st", "etc", "ca"}
_WORD_WINDOW = 64
_WORD_RUN = re.compile(r"[\w.]*")
_LAST_WORD = re.compile(r"(\w[\w.]*)$")
_SENT_END = re.compile(r"[.!?](?=\s+[\"'(\[]?[A-Z0-9])|\n\s*\n")
_CLAUSE_END = re.compile(
    r";|,\s+(?:and|but|which|who|while|whereas|although)\b|\s(?:but|however|although|whereas|while|except)\b",
    re.IGNORECASE,
)


def _sentences(text: str) -> list[Span]:
    spans, start = [], 0
    for m in _SENT_END.finditer(text):
        word = _word_before(text, start, m.start())
        if m.group(0) == "." and word and (word.group(1).lower() in _NO_SPLIT_BEFORE or len(word.group(1)) == 1):
            continue
        spans.append((start, m.end()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _word_before(text: str, start: int, end: int) -> re.Match[str] | None:
    """Return the match of the word ending at `end` (as `(\\w[\\w.]*)$` finds it in text[start:end]),
    reading only as far back as the word goes: a window that doubles while it is all word characters."""
    lo = max(start, end - _WORD_WINDOW)
    while lo > start and _WORD_RUN.fullmatch(text, lo, end):
        lo = max(start, end - 2 * (end - lo))
    return _LAST_WORD.search(text[lo:end])


def _clauses(text: str, sentences: list[Span]) -> list[Span]:
    out = []
    for s, e in sentences:
        start = s
        for m in _CLAUSE_END.finditer(text, s, e):
            out.append((start, m.start()))
            start = m.start()
        out.append((start, e))
    return out


def _containing(spans: list[Span], pos: int) -> Span:
    # spans are sorted and do not overlap: the last one starting at or before pos is the only candidate
    i = bisect_right(spans, (pos, float("inf"))) - 1
    if i >= 0 and spans[i][0] <= pos < spans[i][1]:
        return spans[i]
    return spans[-1] if spans else (0, 0)


def _overlaps(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


_WORD = re.compile(r"[A-Za-z0-9]+")


def _at_most_words(text: str, start: int, end: int, limit: int) -> bool:
    """Return True when text[start:end] has at most `limit` words; stops counting past the limit,
    so that asking about a short gap never costs the length of a long one."""
    return len(list(islice(_WORD.finditer(text, start, max(start, end)), limit + 1))) <= limit


# ---------------------------------------------------------------- negation

_NEG_FORWARD = re.compile(
    r"\b(?:no\s+(?:history|evidence|sign|signs|symptoms|known)\s+of|negative\s+for|absence\s+of|free\s+of|"
    r"denies|denied|denying|without|never|not|no|other\s+than|instead\s+of|rather\s+than|except|"
    r"(?:is|are|was|were|do|does|did|could|should|would|has|have)n[’']?t|(?:ca|wo)n[’']t|cannot)\b",
    re.IGNORECASE,
)
_NEG_BACKWARD = re.compile(
    r"(?:\b(?:is|was|were|are|tested|came\s+back)\s+)?(?:(?<!-)\bnegative\b(?!\s+for)|\bruled\s+out\b|\bexcluded\b)",
    re.IGNORECASE,
)
# NegEx pseudo-negations: "I don't know much about Lexapro" negates the knowing, not the drug.
_PSEUDO_NEGATION = re.compile(r"\s+(?:know|sure|think|understand|remember|mind|certain)\b", re.IGNORECASE)
# "HER2-negative", "HLA-B*1502-negative": only the attached token is negated.
_NEG_SUFFIX = re.compile(r"(?<![^\s,;(])(?P<tok>[^\s,;()]+)-negative\b", re.IGNORECASE)
# Words that start a new statement end a negation scope even without punctuation.
_SCOPE_STOP = re.compile(
    r"\b(?:is|was|are|were|has|had|have|takes|taking|started|prescribed|presents|receives|receiving|will|but|for|because|since)\b",
    re.IGNORECASE,
)
# A comma ends a scope unless a list goes on to "or"/"nor"/"and" ("no fever, chills, or cough").
# Each item is leading whitespace taken whole, then up to 30 word characters, or only spaces
# (as "\s*[\w\- ]{1,30}," reads them, without the exponential ways of splitting the spaces).
_LIST_TAIL = re.compile(
    r"(?:\s*+(?:[\w\-][\w\- ]{0,29}|(?<= )),)*\s*(?:or|nor|and)\s+[\w\-]+(?:\s+[\w\-]+){0,3}", re.IGNORECASE
)
SCOPE_WORDS = 8
_NEGATED_VERB = re.compile(r"\s+(?:had|has|have|was|were|been)\b", re.IGNORECASE)
_NONSPACE = re.compile(r"\S+")


def _forward_scope_end(text: str, start: int, clause_end: int) -> int:
    end = clause_end
    # "(regular menses, no ovarian suppression) with ER+ breast cancer": a negation inside
    # brackets ends where they close
    if text.rfind("(", 0, start) > text.rfind(")", 0, start) and 0 <= text.find(")", start, end):
        end = text.find(")", start, end)
    # "never had a gout attack": the verb of the negated statement does not end its scope
    aux = _NEGATED_VERB.match(text, start, end)
    stop = _SCOPE_STOP.search(text, aux.end() if aux else start, end)
    if stop:
        end = stop.start()
    comma = text.find(",", start, end)
    if comma >= 0:
        tail = _LIST_TAIL.match(text, comma + 1, end)
        end = tail.end() if tail else comma
    words = list(islice(_NONSPACE.finditer(text, start, end), SCOPE_WORDS + 1))
    if words[SCOPE_WORDS:]:
        end = words[SCOPE_WORDS - 1].end()
    return end


def _negations(text: str, clauses: list[Span]) -> list[Finding]:
    out: list[Finding] = []
    for m in _NEG_FORWARD.finditer(text):
        if _PSEUDO_NEGATION.match(text, m.end()):
            continue
        _, c_end = _containing(clauses, m.start())
        end = _forward_scope_end(text, m.end(), c_end)
        scope = text[m.end() : end].strip(" ,.;")
        if scope:
            end = m.end() + len(text[m.end() : end].rstrip(" ,.;"))
            out.append(Finding("negation", scope, text[m.start() : end], m.start(), end))
    for m in _NEG_BACKWARD.finditer(text):
        c_start, _ = _containing(clauses, m.start())
        start = c_start
        comma = text.rfind(",", c_start, m.start())
        if comma >= 0:
            start = comma + 1
        words = list(re.finditer(r"\S+", text[start : m.start()]))
        if words[6:]:
            start += words[-6].start()
        while start < m.start() and text[start] in " ,;:":
            start += 1
        scope = text[start : m.start()].strip(" ,.;-")
        if scope:
            out.append(Finding("negation", scope, text[start : m.end()], start, m.end()))
    for m in _NEG_SUFFIX.finditer(text):
        out.append(Finding("negation", m["tok"], m.group(0), m.start(), m.end()))
    out.sort(key=lambda f: f.start)
    return out


def _negation_scopes(negations: list[Finding], text: str) -> list[Span]:
    """Return the spans of the negated words (the scope without its trigger)."""
    spans = []
    for n in negations:
        i = text.find(n.value, n.start, n.end)
        if i >= 0:
            spans.append((i, i + len(n.value)))
    return spans


def _negated(span: Span, scopes: list[Span]) -> bool:
    return any(s <= span[0] and span[1] <= e for s, e in scopes)


# ---------------------------------------------------------------- drug roles

_PROPOSED_BEFORE = re.compile(
    r"\b(?:prescrib(?:e|ed|ing)|start(?:s|ed|ing)?(?:\s+on)?|initiat(?:e|ed|ing)(?:\s+on)?|begin(?:ning)?(?:\s+on)?|began|"
    r"plan(?:s|ned)?\s+(?:to\s+(?:start|begin|give|use|initiate|prescribe|add|treat\s+with)|for)|"
    r"propos(?:e|ed|ing)|recommend(?:s|ed|ing)?|will\s+(?:receive|start|begin|get|be\s+(?:given|started\s+on|treated\s+with))|"
    r"to\s+receive|receive|plan\s+is\s+(?:to\s+(?:start|give|use))?|given|give|giving|add(?:s|ed|ing)?|switch(?:ed|ing)?\s+to|consider(?:s|ed|ing)?(?:\s+for)?|candidate\s+for|"
    r"scheduled\s+(?:for|to\s+receive)|should\s+(?:receive|start|get|take|be\s+given)|can\s+(?:receive|start|take|be\s+given)|"
    r"order(?:s|ed)?|administer(?:ed)?|increas(?:e|ed|ing)|decreas(?:e|ed|ing)|titrat(?:e|ed|ing)|up-?titrat(?:e|ed|ing)|"
    r"continu(?:e|ed|ing)|resum(?:e|ed|ing)|restart(?:ed|ing)?)\b|\bplan\s*:",
    re.IGNORECASE,
)
_COMED_BEFORE = re.compile(
    r"\b(?:(?:is|are|was|been|currently|also|remains|already|chronically|still)\s+on|on|"
    r"(?:also\s+|currently\s+|still\s+|regularly\s+)?tak(?:es|ing)|(?:currently\s+|also\s+)?us(?:es|ing)|receiving|"
    r"maintained\s+on|(?:home|current|other|concomitant)\s+medications?(?:\s+(?:include|includes|are))?|"
    r"medications?\s+include|concomitant(?:ly)?|co-?medications?)\b",
    re.IGNORECASE,
)
_PREVIOUS_BEFORE = re.compile(
    r"\b(?:history\s+of|prior|previous(?:ly)?(?:\s+(?:treated|received|took))?(?:\s+with)?|formerly\s+on|"
    r"stopped|discontinued|failed|progressed\s+on|after(?![\s,]+(?:the\s+)?(?:titration|loading|\d|one|two|three|a\s+week|the\s+first))|took|had\s+taken|used\s+to\s+take)\b",
    re.IGNORECASE,
)
_STOP_VERBS = ("discontinued", "stopped", "held", "withdrawn")
_PASSIVE_AFTER = re.compile(
    r"^[^.;]{0,100}?\b(?:is|was|were|will\s+be|has\s+been|have\s+been|had\s+been|to\s+be|being)\s+(?:\w+\s+)?"
    r"(?P<p>prescribed|started|initiated|planned|proposed|recommended|given|administered|ordered|considered|added|"
    rf"begun|scheduled|{'|'.join(_STOP_VERBS)})\b",
    re.IGNORECASE,
)
# "itraconazole stopped 5 days ago", "itraconazole will continue 2 more months": the verb right after the drug
_STATUS_AFTER = re.compile(rf"^\s*(?:(?P<stopped>{'|'.join(_STOP_VERBS)})|(?P<on>will\s+continue|continues|continuing|ongoing))\b",
                           re.IGNORECASE)
_A_DOSE = re.compile(r"\d\s*(?:mg|mcg|µg|g|units?|mL|IU)\b", re.IGNORECASE)
_DIAGNOSTIC_AFTER = re.compile(
    r"^[\s-]*(?:avid|PET|PET/CT|scan|scans|imaging|uptake|scintigraphy|SPECT|octreoscan)\b", re.IGNORECASE
)
_ROLE_BEFORE = [("proposed", _PROPOSED_BEFORE), ("comedication", _COMED_BEFORE), ("previous", _PREVIOUS_BEFORE)]
ROLE_GAP_WORDS = 5


def _assign_roles(text: str, drugs: list[DrugMention], clauses: list[Span]) -> None:
    prev: DrugMention | None = None
    for i, d in enumerate(drugs):
        c_start, c_end = _containing(clauses, d.start)
        same_clause_prev = prev if prev is not None and prev.start >= c_start else None
        nxt = drugs[i + 1].start if i + 1 < len(drugs) and drugs[i + 1].start < c_end else c_end
        after = text[d.end : nxt]
        diag = _DIAGNOSTIC_AFTER.match(after)
        if diag:
            d.role, d.role_text = "diagnostic", diag.group(0).strip(" -")
            prev = d
            continue
        window_start = same_clause_prev.end if same_clause_prev else c_start
        best: tuple[int, int, str, str] | None = None
        for role, rx in _ROLE_BEFORE:
            for m in rx.finditer(text, window_start, d.start):
                if not _at_most_words(text, m.end(), d.start, ROLE_GAP_WORDS):
                    continue
                cand = (m.end(), m.end() - m.start(), role, m.group(0))
                if best is None or cand[:2] > best[:2]:
                    best = cand
        if best is not None:
            d.role, d.role_text = best[2], best[3]
        elif (status := _STATUS_AFTER.match(after)) and not (status["on"] and _A_DOSE.search(after)):  # "Vraylar continues at 6 mg": the order
            d.role, d.role_text = ("previous" if status["stopped"] else "comedication"), status.group(0).strip()
        else:
            m = _PASSIVE_AFTER.match(after)
            if m:
                stopped = m["p"].lower() in _STOP_VERBS
                d.role, d.role_text = ("previous" if stopped else "proposed"), m.group(0).strip()
            elif same_clause_prev is not None and same_clause_prev.role not in ("unspecified", "diagnostic"):
                # "takes warfarin 5 mg daily and omeprazole": a list shares its verb.
                d.role, d.role_text = same_clause_prev.role, same_clause_prev.role_text
        prev = d


def _attach_regimen(text: str, drugs: list[DrugMention], sentences: list[Span]) -> None:
    parts: list[tuple[str, object]] = []
    parts += [("dose", x) for x in order_doses(text)]
    parts += [("frequency", x) for x in find_frequencies(text)]
    parts += [("route", x) for x in find_routes(text)]
    parts += [("duration", x) for x in find_durations(text)]
    parts.sort(key=lambda p: p[1].start)  # type: ignore[attr-defined]
    dose_spans = [(x.start, x.end) for k, x in parts if k == "dose"]
    # a part written before its drug ("on 5 mg ...; increase Bystolic to 10 mg") is the drug's
    # only until a part of the same kind is written after it
    tentative: set[tuple[int, str]] = set()
    for kind, x in parts:
        span = (x.start, x.end)  # type: ignore[attr-defined]
        if kind != "dose" and any(_overlaps(span, d) for d in dose_spans):
            continue
        if any(_overlaps(span, (d.start, d.end)) for d in drugs):
            continue
        s_start, s_end = _containing(sentences, span[0])
        in_sentence = [d for d in drugs if s_start <= d.start < s_end and d.role != "diagnostic"]
        before = [d for d in in_sentence if d.end <= span[0]]
        after = [d for d in in_sentence if d.start >= span[1]]
        target = before[-1] if before else (after[0] if after else None)
        if target is None:
            continue
        key = (id(target), kind)
        if getattr(target, kind) is None or _formulation_route(text, target, kind) or (before and key in tentative):
            setattr(target, kind, x)
            tentative.discard(key)
            if not before:
                tentative.add(key)


_FORMULATION = re.compile(r"\s*(?:extended-release\s+|delayed-release\s+)?(?:suspension|solution|tablets?|capsules?|liquid|syrup|formulation)\b", re.I)


def _formulation_route(text: str, drug: DrugMention, kind: str) -> bool:
    """Return True when the drug's route so far is a product's name ("oral suspension"), which a
    route written later in the order ("125 mg IV") overrides."""
    return kind == "route" and drug.route is not None and bool(_FORMULATION.match(text, drug.route.end))


# ---------------------------------------------------------------- conditions

_HEAD_WORDS = (
    r"tumou?rs?|cancers?|neoplasms?|malignanc(?:y|ies)|diseases?|disorders?|syndromes?|infections?|fibrillation|flutter|pain|"
    r"failure|infarctions?|hypertension|hypotension|diabetes(?:\s+mellitus)?|epilepsy|seizures?|asthma|stroke|embolism|"
    r"thromboembolism|thrombosis|insufficiency|injury|depression|schizophrenia|psoriasis|leuka?emias?|"
    r"dementia|psychos[ie]s|cramps?|malaria|eczema|[a-z]{3,}paresis|dyskinesias?|chorea|migraines?|headaches?|reflux|"
    r"heartburn|gout|insomnia|anxiety|obesity|angina|acne|bleeding|ha?emorrhages?|fibroids?|[a-z]{3,}algia|spasms?|spasticity|incontinence|infertility|"
    r"[a-z]{3,}omas?|[a-z]{2,}itis(?:\s+media|\s+externa)?|[a-z]{3,}a?emias?|[a-z]{3,}penias?|[a-z]{3,}osis|[a-z]{3,}opath(?:y|ies)|[a-z]{2,}plasias?"
)
_HEAD = re.compile(rf"\b(?:{_HEAD_WORDS})\b", re.IGNORECASE)
_HEAD_AFTER = re.compile(rf"[ \t]+(?:{_HEAD_WORDS})\b", re.IGNORECASE)
_HEAD_FULL = re.compile(rf"(?:{_HEAD_WORDS})", re.IGNORECASE)
# Words the suffix patterns catch that are not conditions.
_NOT_HEADS = {
    "diploma", "aroma", "stroma", "stoma", "soma", "chroma", "diagnosis", "prognosis", "hypnosis", "osmosis",
    "apoptosis", "mitosis", "meiosis", "endocytosis", "exocytosis", "phagocytosis", "glaucomas", "lysis",
}
# A head followed by one of these is a modifier ("disease progression", "tumor cells").
_COMPOUND_NEXT = re.compile(
    r"\s+(?:progression|burden|size|cells?|markers?|lysis|response|control|board|risk|screening|treatment|therapy|"
    r"registry|survivors?|cent(?:er|re)|types?|subtypes?|specimens?|tissue|volume|marker|activity|free)\b",
    re.IGNORECASE,
)
# Function words end a condition's noun phrase going backwards; qualifier words are recorded apart.
_FUNCTION = {
    "a", "an", "the", "this", "that", "these", "those", "his", "her", "their", "its", "my", "our", "your", "has",
    "have", "had", "is", "was", "were", "are", "be", "been", "being", "with", "without", "of", "for", "from", "in",
    "on", "at", "to", "by", "and", "or", "but", "as", "after", "before", "no", "not", "any", "some", "who", "which",
    "known", "history", "diagnosed", "new", "newly", "recently", "presents", "presenting", "patient", "patients",
    "man", "woman", "male", "female", "old", "denies", "suspected", "possible", "probable", "likely", "due",
    "secondary", "also", "both", "either", "other", "prior", "previous", "treated", "underlying", "concurrent",
    "symptomatic", "asymptomatic",
    # questions and verbs that come before a condition in plain-language cases
    "can", "could", "does", "do", "did", "should", "would", "will", "may", "might", "must", "shall", "what",
    "whats", "what's", "how", "why", "when", "where", "whether", "if", "i", "you", "he", "she", "we", "they", "me",
    "him", "them", "it", "get", "gets", "got", "getting", "cause", "causes", "caused", "causing", "treat",
    "treats", "treating", "take", "takes", "develop", "develops", "developing", "suffer", "suffers", "suffering",
    "like", "about", "into", "than", "then", "so", "such", "very", "more", "most", "less", "mild", "same",
    "having", "developed", "experiencing", "complicated", "related", "associated", "worsening", "because",
    "prevent", "prevents", "preventing", "avoid", "future",
}
_QUALIFIER_WORDS = {
    "metastatic", "advanced", "locally", "recurrent", "relapsed", "refractory", "unresectable", "resectable",
    "resected", "inoperable", "operable", "grade", "stage", "functional", "functioning", "nonfunctional",
    "non-functional", "nonfunctioning", "non-functioning", "well-differentiated", "poorly-differentiated",
    "moderately-differentiated", "differentiated", "undifferentiated", "well", "poorly", "moderately", "primary",
    "low-grade", "high-grade", "intermediate-grade", "progressive", "progressing", "stable",
}
_NP_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9'’\-]*$")
NP_MAX_WORDS = 4
_STAGE_TOKEN = re.compile(r"(?:I{1,3}|IV|[0-4])[ABC]?$")
_TYPE_NUMBER = re.compile(r"[0-9]{1,2}[a-z]?|I{1,3}|IV")
_TYPE_BEFORE = re.compile(r"\btype\s+$", re.IGNORECASE)
_LETTER_AFTER = re.compile(r" [B-E](?![\w'’-])| A(?![\w'’-])(?! [a-z])")
_ROMAN_NUMERAL = re.compile(r"[IVX]+")
_ABBREV_TOKEN = re.compile(r"(?<![\w\-*])(?:[A-Za-z]*[A-Z][A-Za-z0-9\-]*[A-Z][A-Za-z0-9\-]*|[a-z]+[A-Z][A-Za-z0-9\-]*)(?![\w\-*])")


def _np_start(text: str, head_start: int, limit: int, blocked: list[Span]) -> int:
    """Return where the noun phrase ending at `head_start` begins, walking back over modifiers."""
    start = head_start
    pos = head_start
    for _ in range(NP_MAX_WORDS):
        m = re.search(r"([A-Za-z0-9'’\-]+)(\s+)$", text[max(limit, pos - 60) : pos])
        if not m:
            break
        w_start = pos - len(m.group(0))
        word = m.group(1)
        # "type 1 diabetes": the type is part of the disease's name, not a number to stop at
        typed = _TYPE_BEFORE.search(text, max(limit, w_start - 8), w_start) if _TYPE_NUMBER.fullmatch(word) else None
        if typed:
            start = pos = typed.start()
            continue
        if (
            w_start < limit
            or not _NP_TOKEN.match(word)
            or word.lower() in _FUNCTION
            or is_qualifier_word(word)
            or word.lower().endswith("-old")
            or (word.lower().endswith("ed") and "-" not in word)
            or any(_overlaps((w_start, w_start + len(word)), b) for b in blocked)
        ):
            break
        start = pos = w_start
    return start


def _is_head(word: str) -> bool:
    last = word.lower().split()[-1] if word.split() else ""
    return bool(_HEAD_FULL.fullmatch(last)) and last not in _NOT_HEADS


def is_condition_word(word: str) -> bool:
    """Return True when the last word of `word` is a disease word ("hypothyroidism", "... tumor")."""
    return _is_head(word)


def is_qualifier_word(word: str) -> bool:
    """Return True when `word` grades, stages or places a disease ("metastatic", "advanced")."""
    return word.lower() in _QUALIFIER_WORDS or bool(_STAGE_TOKEN.match(word))


def _conditions(
    text: str,
    sentences: list[Span],
    blocked: list[Span],
    local: dict[str, tuple[str, Span]],
    table: AbbreviationTable | None,
) -> list[ConditionMention]:
    found: list[ConditionMention] = []
    taken: list[Span] = []
    for m in _HEAD.finditer(text):
        word = m.group(0)
        if word.lower() in _NOT_HEADS or _COMPOUND_NEXT.match(text, m.end()):
            continue
        if any(_overlaps((m.start(), m.end()), b) for b in blocked):
            continue
        s_start, _ = _containing(sentences, m.start())
        start = _np_start(text, m.start(), s_start, blocked)
        # "hepatitis B", "hemophilia A": the letter names the disease
        letter = _LETTER_AFTER.match(text, m.end())
        end = letter.end() if letter else m.end()
        span = (start, end)
        name = " ".join(text[start:end].lower().split())
        found.append(ConditionMention(text[start:end], start, end, name))
        taken.append(span)
    # Definitions in the case: the short form right after its long form is not a new mention.
    definition_spans = [sf_span for _, sf_span in local.values()]
    for m in _ABBREV_TOKEN.finditer(text):
        short = m.group(0)
        span = (m.start(), m.end())
        if any(_overlaps(span, t) for t in taken + blocked) or span in definition_spans or _ROMAN_NUMERAL.fullmatch(short):
            continue  # "stage III" is a number, not an abbreviation
        longs = [local[short][0]] if short in local else []
        if not longs and short.endswith("s") and short[:-1] in local:
            longs = [local[short[:-1]][0]]
        if not longs and table is not None:
            longs = table.expand(short)
        # "heart failure with reduced ejection fraction": the head is the noun before "with"
        long = next((lf for lf in longs if _is_head(lf) or _is_head(lf.split(" with ")[0])), None)
        if long is None:
            continue
        if not short.endswith("s"):
            # "pNET" names one tumour even where the corpus defined it in the plural.
            head, _, last = long.rpartition(" ")
            long = f"{head} {singular(last)}".strip()
        s_start, _ = _containing(sentences, m.start())
        start = _np_start(text, m.start(), s_start, blocked + taken)
        modifiers = " ".join(text[start : m.start()].lower().split())
        name = long if not modifiers or long.startswith(modifiers) else f"{modifiers} {long}"
        found.append(ConditionMention(text[start : m.end()], start, m.end(), name, abbreviation=short, source="abbreviation"))
        taken.append((start, m.end()))
    for c in found:
        for short, (long, sf_span) in local.items():
            # "pancreatic neuroendocrine tumor (NET)": the condition carries its abbreviation.
            if c.abbreviation is None and 0 <= sf_span[0] - c.end <= 3 and c.name.endswith(long):
                c.abbreviation = short
    found.sort(key=lambda c: c.start)
    return found


# ---------------------------------------------------------------- qualifiers

_QUALIFIERS: list[tuple[str, re.Pattern[str], object]] = [
    ("grade", re.compile(r"\bgrade\s*(?P<v>[1-4]|I{1,3}|IV)\b|\bG(?P<g>[1-3])\b", re.IGNORECASE), "grade"),
    ("grade", re.compile(r"\b(?P<v>low|intermediate|high)[\s-]grade\b", re.IGNORECASE), "word"),
    ("differentiation", re.compile(r"\b(?P<v>well|moderately|poorly|un)[\s-]?differentiated\b", re.IGNORECASE), "diff"),
    ("functional", re.compile(r"\b(?P<v>non-?functional|non-?functioning|functional|functioning)\b", re.IGNORECASE), "func"),
    ("resection", re.compile(r"\b(?:unresectable|inoperable|not\s+resectable|non-?resectable)\b", re.IGNORECASE), "unresectable"),
    ("resection", re.compile(r"\b(?:resected|resection|excised|surgically\s+removed)\b", re.IGNORECASE), "resected"),
    ("resection", re.compile(r"\bresectable\b", re.IGNORECASE), "resectable"),
    ("extent", re.compile(r"\blocally\s+advanced\b", re.IGNORECASE), "locally advanced"),
    ("extent", re.compile(r"\b(?:metastatic|metastas[ie]s|mets)\b", re.IGNORECASE), "metastatic"),
    ("stage", re.compile(r"\bstage\s+(?P<v>IV[ABC]?|I{1,3}[ABC]?|[0-4][ABC]?)\b", re.IGNORECASE), "stage"),
]
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4}
_SITES = [
    (r"liver|hepatic", "liver"), (r"bones?|osseous|skeletal", "bone"), (r"lungs?|pulmonary", "lung"),
    (r"brain|intracranial", "brain"), (r"lymph\s+nodes?|nodal", "lymph node"), (r"peritone(?:um|al)", "peritoneum"),
    (r"adrenals?", "adrenal"), (r"pleura|pleural", "pleura"), (r"skin", "skin"), (r"spleen|splenic", "spleen"),
    (r"ovar(?:y|ies|ian)", "ovary"), (r"mesenter(?:y|ic)", "mesentery"), (r"kidneys?", "kidney"),
    (r"pancreas", "pancreas"),
]
_SITE = re.compile(r"\b(?:" + "|".join(f"(?P<s{i}>{p})" for i, (p, _) in enumerate(_SITES)) + r")\b", re.IGNORECASE)
_SITE_TRIGGER = re.compile(
    r"\b(?:metasta\w*|mets|lesions?|avid|deposits?|nodules?|masses|mass|involvement|spread|foci|focus|uptake|implants?)\b",
    re.IGNORECASE,
)
SITE_WINDOW_WORDS = 6


def _qualifier_value(how: object, m: re.Match[str]) -> str:
    if how == "grade":
        v = m["v"] or m["g"]
        return str(_ROMAN.get(v.upper(), v))
    if how == "word":
        return m["v"].lower()
    if how == "diff":
        return {"un": "undifferentiated"}.get(m["v"].lower(), m["v"].lower())
    if how == "func":
        return "non-functional" if m["v"].lower().startswith("non") else "functional"
    if how == "stage":
        return m["v"].upper()
    return str(how)


def _qualifiers(text: str, sentences: list[Span], conditions: list[ConditionMention], blocked: list[Span]) -> list[Qualifier]:
    out: list[Qualifier] = []
    for kind, rx, how in _QUALIFIERS:
        for m in rx.finditer(text):
            span = (m.start(), m.end())
            if any(_overlaps(span, (q.start, q.end)) for q in out) or any(_overlaps(span, b) for b in blocked):
                continue
            out.append(Qualifier(kind, _qualifier_value(how, m), m.group(0), m.start(), m.end()))
    names = [(c.start, c.end) for c in conditions]
    triggers: dict[Span, list[Span]] = {}  # per sentence, found once
    for m in _SITE.finditer(text):
        span = (m.start(), m.end())
        if any(_overlaps(span, n) for n in names) or any(_overlaps(span, b) for b in blocked):
            continue
        sentence = _containing(sentences, m.start())
        if sentence not in triggers:
            triggers[sentence] = [t.span() for t in _SITE_TRIGGER.finditer(text, *sentence)]
        if _near_trigger(text, span, triggers[sentence]):
            site = next(_SITES[int(k[1:])][1] for k, v in m.groupdict().items() if v)
            out.append(Qualifier("site", site, m.group(0), m.start(), m.end()))
    out.sort(key=lambda q: q.start)
    return out


def _near_trigger(text: str, site: Span, triggers: list[Span]) -> bool:
    """Return True when a site trigger (sorted, not overlapping) overlaps the site or is at most
    SITE_WINDOW_WORDS words from it: only the last trigger starting before the site and the first
    one starting at or after it can be nearest."""
    i = bisect_right(triggers, (site[0], -1))
    for t in triggers[max(0, i - 1) : i + 1]:
        if _at_most_words(text, min(t[1], site[1]), max(t[0], site[0]), SITE_WINDOW_WORDS):
            return True
    return False


# Qualifiers (grade, stage, resection, metastatic sites...) describe tumours: when the case names
# a tumour and something else ("... cancer with brain metastases and atrial fibrillation"), they go
# to the tumour.
_ONCOLOGIC = re.compile(r"tumou?r|cancer|carcinoma|neoplasm|malignan|oma\b|omas\b|leuka?emia|\bnets?\b", re.IGNORECASE)
MODIFIER_GAP_WORDS = 3


def _pool(live: list[ConditionMention]) -> list[ConditionMention]:
    """Return the conditions qualifiers go to: the tumours of the case, else every live condition."""
    onc = [c for c in live if _ONCOLOGIC.search(c.name) or (c.abbreviation and _ONCOLOGIC.search(c.abbreviation))]
    return onc or live


def _target(text: str, q: Qualifier, live: list[ConditionMention], sentences: list[Span],
            pool: list[ConditionMention] | None = None) -> ConditionMention:
    """Return the condition a qualifier belongs to (see the attachment rules in the module docstring)."""
    pool = pool if pool is not None else _pool(live)
    s_start, s_end = _containing(sentences, q.start)
    same = [c for c in pool if s_start <= c.start < s_end]
    for c in same:
        if c.start <= q.start < c.end:
            return c
    # Written before the condition as a modifier: "metastatic colorectal cancer", "grade 2 ... NET".
    # The first condition after the qualifier has the shortest gap: only it can be near enough.
    first_right = next((c for c in same if c.start >= q.end), None)
    left = [c for c in same if c.end <= q.start]
    if first_right is not None and _at_most_words(text, q.end, first_right.start, MODIFIER_GAP_WORDS):
        return first_right
    if left:
        return left[-1]
    if same:
        return same[0]
    before = [c for c in pool if c.end <= q.start]
    return before[-1] if before else pool[0]


def _attach_qualifiers(
    text: str, quals: list[Qualifier], conditions: list[ConditionMention], sentences: list[Span]
) -> None:
    live = [c for c in conditions if not c.negated]
    if not live:
        return
    pool = _pool(live)
    for q in quals:
        target = _target(text, q, live, sentences, pool)
        target.qualifiers.append(q)
        if q.kind == "grade" and q.value.isdigit() and target.grade is None:
            target.grade = int(q.value)
        elif q.kind == "differentiation" and target.differentiation is None:
            target.differentiation = q.value
        elif q.kind == "functional" and target.functional is None:
            target.functional = q.value
        elif q.kind == "resection" and target.resection is None:
            target.resection = q.value
        elif q.kind == "extent" and target.extent is None:
            target.extent = q.value
        elif q.kind == "stage" and target.stage is None:
            target.stage = q.value
        elif q.kind == "site" and q.value not in target.sites:
            target.sites.append(q.value)


# ---------------------------------------------------------------- entry point


def extract_facts(text: str, drugs: DrugLexicon, abbreviations: AbbreviationTable | None = None) -> CaseFacts:
    """Return the structured facts of a clinical case: drug mentions with role and regimen,
    conditions with qualifiers, patient facts, genotypes and negations, all with offsets."""
    facts = CaseFacts(text=text)
    if not text.strip():
        return facts
    sentences = _sentences(text)
    clauses = _clauses(text, sentences)
    local = {p.short: (normalize_long(p.long), (p.short_start, p.short_end)) for p in find_pairs(text)}
    facts.abbreviations = {s: lf for s, (lf, _) in local.items()}

    patient = find_patient(text)
    facts.patient = patient
    # Spans already explained as patient facts are not drugs ("creatinine clearance") or conditions.
    patient_spans = [(f.start, f.end) for f in patient.findings if f.kind not in ("sex", "age")]
    patient_spans += [(g.start, g.end) for g in patient.genotypes]

    for m in drugs.find(text):
        if any(_overlaps((m.start, m.end), s) for s in patient_spans):
            continue
        if _HEAD_AFTER.match(text, m.end):
            continue  # "yeast infection": the name is part of a condition, not a drug given
        facts.drugs.append(DrugMention(m.text, m.start, m.end, m.generic, m.kind))
    _assign_roles(text, facts.drugs, clauses)
    _attach_regimen(text, facts.drugs, sentences)

    negations = _negations(text, clauses)
    facts.negations = negations
    scopes = _negation_scopes(negations, text)
    drug_spans = [(d.start, d.end) for d in facts.drugs]
    facts.conditions = _conditions(text, sentences, drug_spans + patient_spans, local, abbreviations)

    for d in facts.drugs:
        d.negated = _negated((d.start, d.end), scopes)
    for c in facts.conditions:
        c.negated = _negated((c.start, c.end), scopes)
    for f in patient.findings:
        f.negated = _negated((f.start, f.end), scopes)
    for g in patient.genotypes:
        g.negated = _negated((g.start, g.end), scopes)
        if g.negated and g.status in ("positive", "genotype"):
            g.status = "negative"
    summarise(patient)

    quals = [q for q in _qualifiers(text, sentences, facts.conditions, drug_spans) if not _negated((q.start, q.end), scopes)]
    _attach_qualifiers(text, quals, facts.conditions, sentences)
    return facts


def case_resources(store) -> tuple[DrugLexicon, AbbreviationTable]:
    """Return the drug lexicon and abbreviation table of the index (`analyze.resources`: built at
    ingest, loaded once per process and corpus version)."""
    from medcite.analyze.resources import case_resources as resources_of

    res = resources_of(store)
    return res.lexicon, res.abbreviations


def read_case(store, text: str) -> tuple[CaseFacts, DrugLexicon]:
    """Return the facts of a case text read with the index's dictionaries, and the drug lexicon."""
    lexicon, abbreviations = case_resources(store)
    return extract_facts(text, lexicon, abbreviations), lexicon
