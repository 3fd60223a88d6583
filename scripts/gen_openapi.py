"""Regenerate medcite/api/openapi.json from the app (tests/api/test_openapi.py checks they agree).

Usage: python scripts/gen_openapi.py [--check]
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from medcite.api.openapi import OPENAPI_FILE, openapi_json  # noqa: E402


def main() -> int:
    """Write the schema (or with --check, return 1 when the committed file differs)."""
    text = openapi_json()
    if "--check" in sys.argv[1:]:
        same = OPENAPI_FILE.exists() and OPENAPI_FILE.read_text(encoding="utf-8") == text
        print(f"{OPENAPI_FILE}: {'up to date' if same else 'out of date; run python scripts/gen_openapi.py'}")
        return 0 if same else 1
    OPENAPI_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {OPENAPI_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
