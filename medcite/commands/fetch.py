"""`medcite fetch`: build a corpus with the live connectors (needs internet; ingest the files after)."""

from __future__ import annotations

from pathlib import Path

import click


def register(cli: click.Group) -> None:
    """Attach the `fetch` command group to the CLI."""

    @cli.group()
    def fetch():
        """Download real data (openFDA labels, PubMed abstracts) into files `medcite ingest` reads."""

    @fetch.command("openfda")
    @click.argument("query", required=False)
    @click.option("--limit", type=int, default=100, show_default=True, help="Most labels to fetch (0: all matches).")
    @click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("data/openfda"), show_default=True)
    @click.option("--api-key", envvar="OPENFDA_API_KEY", help="openFDA API key (env OPENFDA_API_KEY).")
    def fetch_openfda(query, limit, out_dir, api_key):
        """Labels from the openFDA drug-label API, e.g. 'openfda.generic_name:"everolimus"'."""
        from medcite.ingest.connectors import fetch_openfda_labels

        path, n = fetch_openfda_labels(query, limit or None, out_dir, api_key=api_key)
        click.echo(f"{n} labels -> {path}")

    @fetch.command("openfda-bulk")
    @click.option("--parts", help="Comma-separated partition numbers (default: all).")
    @click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("data/openfda-bulk"), show_default=True)
    def fetch_openfda_bulk(parts, out_dir):
        """The openFDA drug-label bulk download (download.json manifest, .json.zip parts)."""
        from medcite.ingest.connectors import download_openfda_bulk

        numbers = [int(p) for p in parts.split(",")] if parts else None
        for path in download_openfda_bulk(out_dir, numbers):
            click.echo(str(path))

    @fetch.command("pubmed")
    @click.argument("term_or_pmids", nargs=-1, required=True)
    @click.option("--retmax", type=int, default=1000, show_default=True, help="Most PubMed hits to fetch for a query.")
    @click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("data/pubmed"), show_default=True)
    @click.option("--api-key", envvar="NCBI_API_KEY", help="NCBI API key (env NCBI_API_KEY): 10 requests/s instead of 3.")
    @click.option("--email", envvar="NCBI_EMAIL", help="Contact e-mail NCBI asks tools to send.")
    def fetch_pubmed_cmd(term_or_pmids, retmax, out_dir, api_key, email):
        """PubMed abstracts by query (esearch + efetch) or by PMIDs (all arguments digits)."""
        from medcite.ingest.connectors import fetch_pubmed

        target = list(term_or_pmids) if all(t.isdigit() for t in term_or_pmids) else " ".join(term_or_pmids)
        for path in fetch_pubmed(target, out_dir, retmax=retmax, api_key=api_key, email=email):
            click.echo(str(path))
