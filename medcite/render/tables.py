"""Human-readable tables for the CLI (rich, to stdout)."""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from medcite.records import Document, Hit

import sys

# A pipe or file gets wide tables (rich would default to 80 columns there).
console = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 160)


def ingest_table(report) -> None:
    """Print the ingest summary: documents and passages per tier and source, skipped, failed."""
    table = Table(title=f"Ingest run {report.run_id} — corpus version {report.corpus_version}")
    for col in ("tier", "source", "documents", "passages", "added", "replaced", "unchanged", "seconds"):
        table.add_column(col, justify="right" if col not in ("tier", "source") else "left")
    for key in sorted(report.sources):
        s = report.sources[key]
        secs = report.source_seconds.get(s.source_kind)
        table.add_row(s.tier, s.source_kind, str(s.documents), str(s.passages), str(s.added), str(s.replaced),
                      str(s.unchanged), f"{secs:.1f}" if secs is not None else "")
    for src, n in sorted(report.drug_names.items()):
        table.add_row("vocab", f"drug names ({src})", str(n), "", "", "", "", "")
    console.print(table)
    if report.skipped:
        groups: dict[tuple[str, str], list[str]] = {}
        root = Path(os.path.commonpath([str(Path(p).parent) for p, _ in report.skipped]))
        for path, reason in report.skipped:
            p = Path(path)
            folder = str(p.parent.relative_to(root)) if p.parent != root else "."
            groups.setdefault((folder, reason), []).append(p.name)
        skipped = Table(title=f"Skipped ({len(report.skipped)} files under {root}; --json lists each)")
        skipped.add_column("folder")
        skipped.add_column("files", justify="right")
        skipped.add_column("reason")
        skipped.add_column("e.g.")
        for (folder, reason), names in sorted(groups.items()):
            skipped.add_row(escape(folder), str(len(names)), escape(reason), escape(", ".join(names[:2]) + (" …" if len(names) > 2 else "")))
        console.print(skipped)
    console.print(
        f"files ingested: {report.files_done}, already done: {report.files_already_done}, "
        f"skipped: {len(report.skipped)}, failed records/files: {len(report.errors)}; "
        f"bm25: {report.lexical}; dense: {report.dense}; {report.seconds:.1f} s"
    )


def stats_table(data: dict) -> None:
    """Print `medcite stats` as a table."""
    table = Table(title=f"{data['index_file']} — corpus version {data['corpus_version']}")
    for col in ("tier", "source", "documents", "passages"):
        table.add_column(col, justify="left" if col in ("tier", "source") else "right")
    for tier, t in sorted(data["tiers"].items()):
        for kind, s in sorted(t["sources"].items()):
            table.add_row(tier, kind, str(s["documents"]), str(s["passages"]))
        table.add_row(f"[b]{tier}[/b]", "[b]all[/b]", f"[b]{t['documents']}[/b]", f"[b]{t['passages']}[/b]")
    console.print(table)
    drugs = data["drug_dictionary"]
    console.print(
        f"drug dictionary: {drugs['entries']} names -> {drugs['generics']} generics "
        + ", ".join(f"{k}: {v}" for k, v in drugs["sources"].items())
    )
    console.print(
        f"abbreviations: {data['abbreviations']}; embeddings: {data['embeddings']}; "
        f"ingest errors logged: {data['ingest_errors']}; index size: {data['index_bytes'] / 1e6:.1f} MB"
    )


def hits_table(hits: list[Hit]) -> None:
    """Print search hits: rank, source id, tier, title, section, score, snippet."""
    table = Table(show_lines=True)
    for col in ("#", "source id", "tier", "title", "section", "score", "snippet"):
        table.add_column(col, overflow="fold")
    for i, h in enumerate(hits, 1):
        table.add_row(str(i), h.source_id, h.tier, escape(h.title[:60]), escape(h.section[:40]), f"{h.score:.3f}", escape(h.snippet(200)))
    console.print(table)
    if not hits:
        console.print("no hits")


def document_view(doc: Document) -> None:
    """Print one document: header with provenance, then its sections."""
    console.print(f"[b]{escape(doc.title)}[/b]")
    console.print(f"{doc.doc_id} · {doc.tier} · {doc.source_kind} · source id {doc.source_id}"
                  + (f" · version {doc.version}" if doc.version else "") + (f" · {doc.date}" if doc.date else ""), markup=False)
    if doc.url:
        console.print(doc.url, markup=False)
    for section in doc.sections:
        code = f" [{section.code}]" if section.code else ""
        console.rule(escape(f"{section.name}{code}"))
        console.print(section.text, markup=False)


def labelcheck_tables(score: dict, failures: bool = True) -> list[Table]:
    """Return the tables of `medcite eval labelcheck`: per-field accuracy, confusion per field and
    (with `failures`) every failing case with what it expected, what came back and its basis."""
    summary = Table(title=f"Label check: {score['correct']}/{score['cases']} cases right, "
                          f"{score['unsafe']} unsafe verdicts, label chosen {score['label_chosen']}/{score['cases']}, "
                          f"p50 {score['seconds_p50'] * 1000:.0f} ms, p95 {score['seconds_p95'] * 1000:.0f} ms")
    for col in ("field", "right", "scored", "accuracy"):
        summary.add_column(col, justify="left" if col == "field" else "right")
    for name, f in score["fields"].items():
        acc = f"{100 * f['right'] / f['scored']:.1f}%" if f["scored"] else "-"
        summary.add_row(name, str(f["right"]), str(f["scored"]), acc)
    out = [summary]
    confusion = Table(title="Confusion (expected -> got: n)")
    confusion.add_column("field")
    confusion.add_column("expected")
    confusion.add_column("got")
    for name, rows in score["confusion"].items():
        for expected, got in sorted(rows.items()):
            confusion.add_row(name, expected, ", ".join(f"{g}: {n}" for g, n in sorted(got.items())))
    out.append(confusion)
    if failures and score["failures"]:
        fail = Table(title=f"Failing cases ({len(score['failures'])})", show_lines=True)
        for col in ("id", "category", "failed", "expected", "got", "basis"):
            fail.add_column(col, overflow="fold")
        for f in score["failures"]:
            exp = ", ".join(f"{k}={v}" for k, v in f["expected"].items())
            got = ", ".join(f"{k}={v}" for k, v in f["got"].items())
            basis = " | ".join(f"{b.get('section')}: {b.get('quote')}" for b in f["basis"])
            fail.add_row(escape(f["id"]), f["category"], ", ".join(f["failed"]) + (" (UNSAFE)" if f["unsafe"] else ""),
                         escape(exp), escape(got), escape(basis))
        out.append(fail)
    return out


def label_model_tables(model: dict) -> list[Table]:
    """Return the tables of `medcite label`: indications with their condition phrases and
    Limitations of Use (rows "MG": the uses the patient labeling states, with its sentence), exclusions, and the dosing rows with population, kind and source."""
    head = f"{model['title']} — set id {model['set_id']}, version {model['version']}, effective {model['effective_date']}"
    ind = Table(title=f"{escape(head)}: indications", show_lines=True)
    for col in ("#", "for", "limitations of use (MG: the patient labeling's sentence)"):
        ind.add_column(col, overflow="fold")
    for i in model["indications"]:
        ind.add_row(i["number"] or "-", escape("; ".join(i["conditions"])), escape(" ".join(x["text"] for x in i["limitations"])))
    for u in model.get("patient_uses", []):
        ind.add_row("MG", escape("; ".join(u["conditions"]) or "(no condition read)"), escape(u["text"]["text"][:160]))
    exc = Table(title="Exclusions (not indicated / not approved / contraindicated)")
    exc.add_column("sentence", overflow="fold")
    for x in model["exclusions"]:
        exc.add_row(escape(x["text"]))
    rows = Table(title=f"Dosing rows ({len(model['dosing_rows'])})", show_lines=True)
    for col in ("sub", "kind", "population", "dose", "frequency", "route", "source"):
        rows.add_column(col, overflow="fold")
    for r in model["dosing_rows"]:
        pops = list(r["populations"])
        if r["age"]:
            pops.append(f"age {r['age']['lo'] or ''}–{r['age']['hi'] or ''}")
        if r["weight"]:
            pops.append(f"weight {r['weight']['lo'] or ''}–{r['weight']['hi'] or ''} kg")
        if r["crcl"]:
            pops.append(f"CrCl {r['crcl']['lo'] or ''}–{r['crcl']['hi'] or ''}")
        if r["child_pugh"]:
            pops.append("Child-Pugh " + "/".join(r["child_pugh"]))
        pops += r["genes"] + ([r["metabolizer"]] if r["metabolizer"] else []) + ([r["phase"]] if r["phase"] else [])
        rows.add_row(r["subsection"] or "-", r["kind"], escape(", ".join(pops)), escape(", ".join(r["doses"])),
                     escape(", ".join(r["frequencies"])), ", ".join(r["routes"]), escape(r["text"][:160]))
    return [ind, exc, rows]
