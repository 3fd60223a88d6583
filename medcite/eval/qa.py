"""`medcite eval qa FILE`: do the answers answer real questions?

Two kinds of files, told apart by their fields:
- K-QA (`questions_w_answers.jsonl`): patient questions with physicians' "must-have" statements.
- MedicationQA (`medicationqa.json`): consumer medication questions annotated with a question type,
  and a reference answer (taken as the one statement to recall).

Each question is answered with `ask` on the given index, and measured by:
- intent accuracy (MedicationQA): the question type mapped to an intent (`MEDICATIONQA_INTENTS`;
  types about no drug, or unanswerable, are not counted) against `Answer.understanding.intent`;
- answered vs abstained (`Answer.status`);
- a must-have recall proxy: for each statement, the share of its content words (stemmed, stop
  words out) found in the answer's sentences, averaged over statements, then over questions; and
  MiniLM similarity alongside (each statement's best cosine with an answer sentence, averaged);
- latency of `ask` (p50 / p95).

Splits: K-QA lines whose 0-based index is a multiple of 8 are the evaluation split and every other
line the development split; MedicationQA even indices are the evaluation split, odd indices the
development split. Rules are developed on the development split only.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medcite.errors import InputError
from medcite.records import Answer, SentenceKind
from medcite.settings import Settings

SPLITS = ("dev", "eval", "all")
_EVERY = {"kqa": 8, "medicationqa": 2}

# MedicationQA question types -> intents. "Usage/time" and "Usage/duration" ask how often or for how
# long (the regimen: dosing); "Usage" how to take it (administration).
MEDICATIONQA_INTENTS = {
    "Information": "information", "Brand names": "information", "Pronounce name": "information",
    "Manufacturer": "information", "Availability": "information",
    "Action": "mechanism", "Action/time": "mechanism", "Action/effectiveness": "mechanism",
    "Time/effectiveness": "mechanism", "Time/duration": "mechanism",
    "Indication": "indication",
    "Dose": "dosing", "Dose/time": "dosing", "Dose/Potency": "dosing", "Overdose": "dosing", "Forget a dose": "dosing",
    "Usage/time": "dosing", "Usage/duration": "dosing",
    "Usage": "administration", "Stopping/tapering": "administration",
    "Side effects": "adverse_effects", "Side effects/time": "adverse_effects", "Stopping/side effects": "adverse_effects",
    "Time/side effects": "adverse_effects", "Long term consequences": "adverse_effects",
    "Interaction": "interactions", "Combination": "interactions",
    "Contraindication": "contraindications", "Usage/special populations": "contraindications",
    "Appearance": "product", "Ingredient": "product", "Storage and disposal": "product",
    "Comparison": "comparison", "Alternatives": "management",
}


@dataclass
class QAItem:
    """One question of the file: its 0-based line index, text, statements to recall, gold intent."""

    index: int
    question: str
    statements: list[str]
    gold_intent: str | None = None


@dataclass
class QAResult:
    """The measures of one split."""

    dataset: str
    split: str
    items: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Return the split's aggregate measures (the JSON shape of `medcite eval qa --json`)."""
        n = len(self.items)
        judged = [i for i in self.items if i.get("gold_intent")]
        secs = [i["seconds"] for i in self.items if i.get("seconds") is not None]
        words = [i["content_words"] for i in self.items if i.get("content_words") is not None]
        sims = [i["minilm"] for i in self.items if i.get("minilm") is not None]
        lengths = [i["words"] for i in self.items if i.get("words") is not None]
        return {
            "dataset": self.dataset, "split": self.split, "questions": n,
            "intent": {"evaluated": len(judged),
                       "accuracy": round(sum(i["intent"] == i["gold_intent"] for i in judged) / len(judged), 4) if judged else None},
            "answered": sum(i.get("status") == "answered" for i in self.items),
            "abstained": sum(i.get("status") == "abstained" for i in self.items),
            "recall_proxy": {"content_words": round(statistics.fmean(words), 4) if words else None,
                             "minilm": round(statistics.fmean(sims), 4) if sims else None},
            # the proxy grows with the answer's length: the mean length is shown beside it
            "answer_words": round(statistics.fmean(lengths), 1) if lengths else None,
            "latency": {"p50": round(percentile(secs, 50), 3) if secs else None,
                        "p95": round(percentile(secs, 95), 3) if secs else None},
        }


def percentile(values: list[float], p: float) -> float:
    """Return the p-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def load_items(path: Path) -> tuple[str, list[QAItem]]:
    """Return (dataset name, items) of a K-QA JSONL or MedicationQA JSON file (raises InputError)."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        if text.lstrip().startswith("["):
            rows = json.loads(text)
        else:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"not JSON or JSON lines ({exc})") from exc
    if rows and "Must_have" in rows[0]:
        return "kqa", [QAItem(i, r["Question"], list(r.get("Must_have") or [])) for i, r in enumerate(rows)]
    if rows and "Question Type" in rows[0]:
        return "medicationqa", [
            QAItem(i, r["Question"], [r["Answer"]] if r.get("Answer") else [], MEDICATIONQA_INTENTS.get(r["Question Type"]))
            for i, r in enumerate(rows)
        ]
    raise InputError(str(path), "neither K-QA (Question, Must_have) nor MedicationQA (Question, Question Type) records")


def in_split(dataset: str, index: int, split: str) -> bool:
    """Return True when line `index` of `dataset` belongs to `split` (see the module docstring)."""
    is_eval = index % _EVERY[dataset] == 0
    return split == "all" or (split == "eval") == is_eval


def answer_sentences(answer: Answer) -> list[str]:
    """Return the texts of the answer's claims (bottom line and sections; notes say evidence is absent)."""
    out = [s.text for s in answer.bottom_line if s.kind != SentenceKind.NOTE]
    for sec in answer.sections:
        out += [s.text for s in sec.sentences if s.kind != SentenceKind.NOTE]
    return list(dict.fromkeys(out))


def content_word_recall(statements: list[str], sentences: list[str]) -> float | None:
    """Return the mean over statements of the share of their content words found in `sentences`."""
    from medcite.analyze.label_text import terms

    have = set(terms(" ".join(sentences)))
    shares = []
    for st in statements:
        words = set(terms(st))
        if words:
            shares.append(len(words & have) / len(words))
    return statistics.fmean(shares) if shares else None


def similarity(statements: list[str], sentences: list[str], embed: Callable[[list[str]], Any]) -> float | None:
    """Return the mean over statements of their best MiniLM cosine with a sentence of the answer."""
    if not statements:
        return None
    if not sentences:
        return 0.0
    vs = embed(statements)
    va = embed(sentences)
    return float((vs @ va.T).max(axis=1).mean())


def evaluate_qa(store, path: Path, settings: Settings, split: str = "all", limit: int | None = None,
                intent_only: bool = False, with_similarity: bool = True,
                progress: Callable[[int], object] | None = None) -> list[QAResult]:
    """Return one QAResult per split asked (dev and eval for "all") for the questions of `path`."""
    from medcite.analyze.facts import extract_facts
    from medcite.analyze.question import understand
    from medcite.analyze.resources import case_resources
    from medcite.compose.answer import ask

    dataset, items = load_items(path)
    splits = ["dev", "eval"] if split == "all" else [split]
    results = {s: QAResult(dataset, s) for s in splits}
    embed = None
    if with_similarity and not intent_only:
        from medcite.index.embed import get_embedder

        embed = get_embedder(settings.embed_max_seq_len).embed
    for s in splits:
        chosen = [it for it in items if in_split(dataset, it.index, s)][:limit]
        for it in chosen:
            row: dict[str, Any] = {"index": it.index, "gold_intent": it.gold_intent}
            if intent_only:
                res = case_resources(store)
                facts = extract_facts(it.question, res.lexicon, res.abbreviations)
                row["intent"] = str(understand(facts, res.classes, res.abbreviations, res.glosses).intent)
            else:
                t0 = time.perf_counter()
                answer = ask(store, it.question, settings=settings)
                row["seconds"] = time.perf_counter() - t0
                row["intent"] = str(answer.understanding.intent) if answer.understanding else None
                row["status"] = str(answer.status)
                sentences = answer_sentences(answer)
                row["words"] = sum(len(x.split()) for x in sentences)
                row["content_words"] = content_word_recall(it.statements, sentences)
                row["minilm"] = similarity(it.statements, sentences, embed) if embed else None
            results[s].items.append(row)
            if progress:
                progress(1)
    return [results[s] for s in splits]
