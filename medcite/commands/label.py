"""`medcite label DRUG|SET_ID`: the structured model of a held FDA label (indications, exclusions,
dosing rows with their populations), as the label check reads it."""

from __future__ import annotations

import click


def register(cli) -> None:
    """Attach the `label` command to the CLI group."""
    from medcite.cli import INDEX_OPTION, JSON_OPTION, emit_json, open_index

    @cli.command(name="label")
    @click.argument("name")
    @INDEX_OPTION
    @JSON_OPTION
    def label_command(name, index_path, as_json):
        """Show the label model of DRUG (generic or brand) or SET_ID: indications, exclusions, dosing rows."""
        from medcite.analyze.label_model import label_model
        from medcite.errors import MedciteError
        from medcite.render.tables import label_model_tables

        store = open_index(index_path)
        try:
            models = label_model(store, name)
        except MedciteError as exc:
            raise click.ClickException(str(exc)) from exc
        finally:
            store.close()
        if as_json:
            emit_json([m.to_dict() for m in models])
            return
        from medcite.render.tables import console

        for model in models:
            for table in label_model_tables(model.to_dict()):
                console.print(table)
