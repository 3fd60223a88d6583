"""`medcite serve`: the REST API, the web page and the CDS Hooks services (uvicorn, loopback by default)."""

from __future__ import annotations

import click


def register(cli) -> None:
    """Attach the `serve` command to the CLI group."""
    from medcite.cli import INDEX_OPTION

    @cli.command()
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
    @click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
    @INDEX_OPTION
    @click.option("--workers", default=None, type=int, help="Query threads (env MEDCITE_WORKERS, default 4).")
    def serve(host, port, index_path, workers):
        """Serve the API (/api/v1), the web page (/) and CDS Hooks (/cds-services)."""
        import uvicorn

        from medcite.api.app import create_app
        from medcite.api.security import uvicorn_log_config
        from medcite.index.store import open_store
        from medcite.settings import load_settings

        settings = load_settings(index_path=index_path, workers=workers)
        # Fail now with the one-line hint rather than on the first request.
        open_store(settings.index_path, readonly=True, create=False).close()
        app = create_app(settings)
        click.echo(f"medcite: serving {settings.index_path} on http://{host}:{port}/ (API docs at /docs)", err=True)
        # Connections are bounded too; request bodies are bounded in size and time by the app itself.
        uvicorn.run(app, host=host, port=port, log_config=uvicorn_log_config(settings.log_patient_text),
                    limit_concurrency=settings.max_connections, timeout_keep_alive=5)
