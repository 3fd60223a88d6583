"""`medcite review CASES --out results.jsonl`: answer a queue of cases, resumably, with a summary table."""

from __future__ import annotations

import sys
from pathlib import Path

import click


def register(cli) -> None:
    """Attach the `review` command to the CLI group."""
    from medcite.cli import INDEX_OPTION, JSON_OPTION

    @cli.command()
    @click.argument("cases", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
                  help="Results file (JSON Lines, one line per case); ids already in it are skipped.")
    @INDEX_OPTION
    @JSON_OPTION
    @click.option("--full", is_flag=True, help="Also store each full answer in the results file.")
    @click.option("--silent", is_flag=True, help="No progress bar.")
    def review(cases, out_path, index_path, as_json, full, silent):
        """Review many cases (.csv or .jsonl with `id` and `case` or `question`) against the labels."""
        from rich.table import Table
        from tqdm import tqdm

        from medcite.cli import emit_json, open_index
        from medcite.render.tables import console
        from medcite.review import CATEGORIES, run_review
        from medcite.settings import load_settings

        settings = load_settings(index_path=index_path)
        store = open_index(index_path)
        bar = tqdm(total=0, unit="case", disable=silent, file=sys.stderr, dynamic_ncols=True)

        def on_start(n):
            bar.total = n
            bar.refresh()

        def on_case(case, category):
            bar.set_postfix_str(category or "failed", refresh=False)
            bar.update(1)

        def on_error(line):
            tqdm.write(f"error: {line}", file=sys.stderr)

        try:
            summary = run_review(store, cases, out_path, settings=settings, full=full,
                                 on_start=on_start, on_case=on_case, on_error=on_error)
        finally:
            bar.close()
            store.close()
        if as_json:
            emit_json(summary.to_dict())
            return
        table = Table(title=f"Review of {cases.name} -> {out_path}")
        table.add_column("category")
        table.add_column("cases", justify="right")
        for name in CATEGORIES:
            table.add_row(name, str(summary.categories[name]))
        table.add_row("[b]all[/b]", f"[b]{sum(summary.categories.values())}[/b]")
        console.print(table)
        console.print(
            f"cases read: {summary.total}, answered now: {summary.answered}, already done: {summary.skipped}, "
            f"failed: {summary.failed}, unreadable rows: {len(summary.errors) - summary.failed}; {summary.seconds:.1f} s"
        )
