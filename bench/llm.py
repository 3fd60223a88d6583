"""The LLM composer against the extractive one, and the choice of the verifier's support test.

    python bench/llm.py --index /tmp/full.db --support             # support-test table (no LLM needed)
    python bench/llm.py --index /tmp/full.db --limit 10            # composers on K-QA dev (MEDCITE_LLM_URL set)

`--support` measures the support test of generated sentences on real pairs (no model involved):
- PubMedQA (expert-labelled set): each abstract's conclusion sentences against its own background,
  methods and results (supported, written in other words than the source) and against the abstract
  whose text shares most of the conclusion's content words (hard negative: same topic, other study);
- extractive answers to K-QA development questions: each quoted sentence against the passage it
  cites (supported, verbatim) and against another cited passage of the same tier, other document
  (a sentence cited to the wrong passage).
Printed per test and threshold: the share of supported pairs passing (TPR) and of wrong pairs
passing (FPR).

The composer table: per composer, latency p50 / p95 of `ask`, sentences generated / kept /
replaced / dropped, fallbacks, printed generated sentences that fail the verifier when checked again
against the stored passages (must be 0), and the must-have recall proxy (`medcite.eval.qa`) on the
K-QA development split (lines whose index is not a multiple of 8; the evaluation split is never
read). One JSON line per question goes to stderr as it ends.
Not a test: it prints tables, it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from medcite.analyze.label_text import terms
from medcite.eval.qa import percentile
from medcite.index.store import open_store
from medcite.settings import Composer, load_settings
from medcite.verify.paraphrase import coverage, similarity, source_sentences

SHARED = Path(os.environ.get("MEDCITE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
KQA = SHARED / "eval_kqa" / "questions_w_answers.jsonl"
PUBMEDQA = SHARED / "pubmedqa" / "ori_pqal.json"
COVERAGE = (0.5, 0.6, 0.7, 0.8, 0.9)
SIMILARITY = (0.5, 0.6, 0.7, 0.8)


def pubmedqa_pairs(n: int) -> tuple[list[tuple[str, list[str]]], list[tuple[str, list[str]]]]:
    """Return (supported, wrong) pairs of (conclusion sentence, source texts) from PubMedQA."""
    rows = list(json.loads(PUBMEDQA.read_text()).values())
    random.Random(8).shuffle(rows)
    rows = rows[:n]
    words = [set(terms(" ".join(r["CONTEXTS"]))) for r in rows]
    true, false = [], []
    for i, r in enumerate(rows):
        for s in source_sentences([r["LONG_ANSWER"]]):
            want = set(terms(s))
            if len(want) < 4:
                continue
            other = max((j for j in range(len(rows)) if j != i), key=lambda j: len(want & words[j]))
            true.append((s, r["CONTEXTS"]))
            false.append((s, rows[other]["CONTEXTS"]))
    return true, false


def extractive_pairs(store, settings, n: int) -> tuple[list[tuple[str, list[str]]], list[tuple[str, list[str]]]]:
    """Return (supported, wrong) pairs of quoted sentences of K-QA dev answers and passages."""
    from medcite.compose.answer import ask
    from medcite.eval.qa import in_split, load_items

    _, items = load_items(KQA)
    true, false = [], []
    for it in [i for i in items if in_split("kqa", i.index, "dev")][:n]:
        a = ask(store, it.question, settings)
        refs = {r.n: r for r in a.references}
        texts = {h.passage_id: h.text for h in store.get_hits([r.passage_id for r in a.references])}
        for s in a.bottom_line + [x for sec in a.sections for x in sec.sentences]:
            if s.kind != "extract" or len(s.citations) != 1:
                continue
            ref = refs[s.citations[0]]
            true.append((s.text, [texts[ref.passage_id]]))
            wrong = [r for r in a.references if r.tier == ref.tier and r.doc_id != ref.doc_id]
            if wrong:
                false.append((s.text, [texts[wrong[0].passage_id]]))
    return true, false


def support_table(store, settings, n_pubmedqa: int, n_kqa: int) -> Table:
    """Return the TPR / FPR table of the support tests."""
    from medcite.index.embed import get_embedder

    embed = get_embedder(max_seq_len=128).embed
    sets = {"PubMedQA": pubmedqa_pairs(n_pubmedqa), "K-QA extractive": extractive_pairs(store, settings, n_kqa)}
    scores = {}
    for name, (true, false) in sets.items():
        scores[name] = [[(coverage(s, src), similarity(s, src, embed)) for s, src in pairs] for pairs in (true, false)]
    table = Table(title="support test of generated sentences: share of pairs passing (TPR supported / FPR wrong passage)")
    table.add_column("test")
    for name, (true, false) in sets.items():
        table.add_column(f"{name} TPR (n={len(true)})", justify="right")
        table.add_column(f"{name} FPR (n={len(false)})", justify="right")
    tests = [(f"coverage ≥ {c}", c, 0.0) for c in COVERAGE] + [(f"MiniLM ≥ {m}", 0.0, m) for m in SIMILARITY]
    tests += [(f"coverage ≥ {c} and MiniLM ≥ {m}", c, m) for c in (0.6, 0.7, 0.8) for m in (0.5, 0.6, 0.7)]
    for label, c, m in tests:
        row = [label]
        for name in sets:
            for pairs in scores[name]:
                ok = sum(cv >= c and sm >= m for cv, sm in pairs)
                row.append(f"{ok / len(pairs):.3f}" if pairs else "—")
        table.add_row(*row)
    return table


def _recheck(store, answer) -> int:
    """Return how many printed generated sentences fail the verifier when checked again against
    their passages as stored (the composer's own check used the passages as given; this must be 0)."""
    from medcite.compose.llm.compose import make_check

    refs = {r.n: r for r in answer.references}
    check = make_check(store, [])
    check.given = {h.passage_id: h.text for h in store.get_hits([r.passage_id for r in answer.references])}
    sentences = answer.bottom_line + [x for sec in answer.sections for x in sec.sentences]
    return sum(check.problem(s.text, [refs[n].passage_id for n in s.citations]) is not None
               for s in sentences if s.kind == "generated")


def composer_rows(store, settings, limit: int, composer: Composer) -> list[dict]:
    """Return one row per K-QA development question answered with `composer`, printing each as it ends."""
    import time

    from medcite.compose.answer import ask
    from medcite.eval.qa import answer_sentences, content_word_recall, in_split, load_items
    from medcite.eval.qa import similarity as statement_similarity
    from medcite.index.embed import get_embedder

    embed = get_embedder(settings.embed_max_seq_len).embed
    _, items = load_items(KQA)
    rows = []
    for it in [i for i in items if in_split("kqa", i.index, "dev")][:limit]:
        t0 = time.perf_counter()
        answer = ask(store, it.question, settings.with_overrides(composer=composer))
        sentences = answer_sentences(answer)
        row = {"index": it.index, "seconds": time.perf_counter() - t0, "composer": answer.composer,
               "llm": answer.verification.get("llm") or {}, "failing_printed": _recheck(store, answer),
               "content_words": content_word_recall(it.statements, sentences),
               "minilm": statement_similarity(it.statements, sentences, embed)}
        print(json.dumps({k: v for k, v in row.items() if k != "llm"} | {
            k: row["llm"].get(k) for k in ("generated", "kept", "replaced", "dropped")}), file=sys.stderr, flush=True)
        rows.append(row)
    return rows


def composer_table(store, settings, limit: int) -> Table:
    """Return the per-composer table on the K-QA development split."""
    table = Table(title=f"composers on K-QA dev ({limit} questions; model {settings.llm_model or '—'})")
    for col in ("composer", "n", "p50 s", "p95 s", "generated", "kept", "replaced", "dropped", "fell back",
                "printed failing", "content words", "MiniLM"):
        table.add_column(col, justify="left" if col == "composer" else "right")
    for composer in (Composer.EXTRACTIVE, Composer.LLM):
        rows = composer_rows(store, settings, limit, composer)
        secs = [r["seconds"] for r in rows]
        total = {k: sum(r["llm"].get(k, 0) for r in rows) for k in ("generated", "kept", "replaced", "dropped")}
        fell = sum(r["composer"]["fallback"] is not None for r in rows)
        llm = composer == Composer.LLM
        table.add_row(str(composer), str(len(rows)), f"{percentile(secs, 50):.2f}", f"{percentile(secs, 95):.2f}",
                      *(str(total[k]) if llm else "—" for k in total), str(fell) if llm else "—",
                      str(sum(r["failing_printed"] for r in rows)),
                      f"{statistics.fmean(r['content_words'] for r in rows):.3f}",
                      f"{statistics.fmean(r['minilm'] for r in rows):.3f}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default="/tmp/full.db")
    parser.add_argument("--limit", type=int, default=10, help="K-QA development questions per composer")
    parser.add_argument("--support", action="store_true", help="print the support-test table only")
    parser.add_argument("--pubmedqa", type=int, default=200, help="PubMedQA abstracts for --support")
    parser.add_argument("--kqa-support", type=int, default=20, help="K-QA dev answers for --support")
    args = parser.parse_args()
    settings = load_settings(index_path=args.index)
    store = open_store(args.index, readonly=True)
    console = Console(width=200)
    if args.support:
        console.print(support_table(store, settings, args.pubmedqa, args.kqa_support))
    else:
        console.print(composer_table(store, settings, args.limit))
    store.close()


if __name__ == "__main__":
    main()
