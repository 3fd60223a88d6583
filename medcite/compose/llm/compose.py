"""The LLM composer: the extractive answer rewritten by a language model, sentence by sentence
behind the verifier.

1. The extractive pipeline answers first (`compose.answer.ask`): retrieval, the label check, the
   verified quotes. Its label-check sentences (verdicts, alerts, notes) are templates and stay as
   they are: the model never writes them.
2. The model is given the question, the case facts, those fixed sentences and the passages the
   extractive answer cited (`prompt.select_passages`), and writes the bottom line and the three
   tiers with [n] markers (`prompt.build_messages`, `client.LLMClient`).
3. Each generated sentence is verified (`verify.paraphrase`) against the passages as the model was
   given them; a tier sentence must also cite a passage of its tier. A failing sentence is replaced
   by the extractive sentence it paraphrased (the quote of the answer it covers most of, at least
   half; the quote keeps its own citation) or dropped. A section where nothing generated survives
   keeps its extractive sentences. `verification["llm"]` counts generated / kept / replaced /
   dropped and says why each failed.
4. A server that is not configured, down, slow, or replies with nothing in the answer format: the
   answer is the extractive one, and `answer.composer["fallback"]` says why.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

from medcite.compose.citations import renumber
from medcite.compose.llm.client import LLMClient, LLMUnavailable
from medcite.compose.llm.prompt import TIERS, Draft, GivenPassage, build_messages, parse_reply, select_passages
from medcite.records import Answer, AnswerStatus, Sentence, SentenceKind
from medcite.settings import Composer, Settings
from medcite.verify.paraphrase import GeneratedCheck, SupportTest, coverage, verdict_or_instruction
from medcite.verify.verify import check_sentence

REPLACE_MIN_COVERAGE = 0.5  # a failing sentence paraphrased an extractive one when it covers this much of it
_FIXED = (SentenceKind.TEMPLATE, SentenceKind.NOTE)


@dataclass
class Tally:
    """What became of the generated sentences (the JSON's `verification.llm`)."""

    generated: int = 0
    kept: int = 0
    replaced: int = 0
    dropped: int = 0
    unsupported: list[dict] = field(default_factory=list)
    extractive_sections: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Return the counts as JSON."""
        return {"generated": self.generated, "kept": self.kept, "replaced": self.replaced, "dropped": self.dropped,
                "unsupported": self.unsupported, "extractive_sections": self.extractive_sections}


def composer_info(settings: Settings, used: str, fallback: str | None = None, seconds: float | None = None) -> dict:
    """Return the answer's `composer` record: requested, used, model, why it fell back, model time."""
    return {"requested": str(settings.composer), "used": used,
            "model": settings.llm_model or None if settings.composer == Composer.LLM else None,
            "fallback": fallback, "seconds": round(seconds, 2) if seconds is not None else None}


def fallback(answer: Answer, settings: Settings, reason: str) -> Answer:
    """Return the extractive `answer` marked as the fallback of an LLM request, with its reason."""
    answer.composer = composer_info(settings, Composer.EXTRACTIVE, reason)
    return answer


def make_check(store, given: list[GivenPassage], support: SupportTest | None = None) -> GeneratedCheck:
    """Return the verifier's view of what the model was given (drug names from the store's lexicon)."""
    from medcite.analyze.resources import case_resources

    lexicon = case_resources(store).lexicon
    support = support or SupportTest()
    embed = None
    if support.min_similarity > 0:
        from medcite.index.embed import get_embedder

        embed = get_embedder(max_seq_len=128).embed
    return GeneratedCheck({p.ref.passage_id: p.text for p in given},
                          lambda text: [(m.text, m.generic) for m in lexicon.find(text)], support, embed)


def ask_with_llm(store, question: str, settings: Settings, facts=None) -> Answer:
    """Return the answer written by the configured LLM behind the verifier (module docstring); the
    extractive answer, saying why, when the model cannot write it."""
    from medcite.compose.answer import ask

    base = ask(store, question, settings.with_overrides(composer=Composer.EXTRACTIVE), facts)
    texts = {h.passage_id: h.text for h in store.get_hits([r.passage_id for r in base.references])}
    given = select_passages(base, texts, settings.llm_max_passages, settings.llm_passage_chars)
    if not given:
        return fallback(base, settings, "no evidence passage to give the model")
    t0 = time.perf_counter()
    try:
        client = LLMClient(settings)
        try:
            reply = client.chat(build_messages(base, given))
        finally:
            client.close()
    except LLMUnavailable as exc:
        return fallback(base, settings, str(exc))
    seconds = time.perf_counter() - t0
    draft = parse_reply(reply, settings.max_sentences_per_tier)
    if not draft.count():
        return fallback(base, settings, "the model's reply held no sentence in the answer format")
    check = make_check(store, given)
    answer = merge(base, draft, given, check)
    recheck(answer, check, texts)
    answer.settings_hash = settings.hash()
    answer.composer = composer_info(settings, Composer.LLM, None, seconds)
    return answer


def recheck(answer: Answer, check: GeneratedCheck, retrieved: dict[str, str]) -> None:
    """Drop, as the last step, any generated sentence of `answer` the verifier rejects
    (`verify.check_sentence`: its citations in the reference list, retrieved, given to the model and
    supporting it), whatever path put it there; counted dropped."""
    refs = {r.n: r for r in answer.references}
    tally = answer.verification.get("llm") or {}
    for sentences in [answer.bottom_line] + [sec.sentences for sec in answer.sections]:
        for s in [s for s in sentences if s.kind == SentenceKind.GENERATED]:
            reason = check_sentence(s, refs, retrieved, "", None, check)
            if reason is not None:
                sentences.remove(s)
                tally["kept"], tally["dropped"] = tally.get("kept", 1) - 1, tally.get("dropped", 0) + 1
                tally.setdefault("unsupported", []).append({"section": "recheck", "text": s.text, "reason": reason})


def _problem(text: str, numbers: list[int], key: str, given: dict[int, GivenPassage], check: GeneratedCheck) -> str | None:
    forged = [n for n in numbers if n not in given]
    if forged:
        return f"cites [{forged[0]}], a passage the model was not given"
    cited = [given[n].ref for n in numbers]
    if key in TIERS and cited and all(r.tier != key for r in cited):
        return f"cites no {key} passage"
    return check.problem(text, [r.passage_id for r in cited])


def _paraphrased(text: str, pool: list[Sentence], taken: set[str]) -> Sentence | None:
    """Return the extractive sentence a failing generated sentence paraphrased (the quote of the
    answer that it covers most of, at least REPLACE_MIN_COVERAGE), or None. The quote keeps its own
    citation: a copy cited to the wrong passage is replaced by the quote cited right."""
    best, score = None, REPLACE_MIN_COVERAGE
    for s in pool:
        if s.text in taken or verdict_or_instruction(s.text):  # a quote of injected text never stands in
            continue
        cov = coverage(s.text, [text])
        if cov >= score:
            best, score = s, cov
    return best


def _section_sentences(answer: Answer, key: str) -> list[Sentence] | None:
    if key == "bottom":
        return answer.bottom_line
    return next((s.sentences for s in answer.sections if s.tier == key), None)


def merge(base: Answer, draft: Draft, passages: list[GivenPassage], check: GeneratedCheck) -> Answer:
    """Return a copy of `base` whose bottom line and tiers hold the verified generated sentences
    (the fixed label-check sentences first, as they were); `verification["llm"]` counts them."""
    answer = copy.deepcopy(base)
    given = {p.n: p for p in passages}
    pool = [s for key in draft.sections for s in (_section_sentences(base, key) or []) if s.kind == SentenceKind.EXTRACT]
    tally = Tally()
    for key, written in draft.sections.items():
        target = _section_sentences(answer, key)
        fixed = [s for s in target or [] if s.kind in _FIXED]
        new: list[Sentence] = []
        taken = {s.text for s in fixed}
        for text, numbers in written:
            tally.generated += 1
            if target is None or (key == "bottom" and base.status == AnswerStatus.ABSTAINED):
                reason = "the extractive answer has no such section" if target is None else "the answer abstains"
            else:
                reason = _problem(text, numbers, key, given, check)
            if reason is None and text not in taken:
                new.append(Sentence(text, [given[n].ref.n for n in numbers], kind=SentenceKind.GENERATED))
                tally.kept += 1
            else:
                tally.unsupported.append({"section": key, "text": text, "reason": reason or "repeats a sentence"})
                repl = _paraphrased(text, pool, taken) if target is not None else None
                if repl is not None:
                    new.append(copy.deepcopy(repl))
                    tally.replaced += 1
                else:
                    tally.dropped += 1
            taken |= {s.text for s in new}
        if target is None:
            continue
        if not new:  # nothing generated survived: the section reads as the extractive composer wrote it
            new = [copy.deepcopy(s) for s in target if s.kind not in _FIXED]
            if new:
                tally.extractive_sections.append(key)
        target[:] = fixed + new
    answer.verification = dict(answer.verification, llm=tally.to_dict())
    renumber(answer)
    return answer

