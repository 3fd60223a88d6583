"""`medcite ask`: answer a case or question in three cited tiers with a label check per drug."""

from __future__ import annotations

import click


def register(cli) -> None:
    """Attach the `ask` command to the CLI group."""
    from medcite.cli import INDEX_OPTION, JSON_OPTION, emit_json, open_index

    @cli.command()
    @click.argument("question", required=False)
    @click.option("--file", "case_file", type=click.File("r", encoding="utf-8"), help="Read the case from a file ('-' for stdin).")
    @INDEX_OPTION
    @JSON_OPTION
    @click.option("--mode", type=click.Choice(["bm25", "dense", "hybrid"]), help="Retrieval mode (default: settings).")
    @click.option("--composer", type=click.Choice(["extractive", "llm"]),
                  help="Who writes the prose: quotes (extractive, default) or the model at MEDCITE_LLM_URL, verified.")
    def ask(question, case_file, index_path, as_json, mode, composer):
        """Answer CASE OR QUESTION: bottom line, guidelines, FDA label check, research, references."""
        from medcite.limits import bounded_ask
        from medcite.render.markdown import render_markdown
        from medcite.settings import load_settings

        if case_file is not None:
            if question:
                raise click.UsageError("give the case as an argument or with --file, not both")
            question = case_file.read()
        if not question or not question.strip():
            raise click.UsageError('no case given: medcite ask "CASE" or medcite ask --file case.txt')
        settings = load_settings(index_path=index_path, retrieval_mode=mode, composer=composer)
        store = open_index(index_path)
        try:
            answer = bounded_ask(store, question.strip(), settings)  # the limits of every entry point
        finally:
            store.close()
        if as_json:
            emit_json(answer.to_dict())
        else:
            click.echo(render_markdown(answer), nl=False)
