"""Check an answer before it is returned: every sentence cites, every citation is a passage that was
actually retrieved, every number a sentence states is in the passages it cites.

A sentence that fails is dropped and counted; the reasons are kept (they name the source text,
never the patient's). Template sentences (the label check written out) may also state numbers of
the case itself — the prescribed dose — since that is the fact they report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from medcite.records import AnswerSection, Citation, Sentence

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+$")


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


def _sentence_numbers(text: str) -> set[str]:
    nums = numbers_in(text)
    # a decimal that is whole ("10.0") is compared as "10"
    return {n.rstrip("0").rstrip(".") if "." in n else n for n in nums}


def check_sentence(sentence: Sentence, refs: dict[int, Citation], retrieved: dict[str, str], case_numbers: set[str]) -> str | None:
    """Return why `sentence` fails verification, or None when it passes."""
    if sentence.kind == "note":
        # a note says evidence is absent; it may not state a number the case does not
        extra = sorted(_sentence_numbers(sentence.text) - case_numbers)
        return ("note states number(s) not in the case: " + ", ".join(extra)) if extra else None
    if not sentence.citations:
        return "no citation"
    texts: list[str] = []
    for n in sentence.citations:
        ref = refs.get(n)
        if ref is None:
            return f"citation [{n}] is not in the reference list"
        if ref.passage_id not in retrieved:
            return f"citation [{n}] ({ref.passage_id}) was not retrieved"
        texts.append(retrieved[ref.passage_id])
    allowed = set()
    for text in texts:
        allowed |= _sentence_numbers(text)
    if sentence.kind == "template":
        allowed |= case_numbers
    missing = sorted(n for n in _sentence_numbers(sentence.text) if n not in allowed)
    if missing:
        return "number(s) not in the cited passage: " + ", ".join(missing)
    return None


def verify_sections(
    sections: Iterable[AnswerSection],
    references: list[Citation],
    retrieved: dict[str, str],
    question: str,
    extra: Iterable[list[Sentence]] = (),
) -> dict:
    """Drop the failing sentences of `sections` (and of the `extra` sentence lists, e.g. the bottom
    line) in place; return {"sentences": kept, "dropped": n, "unsupported": [{"text", "reason"}]}."""
    refs = {c.n: c for c in references}
    case_numbers = _sentence_numbers(question)
    kept = dropped = 0
    unsupported: list[dict] = []
    lists = [s.sentences for s in sections] + list(extra)
    for sentences in lists:
        keep: list[Sentence] = []
        for sentence in sentences:
            reason = check_sentence(sentence, refs, retrieved, case_numbers)
            if reason is None:
                keep.append(sentence)
                kept += sentence.kind != "note"
            else:
                dropped += 1
                unsupported.append({"text": sentence.text if sentence.kind != "template" else "(label check)", "reason": reason})
        sentences[:] = keep
    return {"sentences": kept, "dropped": dropped, "unsupported": unsupported}
