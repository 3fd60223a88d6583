"""`medcite eval beir DIR` and `medcite eval bioasq FILE...`: retrieval quality, measured the IR way;
`medcite eval qa FILE`: answers to K-QA / MedicationQA questions (medcite.eval.qa).

Each builds an index of the benchmark with the product's code (in a temporary folder, or in
--workdir to reuse it), runs every judged query, prints nDCG@10, Recall@10, Recall@100, MRR@10
and queries/s (or JSON), and can write the TREC run file. Progress bars go to stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

MODE_OPTION = click.option(
    "--mode", type=click.Choice(["bm25", "dense", "hybrid"]), default=None,
    help="Retrieval mode (default: settings, i.e. hybrid).",
)
RUN_OPTION = click.option("--run", "run_file", type=click.Path(dir_okay=False), help="Write the TREC run file here.")
WORKDIR_OPTION = click.option(
    "--workdir", type=click.Path(file_okay=False), help="Keep the benchmark index here and reuse it next time.",
)
SILENT_OPTION = click.option("--silent", is_flag=True, help="No progress bars.")


def _stage_factory(silent: bool, bars: list):
    from tqdm import tqdm

    def on_stage(name: str, total: int):
        bar = tqdm(total=total or None, desc=name, disable=silent, file=sys.stderr, dynamic_ncols=True, leave=False)
        bars.append(bar)
        return bar.update

    return on_stage


def _show(result, as_json: bool, run_file: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from medcite.cli import emit_json

    if as_json:
        payload = result.to_dict()
        payload["run_file"] = run_file
        emit_json(payload)
        return
    table = Table(title=f"{result.dataset} ({result.split}) — {result.mode}, settings {result.settings_hash}")
    for col in ("queries", "nDCG@10", "Recall@10", "Recall@100", "MRR@10", "queries/s"):
        table.add_column(col, justify="right")
    m = result.metrics
    table.add_row(str(result.queries), f"{m['ndcg@10']:.4f}", f"{m['recall@10']:.4f}", f"{m['recall@100']:.4f}",
                  f"{m['mrr@10']:.4f}", f"{result.qps:.1f}")
    console = Console(highlight=False)
    console.print(table)
    console.print(f"{result.documents} documents, {result.passages} passages indexed in {result.index_seconds:.1f} s"
                  + (f"; run written to {run_file}" if run_file else ""))


def register(cli) -> None:
    """Attach the `eval` group (beir, bioasq, labelcheck) to the CLI."""
    from medcite.cli import INDEX_OPTION, JSON_OPTION, emit_json, open_index

    @cli.group(name="eval")
    def eval_group():
        """Measure retrieval (BEIR, BioASQ), answers (K-QA, MedicationQA) and the label check (benchmark files)."""

    register_qa(eval_group)

    @eval_group.command(name="beir")
    @click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
    @JSON_OPTION
    @RUN_OPTION
    @click.option("--split", default="test", show_default=True, help="Qrels split to evaluate (qrels/<split>.tsv).")
    @MODE_OPTION
    @WORKDIR_OPTION
    @SILENT_OPTION
    def beir(folder, as_json, run_file, split, mode, workdir, silent):
        """Evaluate retrieval on a BEIR folder (corpus.jsonl(.gz), queries.jsonl, qrels/)."""
        from medcite.eval.beir import evaluate_beir
        from medcite.settings import load_settings

        settings = load_settings()
        bars: list = []
        try:
            result = evaluate_beir(folder, settings, mode or settings.retrieval_mode, split=split, workdir=workdir,
                                   run_file=run_file, on_stage=_stage_factory(silent, bars))
        finally:
            for bar in bars:
                bar.close()
        _show(result, as_json, run_file)

    @eval_group.command(name="bioasq")
    @click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @JSON_OPTION
    @RUN_OPTION
    @MODE_OPTION
    @WORKDIR_OPTION
    @SILENT_OPTION
    def bioasq(files, as_json, run_file, mode, workdir, silent):
        """Evaluate document retrieval on BioASQ golden files over the pool of their gold snippets."""
        from medcite.eval.bioasq import evaluate_bioasq
        from medcite.settings import load_settings

        settings = load_settings()
        bars: list = []
        try:
            result = evaluate_bioasq(list(files), settings, mode or settings.retrieval_mode, workdir=workdir,
                                     run_file=run_file, on_stage=_stage_factory(silent, bars))
        finally:
            for bar in bars:
                bar.close()
        _show(result, as_json, run_file)

    @eval_group.command(name="labelcheck")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @INDEX_OPTION
    @JSON_OPTION
    @click.option("--failures/--no-failures", default=True, show_default=True, help="List every failing case.")
    @SILENT_OPTION
    def labelcheck(file, index_path, as_json, failures, silent):
        """Score the label check on a benchmark file of vignettes (per-field accuracy, unsafe verdicts)."""
        from medcite.eval.labelcheck import evaluate_labelcheck, read_cases
        from medcite.records import RecordError
        from medcite.render.tables import labelcheck_tables

        cases = []
        for case in read_cases(file):
            if isinstance(case, RecordError):
                raise click.ClickException(case.line())
            cases.append(case)
        store = open_index(index_path)
        bars: list = []
        try:
            score = evaluate_labelcheck(store, cases, _stage_factory(silent, bars)("label check", len(cases)))
        finally:
            for bar in bars:
                bar.close()
            store.close()
        if as_json:
            emit_json(score.to_dict())
            return
        from rich.console import Console

        for table in labelcheck_tables(score.to_dict(), failures):
            Console().print(table)

def _show_qa(results, as_json: bool, settings_hash: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from medcite.cli import emit_json

    summaries = [r.summary() for r in results]
    if as_json:
        emit_json({"settings_hash": settings_hash, "splits": summaries, "items": {r.split: r.items for r in results}})
        return
    table = Table(title=f"{summaries[0]['dataset']} — answers, settings {settings_hash}")
    for col in ("split", "questions", "intent acc.", "answered", "abstained", "content words", "MiniLM", "answer words", "p50 s", "p95 s"):
        table.add_column(col, justify="left" if col == "split" else "right")

    def fmt(v, digits=3):
        return "—" if v is None else (f"{v:.{digits}f}" if isinstance(v, float) else str(v))

    for s in summaries:
        table.add_row(s["split"], str(s["questions"]), fmt(s["intent"]["accuracy"]), str(s["answered"]), str(s["abstained"]),
                      fmt(s["recall_proxy"]["content_words"]), fmt(s["recall_proxy"]["minilm"]), fmt(s["answer_words"], 0),
                      fmt(s["latency"]["p50"]), fmt(s["latency"]["p95"]))
    Console(highlight=False).print(table)


def register_qa(eval_group) -> None:
    """Attach `eval qa` to the eval group."""
    from medcite.cli import INDEX_OPTION, JSON_OPTION

    @eval_group.command(name="qa")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @INDEX_OPTION
    @JSON_OPTION
    @click.option("--split", type=click.Choice(["dev", "eval", "all"]), default="all", show_default=True,
                  help="K-QA: eval = lines whose index is a multiple of 8, dev = the rest (MedicationQA: even / odd).")
    @click.option("--limit", type=int, default=None, help="At most this many questions per split.")
    @click.option("--intent-only", is_flag=True, help="Only measure intent accuracy (no answers composed).")
    @click.option("--no-similarity", is_flag=True, help="Skip the MiniLM similarity (no model loaded).")
    @MODE_OPTION
    @SILENT_OPTION
    def qa(file, index_path, as_json, split, limit, intent_only, no_similarity, mode, silent):
        """Answer the questions of a K-QA or MedicationQA FILE and measure intent, abstention, recall."""
        from tqdm import tqdm

        from medcite.cli import open_index
        from medcite.eval.qa import evaluate_qa
        from medcite.settings import load_settings

        settings = load_settings(index_path=index_path, retrieval_mode=mode)
        store = open_index(index_path)
        bar = tqdm(desc="questions", disable=silent, file=sys.stderr, dynamic_ncols=True, leave=False)
        try:
            results = evaluate_qa(store, file, settings, split=split, limit=limit, intent_only=intent_only,
                                  with_similarity=not no_similarity, progress=bar.update)
        finally:
            bar.close()
            store.close()
        _show_qa(results, as_json, settings.hash())
