"""Ingest throughput per source and index size per 1,000 passages; plain ingest against Ray.

    python bench/ingest.py [--data ../shared/data] [--embed] [--json]
    python bench/ingest.py --ray [--labels 8] [--guidelines 20]   # needs medcite[ray]

Ingests each corpus of the shared data into a fresh temporary index, one source after another (so the
per-source time is that source's alone), then reports documents/s and passages/s per source, the
time to build the BM25 index (and the embeddings with --embed), and the size of the SQLite file and
of the derived search indexes per 1,000 passages. Prints a table; --json for machines.

With --ray: ingests one real subset (the first --labels openFDA labels and --guidelines NGC summaries,
the SPL XML and PubMed XML samples; every tier embedded) into a fresh index three times: plain, on a
local Ray cluster of 1 CPU and of 2 CPUs (one worker per CPU); prints files/s, passages/s and
embeddings/s of each, the cluster start apart, and the load average (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from medcite.index.store import open_store  # noqa: E402
from medcite.ingest.driver import ingest_paths, sync_dense  # noqa: E402
from medcite.settings import Settings  # noqa: E402

SOURCES = [
    ("openFDA labels", "fda_labels_openfda_pharmgkb/openfda_labels.jsonl.gz"),
    ("SPL XML", "fda_spl_xml_samples/xml"),
    ("NGC guidelines", "guidelines_ngc_ahrq/ngc_guideline_summaries.jsonl.gz"),
    ("PDQ summaries", "nci_pdq_cancer_summaries/pdq_hp_treatment"),
    ("NCI drug pages", "nci_pdq_cancer_summaries/nci_drug_pages"),
    ("PubMedQA", "pubmedqa/ori_pqal.json"),
    ("SciFact (BEIR)", "beir_scifact/corpus.jsonl.gz"),
    ("PubMed XML", "pubmed_xml_samples"),
    ("Drugs@FDA", "drug_vocab_drugsfda/Products.txt"),
    ("DrugBank", "drug_vocab_drugbank_open/drugbank_vocabulary.csv"),
]


def folder_bytes(path: Path) -> int:
    """Return the total size of the files under `path` (0 if missing)."""
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def write_subset(data: Path, folder: Path, labels: int, guidelines: int) -> None:
    """Write the --ray subset into `folder`: first lines of the label and guideline files, XML samples."""
    import gzip
    import shutil

    for rel, n in ((SOURCES[0][1], labels), (SOURCES[2][1], guidelines)):
        with gzip.open(data / rel, "rt", encoding="utf-8") as fh:
            (folder / f"{rel.split('/')[0]}.jsonl").write_text("".join(line for _, line in zip(range(n), fh)), encoding="utf-8")
    for rel in (SOURCES[1][1], SOURCES[7][1]):
        for xml in sorted((data / rel).glob("*.xml")):
            shutil.copy(xml, folder / xml.name)


def ray_comparison(args) -> list[dict]:
    """Return one row per run (plain, Ray 1 CPU, Ray 2 CPUs) on the same subset, every tier embedded."""
    from medcite.ingest.distributed import ingest_paths_ray, ray_cluster

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        subset = Path(tmp) / "subset"
        subset.mkdir()
        write_subset(args.data, subset, args.labels, args.guidelines)
        for name, cpus in (("plain", 0), ("ray, 1 worker", 1), ("ray, 2 workers", 2)):
            db = Path(tmp) / f"{cpus}.db"
            settings = Settings(index_path=str(db), dense_tiers="all")
            store = open_store(db)
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            if cpus:
                with ray_cluster(None, num_cpus=cpus):
                    start = time.perf_counter() - t0
                    report = ingest_paths_ray(store, [subset], settings)
            else:
                start, report = 0.0, ingest_paths(store, [subset], settings)
            seconds = time.perf_counter() - t0 - start
            vectors = store.stats()["embeddings"]
            store.close()
            passages = sum(s.passages for s in report.sources.values())
            rows.append({"run": name, "files": report.files_done, "passages": passages, "embeddings": vectors,
                         "cluster_start_s": round(start, 1), "seconds": round(seconds, 1),
                         "files_per_s": round(report.files_done / seconds, 2), "passages_per_s": round(passages / seconds, 1),
                         "embeddings_per_s": round(vectors / seconds, 1), "load_avg": round(load, 1)})
    return rows


def print_ray_table(rows: list[dict]) -> None:
    """Print the --ray comparison as a Markdown table."""
    print(f"# ingest: plain vs Ray — {platform.machine()} {os.cpu_count()} cores")
    print("| run | files | passages | embeddings | cluster start s | seconds | files/s | passages/s | embeddings/s | load avg |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['run']} | {r['files']} | {r['passages']} | {r['embeddings']} | {r['cluster_start_s']} | {r['seconds']} | "
              f"{r['files_per_s']} | {r['passages_per_s']} | {r['embeddings_per_s']} | {r['load_avg']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--embed", action="store_true", help="also time passage embeddings")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--ray", action="store_true", help="plain ingest against Ray with 1 and 2 workers, on a subset")
    parser.add_argument("--labels", type=int, default=8, help="--ray: openFDA labels in the subset")
    parser.add_argument("--guidelines", type=int, default=20, help="--ray: NGC summaries in the subset")
    args = parser.parse_args()
    if args.ray:
        rows = ray_comparison(args)
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            print_ray_table(rows)
        return

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        settings = Settings(index_path=str(db), embed_at_ingest=False)
        store = open_store(db)
        total_passages = 0
        for name, rel in SOURCES:
            t0 = time.perf_counter()
            report = ingest_paths(store, [args.data / rel], settings)
            seconds = time.perf_counter() - t0  # includes the incremental BM25 update of this source
            docs = sum(s.documents for s in report.sources.values())
            passages = sum(s.passages for s in report.sources.values())
            names = sum(report.drug_names.values())
            total_passages += passages
            rows.append({"source": name, "documents": docs, "passages": passages, "drug_names": names,
                         "seconds": round(seconds, 2),
                         "docs_per_s": round(docs / seconds, 1) if docs else None,
                         "passages_per_s": round(passages / seconds, 1) if passages else None,
                         "names_per_s": round(names / seconds, 1) if names else None,
                         "errors": len(report.errors)})
        t0 = time.perf_counter()
        store.sync_lexical()
        store.lexical.rebuild(store.iter_bm25_rows(), store.corpus_version())
        bm25_rebuild = time.perf_counter() - t0
        embed_seconds = None
        if args.embed:
            t0 = time.perf_counter()
            sync_dense(store, Settings(index_path=str(db), embed_at_ingest=True))
            embed_seconds = time.perf_counter() - t0
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        sizes = {
            "sqlite_bytes": db.stat().st_size,
            "bm25_bytes": folder_bytes(store.search_dir / "bm25"),
            "dense_bytes": folder_bytes(store.search_dir / "dense"),
        }
        store.close()
    per_k = {k.replace("_bytes", "_kb_per_1000_passages"): round(v / 1024 / (total_passages / 1000), 1) for k, v in sizes.items()}
    result = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "sources": rows,
        "total_passages": total_passages,
        "bm25_full_rebuild_s": round(bm25_rebuild, 2),
        "embed_s": round(embed_seconds, 1) if embed_seconds is not None else None,
        "sizes": sizes,
        "per_1000_passages": per_k,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"# ingest benchmark — {result['machine']}")
    print("| source | documents | passages | drug names | seconds | docs/s | passages/s | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['source']} | {r['documents']} | {r['passages']} | {r['drug_names']} | {r['seconds']} | "
              f"{r['docs_per_s'] or ''} | {r['passages_per_s'] or ''} | {r['errors']} |")
    print(f"\nBM25 full rebuild of {total_passages} passages: {result['bm25_full_rebuild_s']} s"
          + (f"; embeddings: {result['embed_s']} s" if embed_seconds is not None else ""))
    print("| store | MB | KB per 1,000 passages |")
    print("|---|---:|---:|")
    for k, v in sizes.items():
        print(f"| {k.replace('_bytes', '')} | {v / 1e6:.1f} | {per_k[k.replace('_bytes', '_kb_per_1000_passages')]} |")


if __name__ == "__main__":
    main()
