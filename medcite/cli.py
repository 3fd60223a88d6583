"""The `medcite` command line: a thin shell over library calls.

Each command opens the index, calls one library function and renders the result as a table
(humans) or JSON (`--json`, machines). Library errors (MedciteError) become one-line messages.
Progress bars go to stderr and are off with `--silent`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from medcite import __version__
from medcite.errors import MedciteError
from medcite.settings import load_settings

INDEX_OPTION = click.option(
    "--index",
    "index_path",
    envvar="MEDCITE_INDEX",
    default="medcite.db",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Index file (env MEDCITE_INDEX).",
)
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON (stable shape, see README).")


class MedciteGroup(click.Group):
    """Turns library errors into one-line messages instead of tracebacks."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except MedciteError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=MedciteGroup)
@click.version_option(__version__, prog_name="medcite")
def cli():
    """medcite: a self-hosted clinical evidence engine with cited answers."""


def emit_json(payload) -> None:
    """Print `payload` as pretty JSON to stdout."""
    click.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=str))


def open_index(index_path: str, readonly: bool = True):
    """Return the store at index_path (read-only by default; raises IndexMissingError)."""
    from medcite.index.store import open_store

    return open_store(index_path, readonly=readonly, create=not readonly)


# ---------------------------------------------------------------------------- ingest
@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@INDEX_OPTION
@JSON_OPTION
@click.option("--force", is_flag=True, help="Re-read files already ingested (unchanged records are still no-ops).")
@click.option("--no-embed", is_flag=True, help="Skip computing passage embeddings (BM25 only).")
@click.option("--silent", is_flag=True, help="No progress bar.")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADDRESS]",
              help="Read, chunk and embed on a Ray cluster (ADDRESS, or a local one); needs medcite[ray]. "
                   "Put it after the paths.")
def ingest(paths, index_path, as_json, force, no_embed, silent, ray_address):
    """Ingest files or folders (formats are detected; folders are walked)."""
    from tqdm import tqdm

    from medcite.ingest.driver import ingest_paths
    from medcite.render.tables import ingest_table

    if ray_address and ray_address != "local" and Path(ray_address).exists():
        raise click.UsageError(f"--ray took the path {ray_address} as a cluster address: put --ray after the paths")

    settings = load_settings(index_path=index_path, embed_at_ingest=False if no_embed else None)
    store = open_index(index_path, readonly=False)
    bar = tqdm(total=0, unit="file", disable=silent, file=sys.stderr, dynamic_ncols=True)
    stage_bars = []

    def on_file(path, i, n):
        bar.total = n
        bar.n = i
        bar.set_description(path.name[:40])
        bar.refresh()

    def on_error(line):
        tqdm.write(f"error: {line}", file=sys.stderr)

    def on_stage(name, total):
        stage = tqdm(total=total or None, desc=name, unit="passage", disable=silent, file=sys.stderr, dynamic_ncols=True)
        stage_bars.append(stage)
        return stage.update

    resources = None
    try:
        if ray_address:
            from medcite.ingest.distributed import ingest_paths_ray, ray_cluster

            with ray_cluster(None if ray_address == "local" else ray_address):
                report = ingest_paths_ray(store, paths, settings, force=force, on_file=on_file, on_error=on_error,
                                          on_stage=on_stage)
        else:
            report = ingest_paths(store, paths, settings, force=force, on_file=on_file, on_error=on_error, on_stage=on_stage)
        # what answering needs from the whole corpus is built here, so `ask` only loads it
        from medcite.analyze.resources import prepare_resources

        resources = prepare_resources(store)
    finally:
        bar.n = bar.total
        bar.close()
        for stage in stage_bars:
            stage.close()
        store.close()
    if as_json:
        emit_json({**report.to_dict(), "resources": resources})
    else:
        ingest_table(report)
    if report.errors and not report.sources and not report.drug_names:
        sys.exit(1)


# ---------------------------------------------------------------------------- stats / search / show
@cli.command()
@INDEX_OPTION
@JSON_OPTION
def stats(index_path, as_json):
    """Counts per tier and source, drug dictionary, corpus version."""
    from medcite.render.tables import stats_table

    store = open_index(index_path)
    data = store.stats()
    store.close()
    emit_json(data) if as_json else stats_table(data)


@cli.command()
@click.argument("query")
@INDEX_OPTION
@JSON_OPTION
@click.option("--tier", type=click.Choice(["guideline", "label", "research"]), help="Only this evidence tier.")
@click.option("-k", "k", default=10, show_default=True, help="Number of hits.")
@click.option("--mode", type=click.Choice(["bm25", "dense", "hybrid"]), help="Retrieval mode (default: settings).")
def search(query, index_path, as_json, tier, k, mode):
    """Search passages: source id, tier, title, section, score, snippet."""
    from medcite.render.tables import hits_table
    from medcite.retrieve.search import search_passages

    store = open_index(index_path)
    hits = search_passages(store, query, k=k, tier=tier, settings=load_settings(index_path=index_path), mode=mode)
    store.close()
    if as_json:
        emit_json([hit_json(h) for h in hits])
    else:
        hits_table(hits)


def hit_json(hit) -> dict:
    """Return the stable JSON shape of a search hit."""
    return {
        "passage_id": hit.passage_id,
        "doc_id": hit.doc_id,
        "source_id": hit.source_id,
        "source_kind": hit.source_kind,
        "tier": hit.tier,
        "title": hit.title,
        "section": hit.section,
        "section_code": hit.section_code,
        "score": round(hit.score, 4),
        "url": hit.url,
        "snippet": hit.snippet(),
    }


@cli.command()
@click.argument("doc_id")
@INDEX_OPTION
@JSON_OPTION
def show(doc_id, index_path, as_json):
    """Show one document (e.g. spl:<set id>, pmid:<PMID>, ngc:<id>) with its sections."""
    from dataclasses import asdict

    from medcite.render.tables import document_view

    store = open_index(index_path)
    if "#" in doc_id:
        doc_id = doc_id.split("#", 1)[0]
    doc = store.get_document(doc_id)
    store.close()
    emit_json(asdict(doc)) if as_json else document_view(doc)


def main() -> None:
    """Entry point of the console script."""
    cli()


def _register_optional_commands() -> None:
    """Attach the commands that live in their own modules (ask, eval, serve, review, fetch, label, llm)."""
    import importlib

    for module_name in (
        "medcite.commands.ask", "medcite.commands.eval", "medcite.commands.serve", "medcite.commands.review",
        "medcite.commands.fetch", "medcite.commands.label", "medcite.commands.llm",
    ):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(cli)


_register_optional_commands()

if __name__ == "__main__":
    main()
