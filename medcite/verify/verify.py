"""Check an answer before it is returned, word by word. A sentence is kept only when:

- it cites at least one passage, each citation is in the reference list, and each cited passage is
  one that retrieval or the label check actually returned (`CitationRegistry`: a passage is never
  pulled from the store just to be cited);
- extract: its text is a span of its cited passages after whitespace and reference-marker
  normalisation (one passage, or the cited passages read in order); a list item's context (the
  heading or lead-in it stands under) is a span too; and it is a statement, not a verbless
  fragment (`analyze.statements`; a list item is read with its lead-in);
- template: it is exactly its template rendered with its values, and every value is where its
  type says (`compose.templates`): a quote is a span of the cited passages; a name is written in
  the cited passages, their titles or sections, or the case; a regimen's numbers are in the cited
  passages or the case and its words there or regimen words; a status one of the fixed words;
- note (says evidence is absent): it is a note template, its names from the case or its facts,
  and it cites nothing;
- every number it states is in its cited passages (templates and notes: or in the case);
- generated (the LLM composer's paraphrase): the checks of `verify.paraphrase` against the
  passages as the model was given them.

A sentence that fails is dropped and counted; the reasons are kept (they name the source text,
never the patient's). This is the gate a later LLM composer passes through.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from medcite.analyze.label_text import clean_span
from medcite.analyze.statements import VerbLexicon, is_statement
from medcite.compose.extract import clean_sentence
from medcite.compose.templates import REASON_WORDS, REGIMEN_WORDS, TEMPLATES, rendered, vocabulary
from medcite.records import AnswerSection, Citation, Sentence, SentenceKind
from medcite.verify.paraphrase import GeneratedCheck

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+$")
_QUOTES = str.maketrans({"“": '"', "”": '"', "’": "'", "‘": "'", "–": "-", "—": "-"})


def numbers_in(text: str) -> set[str]:
    """Return the numbers written in `text`, normalised ("1,250" -> "1250", "0.30" stays, a
    trailing ".0" dropped, a leading "0" of a decimal kept both ways)."""
    out: set[str] = set()
    for raw in _NUMBER.findall(text):
        raw = raw.rstrip(".,")
        if _THOUSANDS.match(raw):
            raw = raw.replace(",", "")
        for part in raw.split(","):  # "0.30,0.73" lists; a decimal comma is rare in these sources
            if not part:
                continue
            out.add(part)
            if "." in part:
                out.add(part.rstrip("0").rstrip(".") or "0")
    # ".47" is written for "0.47" in some abstracts: accept both spellings
    for m in re.finditer(r"(?<![\d])\.(\d+)", text):
        out.add("0." + m.group(1))
    return out


def sentence_numbers(text: str) -> set[str]:
    """Return the numbers of `text` as sentences are compared (a whole decimal "10.0" as "10")."""
    nums = numbers_in(text)
    # a decimal that is whole ("10.0") is compared as "10"
    return {n.rstrip("0").rstrip(".") if "." in n else n for n in nums}


def normalise(text: str) -> str:
    """Return text as spans are compared: reference markers, markdown, bullets and label
    cross-references removed, one space between words, typographic quotes and dashes plain."""
    return " ".join(clean_span(clean_sentence(text)).translate(_QUOTES).split())


@dataclass
class Sources:
    """What one sentence may rest on: its cited passages (and their titles and sections) and the case."""

    passages: list[str]
    labels: list[str] = field(default_factory=list)  # titles and section names of the cited passages
    case: str = ""

    def has_span(self, text: str) -> bool:
        """Return True when `text` is a span of one cited passage or of the cited passages in order
        (a quote shortened with "…" is each of its pieces)."""
        pieces = [normalise(p) for p in re.split(r"…|\.\.\.", text)]
        pieces = [p for p in pieces if p]
        if not pieces:
            return False
        normed = [normalise(p) for p in self.passages]
        joined = " ".join(normed)
        return all(any(want in p for p in normed) or want in joined for want in pieces)

    def has_words(self, text: str) -> bool:
        """Return True when every word and number of `text` is written in the passages or the case
        (a fact of the case as the label check writes it: "HLA-B*1502 positive", "CrCl 40 mL/min")."""
        pool = set(re.findall(r"[a-z0-9]+", " ".join(self.passages + [self.case]).lower()))
        words = re.findall(r"[a-z0-9]+", text.lower())
        return bool(words) and all(w in pool for w in words)

    def names(self, text: str, with_case: bool = True) -> bool:
        """Return True when `text` is written (any case) in the passages, their titles or sections, or the case."""
        want = normalise(text).lower()
        pool = self.passages + self.labels + ([self.case] if with_case else [])
        return bool(want) and any(want in normalise(p).lower() for p in pool)

    def numbers(self, with_case: bool) -> set[str]:
        out: set[str] = set()
        for text in self.passages + ([self.case] if with_case else []):
            out |= sentence_numbers(text)
        return out


def _value_ok(kind: str, value: str, src: Sources) -> bool:
    if kind == "quote":
        return src.has_span(value)
    if kind == "name":
        # a list of names ("metformin and insulin") is each of them
        return src.names(value) or all(src.names(part) for part in value.split(" and "))
    if kind == "fact":
        return src.has_words(value)
    if kind == "regimen":
        words = re.findall(r"[a-z]+", value.lower())
        return sentence_numbers(value) <= src.numbers(True) and all(w in REGIMEN_WORDS or src.names(w) for w in words)
    if kind == "reason":
        words = re.findall(r"[a-z']+", value.lower())
        return bool(words) and all(w in REASON_WORDS or src.names(w) for w in words)
    if kind == "kinds":
        allowed = {w.lower() for w in vocabulary("kind")}
        return all(part.strip() in allowed for part in value.split(","))
    return value in vocabulary(kind)


def _check_template(sentence: Sentence, src: Sources) -> str | None:
    spec = TEMPLATES.get(sentence.template or "")
    if spec is None or spec[0] != sentence.kind:
        return "not a known template of its kind"
    if rendered(sentence) != sentence.text:
        return "text is not its template with its values"
    for name, kind in spec[2].items():
        if not _value_ok(kind, sentence.values[name], src):
            return f"{name} ({kind}) not in the cited passages or the case"
    return None


def _check_extract(sentence: Sentence, src: Sources, verbs: VerbLexicon | None) -> str | None:
    if not src.has_span(sentence.text):
        return "not a span of the cited passage"
    if sentence.context and not src.has_span(sentence.context):
        return "context not a span of the cited passage"
    lead = sentence.context if sentence.context and sentence.context.rstrip().endswith(":") else None
    if not is_statement(f"{lead} {sentence.text}" if lead else sentence.text, verbs):
        return "not a statement (no verb)"
    return None


def check_sentence(sentence: Sentence, refs: dict[int, Citation], retrieved: dict[str, str], case_text: str,
                   verbs: VerbLexicon | None = None, generated: GeneratedCheck | None = None) -> str | None:
    """Return why `sentence` fails verification, or None when it passes (a generated sentence
    fails unless `generated` says what the model was given)."""
    if sentence.kind == SentenceKind.NOTE:
        if sentence.citations:
            return "a note cites nothing"
        return _check_template(sentence, Sources([], [], case_text))
    if not sentence.citations:
        return "no citation"
    texts: list[str] = []
    labels: list[str] = []
    for n in sentence.citations:
        ref = refs.get(n)
        if ref is None:
            return f"citation [{n}] is not in the reference list"
        if ref.passage_id not in retrieved:
            return f"citation [{n}] ({ref.passage_id}) was not retrieved"
        texts.append(retrieved[ref.passage_id])
        labels += [ref.title or "", ref.section or ""]
    if sentence.kind == SentenceKind.GENERATED:
        if generated is None:
            return "a generated sentence without the passages its model was given"
        return generated.problem(sentence.text, [refs[n].passage_id for n in sentence.citations])
    src = Sources(texts, labels, case_text)
    if sentence.kind == SentenceKind.TEMPLATE:
        reason = _check_template(sentence, src)
    elif sentence.kind == SentenceKind.EXTRACT:
        reason = _check_extract(sentence, src, verbs)
    else:
        reason = f"unknown sentence kind {sentence.kind!r}"
    if reason:
        return reason
    allowed = src.numbers(with_case=sentence.kind == SentenceKind.TEMPLATE)
    missing = sorted(n for n in sentence_numbers(sentence.text) - allowed)
    return ("number(s) not in the cited passage: " + ", ".join(missing)) if missing else None


def verify_sections(
    sections: Iterable[AnswerSection],
    references: list[Citation],
    retrieved: dict[str, str],
    question: str,
    extra: Iterable[list[Sentence]] = (),
    verbs: VerbLexicon | None = None,
    generated: GeneratedCheck | None = None,
) -> dict:
    """Drop the failing sentences of `sections` (and of the `extra` sentence lists, e.g. the bottom
    line) in place; return {"sentences": kept, "dropped": n, "unsupported": [{"text", "reason"}]}.
    `question` is the case text with the names its facts resolved (what templates may state)."""
    refs = {c.n: c for c in references}
    kept = dropped = 0
    unsupported: list[dict] = []
    lists = [s.sentences for s in sections] + list(extra)
    for sentences in lists:
        keep: list[Sentence] = []
        for sentence in sentences:
            reason = check_sentence(sentence, refs, retrieved, question, verbs, generated)
            if reason is None:
                keep.append(sentence)
                kept += sentence.kind != SentenceKind.NOTE
            else:
                dropped += 1
                shown = sentence.text if sentence.kind in (SentenceKind.EXTRACT, SentenceKind.GENERATED) else f"({sentence.template or sentence.kind})"
                unsupported.append({"text": shown, "reason": reason})
        sentences[:] = keep
    return {"sentences": kept, "dropped": dropped, "unsupported": unsupported}
