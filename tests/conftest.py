"""Shared fixtures: the real corpora in ../shared/data (never copied into the repo)."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MEDCITE_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data; the suite needs it (CI has it beside the clone)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"{SHARED_DATA} not found: tests read real data from ../shared/data")
    return SHARED_DATA
