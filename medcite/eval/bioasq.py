"""`medcite eval bioasq FILE...`: document retrieval on BioASQ golden files, over a snippet pool.

The golden files give each question its gold PMIDs and gold snippets, not the abstracts. So the
corpus is the pool of every gold snippet of the given files: one document per PMID (`pmid:<PMID>`)
titled by its title snippet (when one is gold) with its distinct abstract snippets as paragraphs
of one "Abstract" section, in file order; the chunker packs them into passages as usual. A question is answered well when its gold PMIDs rank first. Gold PMIDs
without any snippet cannot be found: they stay in the qrels (recall counts them as missed).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from medcite.errors import InputError
from medcite.eval.runner import EvalResult, Stage, doc_keys, evaluate_store, index_documents, work_store
from medcite.records import Document, RecordError, Section
from medcite.settings import Settings

_PMID = re.compile(r"(\d+)\s*$")
POOL_VERSION = "2"  # part of the kept index's signature: bump when the pool's documents change shape


def pmid_of(url: str) -> str | None:
    """Return the PMID at the end of a BioASQ document URL (…/pubmed/<PMID>), or None."""
    m = _PMID.search(str(url or ""))
    return m.group(1) if m else None


def load_golden(paths: list[Path]) -> tuple[list[Document | RecordError], dict[str, str], dict[str, dict[str, int]]]:
    """Return (snippet-pool documents + record errors, {question id: body}, {question id: {PMID: 1}})."""
    snippets: dict[str, dict[tuple[str, str], None]] = {}
    errors: list[Document | RecordError] = []
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    for path in paths:
        try:
            questions = json.loads(Path(path).read_text(encoding="utf-8"))["questions"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(str(path), f"not a BioASQ golden file ({type(exc).__name__}: {exc})") from None
        for i, q in enumerate(questions):
            qid, body = str(q.get("id") or ""), str(q.get("body") or "").strip()
            if not qid or not body:
                errors.append(RecordError(str(path), f"question {i}", "no id or body"))
                continue
            gold = {p for p in (pmid_of(u) for u in q.get("documents") or []) if p}
            if gold:
                queries[qid] = body
                qrels[qid] = {p: 1 for p in sorted(gold)}
            for snip in q.get("snippets") or []:
                pmid, text = pmid_of(snip.get("document")), " ".join(str(snip.get("text") or "").split())
                if pmid and text:
                    section = "Title" if snip.get("beginSection") == "title" else "Abstract"
                    snippets.setdefault(pmid, {})[(section, text)] = None  # first seen first
    docs: list[Document | RecordError] = []
    for pmid, parts in sorted(snippets.items()):
        titles = [t for section, t in parts if section == "Title"]
        body = [t for section, t in parts if section == "Abstract"]
        docs.append(Document(
            doc_id=f"pmid:{pmid}", tier="research", source_kind="bioasq_snippets", source_id=pmid,
            title=titles[0] if titles else "", sections=[Section(name="Abstract", text="\n\n".join(body))] if body else [],
            url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
        ))
    return errors + docs, queries, qrels


def evaluate_bioasq(paths: list[str | Path], settings: Settings, mode: str, workdir: str | Path | None = None,
                    run_file: str | Path | None = None, on_stage: Stage | None = None) -> EvalResult:
    """Return the EvalResult of `mode` retrieval of each question's gold PMIDs from the snippet pool."""
    files = sorted(Path(p) for p in paths)
    docs, queries, qrels = load_golden(files)
    # The pool depends on exactly these files: their names and sizes sign the indexed corpus.
    listing = "|".join(f"{p.resolve()}:{p.stat().st_size}" for p in files)
    signature = hashlib.sha256(f"{POOL_VERSION}|{listing}".encode()).hexdigest()[:16]
    with work_store(workdir) as store:
        seconds = index_documents(store, docs, "bioasq:" + ",".join(p.name for p in files), signature, settings,
                                  embed=mode != "bm25", on_stage=on_stage)
        name = "bioasq:" + "+".join(p.stem.replace("_golden", "") for p in files)
        return evaluate_store(store, name, "golden", queries, qrels, settings, mode, doc_keys(store), seconds,
                              run_file=run_file, on_stage=on_stage)
