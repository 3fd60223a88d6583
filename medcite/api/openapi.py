"""The OpenAPI schema of the app as committed text (medcite/api/openapi.json)."""

from __future__ import annotations

import json
from pathlib import Path

OPENAPI_FILE = Path(__file__).with_name("openapi.json")


def openapi_json() -> str:
    """Return the app's OpenAPI schema as stable, pretty JSON text (what the committed file holds)."""
    from medcite.api.app import create_app
    from medcite.settings import Settings

    # The schema does not depend on the index or the environment: build the app on a placeholder.
    app = create_app(Settings(index_path="medcite.db"), api_keys="", rate_limit=0)
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
