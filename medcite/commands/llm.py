"""`medcite llm serve`: a local OpenAI-compatible server for the LLM composer (the `llm` extra)."""

from __future__ import annotations

import click


def register(cli) -> None:
    """Attach the `llm` command group to the CLI."""

    @cli.group()
    def llm():
        """The optional LLM composer's local model server."""

    @llm.command()
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
    @click.option("--port", default=8088, show_default=True, type=int, help="Port to listen on.")
    @click.option("--threads", default=2, show_default=True, type=int, help="CPU threads of the model.")
    @click.option("--ctx", default=4096, show_default=True, type=int, help="Context length in tokens.")
    @click.option("--cache-dir", type=click.Path(file_okay=False), help="Where the assembled model is kept (~/.cache/medcite).")
    def serve(host, port, threads, ctx, cache_dir):
        """Serve Qwen2.5-Coder-0.5B-Instruct (from PyPI, no download) at http://HOST:PORT/v1 until stopped."""
        import threading
        from pathlib import Path

        from medcite.compose.llm.local import MODEL_NAME, assemble_model, start_server

        model = assemble_model(Path(cache_dir) if cache_dir else None)
        server = start_server(model, host, port, threads, ctx)
        click.echo(f"medcite: serving {MODEL_NAME} at http://{host}:{port}/v1 — set MEDCITE_LLM_URL=http://{host}:{port}/v1 "
                   f"MEDCITE_LLM_MODEL={MODEL_NAME}", err=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            del server
