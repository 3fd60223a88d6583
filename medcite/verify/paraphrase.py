"""Checks for sentences a language model wrote (`SentenceKind.GENERATED`): a paraphrase of the
passages it was given, never trusted as written.

A generated sentence is kept only when:
- it cites at least one passage and every passage it cites is one the model was given (its
  citation numbers are the model's passage numbers mapped back; anything else is a forged marker);
- every number, drug name, dose (number + unit), unit and negation in it is written in the cited
  passages as given to the model ("not" in the sentence needs a negation there; a sentence that
  leaves out the negation of the source sentence it rests on fails too);
- it does not state a label verdict ("on label", "matches the label" ...: those come from the
  deterministic label check only) and does not read as an instruction ("ignore previous
  instructions": text of a passage that tried to steer the model);
- its content is supported: `SupportTest` (lexical coverage of its content words by the cited
  passages, and MiniLM similarity to their best sentence; thresholds measured in bench/llm.py
  --support, README "LLM composer").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from medcite.analyze.label_text import sentence_spans, terms
from medcite.compose.templates import CATEGORY_WORDS, STATUS_WORDS

# cosine of one sentence with the sentences of its sources (MiniLM, unit vectors)
Embed = Callable[[Sequence[str]], np.ndarray]

_NEGATION = re.compile(r"\b(?:not|no|never|none|neither|nor|without|cannot|n't|absence|absent|negative)\b|n't\b",
                       re.IGNORECASE)
UNITS = ("mg/m2", "mg/kg", "mcg/kg", "units/kg", "mg/day", "mg", "mcg", "µg", "ug", "g", "kg", "ml", "l", "iu",
         "units", "unit", "mmol", "meq", "gbq", "mbq", "mci", "%", "mm", "cm", "mmhg", "hours", "days", "weeks", "months")
_UNIT = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
_DOSE = re.compile(rf"(\d+(?:[.,]\d+)*)\s*(?:-|to|–)?\s*({_UNIT})(?![a-z0-9])", re.IGNORECASE)
_VERDICTS = sorted({w.lower() for w in list(STATUS_WORDS.values()) + list(CATEGORY_WORDS.values())
                    if w not in ("unclear", "not prescribed", "not indicated", "could not be checked")}
                   | {"on-label", "off-label", "verdict"}, key=len, reverse=True)
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget)\b.{0,40}\b(?:instructions?|prompt|rules|above|previous)\b|\bsystem prompt\b"
    r"|\byou are now\b|\bas an ai\b|\bnew instructions?\b", re.IGNORECASE)


@dataclass(frozen=True)
class SupportTest:
    """How a generated sentence's content must be supported by its cited passages (measured in
    bench/llm.py --support): the share of its content words written there (`min_coverage`) and,
    when `min_similarity` > 0, its MiniLM cosine with their most similar sentence."""

    # measured (README "LLM composer"): PubMedQA conclusions vs their own abstract 40% pass, vs the
    # closest other abstract 0% (coverage 0.8 alone: 17% and 0.5%)
    min_coverage: float = 0.6
    min_similarity: float = 0.6


def coverage(sentence: str, sources: Sequence[str]) -> float:
    """Return the share of the sentence's content words (stemmed) written in `sources`."""
    words = set(terms(sentence))
    if not words:
        return 0.0
    have = set(terms(" ".join(sources)))
    return len(words & have) / len(words)


def source_sentences(sources: Sequence[str]) -> list[str]:
    """Return the sentences of the source texts (a line break ends one), in order."""
    out: list[str] = []
    for text in sources:
        out += [" ".join(text[s:e].split()) for s, e in sentence_spans(text) if text[s:e].strip()]
    return out


def similarity(sentence: str, sources: Sequence[str], embed: Embed) -> float:
    """Return the best MiniLM cosine of `sentence` with a sentence of `sources`."""
    sents = source_sentences(sources)
    if not sents:
        return 0.0
    vecs = embed([sentence] + sents)
    return float((vecs[1:] @ vecs[0]).max())


def _negations(text: str) -> set[str]:
    return {m.group(0).lower() for m in _NEGATION.finditer(text)}


def _closest(sentence: str, sources: Sequence[str]) -> str:
    """Return the source sentence most like `sentence` (Jaccard overlap of content words)."""
    want = set(terms(sentence))
    best, score = "", -1.0
    for s in source_sentences(sources):
        have = set(terms(s))
        overlap = len(want & have) / (len(want | have) or 1)
        if overlap > score:
            best, score = s, overlap
    return best


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"[a-z0-9%./]+", text.lower())) + " "


def fact_problem(sentence: str, sources: Sequence[str], drug_names: Callable[[str], list[tuple[str, str]]] | None) -> str | None:
    """Return why a sentence's numbers, doses, units, drugs or negations are not those of its
    sources, or None. `drug_names(text)` returns (name as written, generic) pairs."""
    from medcite.verify.verify import sentence_numbers

    pool = " ".join(sources)
    missing = sorted(sentence_numbers(sentence) - sentence_numbers(pool))
    if missing:
        return "number(s) not in the cited passages: " + ", ".join(missing)
    src_words = _words(pool)
    src_doses = {(n.replace(",", ""), u.lower()) for n, u in _DOSE.findall(pool)}
    for number, unit in _DOSE.findall(sentence):
        if (number.replace(",", ""), unit.lower()) not in src_doses:
            return f"dose or unit '{number} {unit}' not in the cited passages"
    for unit in re.findall(rf"(?<![a-z0-9])({_UNIT})(?![a-z0-9])", sentence.lower()):
        if f" {unit} " not in src_words and not re.search(rf"\d{re.escape(unit)}(?![a-z])", pool.lower()):
            return f"unit '{unit}' not in the cited passages"
    for written, generic in (drug_names(sentence) if drug_names else []):
        if written.lower() not in pool.lower() and generic.lower() not in pool.lower():
            return f"drug '{written}' not in the cited passages"
    # polarity as the source sentence it rests on ("no difference" / "did not differ" alike)
    negated, source_negated = bool(_negations(sentence)), bool(_negations(_closest(sentence, sources)))
    if negated and not source_negated:
        return "negation not in the source sentence it rests on"
    if source_negated and not negated:
        return "leaves out the negation of the source sentence it rests on"
    return None


def verdict_or_instruction(sentence: str) -> str | None:
    """Return why a generated sentence states a label verdict or reads as an instruction, or None."""
    if _INSTRUCTION.search(sentence):
        return "reads as an instruction, not a statement of the evidence"
    low = f" {sentence.lower()} "
    for phrase in _VERDICTS:
        if re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", low):
            return f"states a label verdict ('{phrase}'): verdicts come from the label check only"
    return None


def support_problem(sentence: str, sources: Sequence[str], test: SupportTest, embed: Embed | None) -> str | None:
    """Return why the sentence's content is not supported by `sources` under `test`, or None."""
    cov = coverage(sentence, sources)
    if cov < test.min_coverage:
        return f"content not supported: {cov:.2f} of its content words in the cited passages (needs {test.min_coverage:.2f})"
    if test.min_similarity > 0 and embed is not None:
        sim = similarity(sentence, sources, embed)
        if sim < test.min_similarity:
            return f"content not supported: MiniLM similarity {sim:.2f} to the cited passages (needs {test.min_similarity:.2f})"
    return None


@dataclass
class GeneratedCheck:
    """What the verifier needs for generated sentences: the text of each passage as the model was
    given it (passage id -> text), drug-name lookup, the support test and the embedder."""

    given: dict[str, str]
    drug_names: Callable[[str], list[tuple[str, str]]] | None = None
    support: SupportTest = field(default_factory=SupportTest)
    embed: Embed | None = None

    def problem(self, text: str, passage_ids: list[str]) -> str | None:
        """Return why a generated sentence citing `passage_ids` fails, or None when it passes."""
        if not passage_ids:
            return "no citation"
        missing = [p for p in passage_ids if p not in self.given]
        if missing:
            return f"cites a passage the model was not given ({missing[0]})"
        sources = [self.given[p] for p in passage_ids]
        return (verdict_or_instruction(text) or fact_problem(text, sources, self.drug_names)
                or support_problem(text, sources, self.support, self.embed))
