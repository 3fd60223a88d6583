"""Which reader reads a file, and why a file that no reader claims is skipped.

Each reader module exposes `sniff(path) -> bool` (or the format name) and `read(path)`. Order
matters only where two sniffers could both look at a file; each sniffer is written to be precise.
"""

from __future__ import annotations

import gzip
import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

READER_MODULES = (
    "openfda",
    "spl_xml",
    "pubmed_xml",
    "pubmedqa",
    "beir",
    "ngc",
    "pdq",
    "nci_drugs",
    "vocab",
)

DOC_NAMES = {"readme", "provenance", "license", "copying", "notice", "changelog"}


@dataclass
class Reader:
    """A reader module chosen for one file, with the format name it reported."""

    format: str
    module: ModuleType

    def read(self, path: Path):
        """Yield the records of `path` (Documents, DrugNames, RecordErrors)."""
        return self.module.read(path)


def _modules() -> list[ModuleType]:
    mods = []
    for name in READER_MODULES:
        try:
            mods.append(importlib.import_module(f"medcite.ingest.{name}"))
        except ModuleNotFoundError as exc:  # a reader not written yet must not break the others
            if exc.name != f"medcite.ingest.{name}":
                raise
    return mods


def detect(path: Path) -> Reader | None:
    """Return the Reader for `path`, or None when no reader recognises it."""
    for module in _modules():
        try:
            claimed = module.sniff(path)
        except (OSError, ValueError, EOFError):
            claimed = False
        if claimed:
            fmt = claimed if isinstance(claimed, str) else getattr(module, "FORMAT", module.__name__.rsplit(".", 1)[-1])
            return Reader(format=fmt, module=module)
    return None


def _head_text(path: Path, n: int = 4096) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            return fh.read(n).decode("utf-8", "replace")
    except (OSError, EOFError):
        return ""


def skip_reason(path: Path) -> str:
    """Return why a file found while walking a folder is not ingested (documentation, evaluation set...)."""
    name = path.name.lower()
    stem = name.split(".")[0]
    for module in _modules():
        reason = getattr(module, "skip_reason", None)
        if reason is not None:
            try:
                text = reason(path)
            except (OSError, ValueError, EOFError):
                text = None
            if text:
                return text
    if stem in DOC_NAMES or stem.startswith(("readme", "provenance", "license")):
        return "documentation"
    if "qrels" in path.parts or name.startswith("qrels") or name.endswith((".qrel", ".queries", ".ids")):
        return "evaluation set (queries, ids or relevance judgements)"
    if name.startswith(("queries", "claims", "test_ground_truth")) or "golden" in name:
        return "evaluation set (questions / claims)"
    if any("nfcorpus" in part.lower() for part in path.parts):
        return "NFCorpus release files (preprocessed text): evaluation only"
    parent = path.parent.name.lower()
    if parent.startswith("eval_") or any(p.lower().startswith("eval_") for p in path.parts):
        return "evaluation set"
    head = _head_text(path, 2048).lstrip()
    if head.startswith("{") and '"questions"' in head[:200]:
        return "evaluation set (BioASQ questions)"
    if path.suffix.lower() in {".zip", ".xlsx", ".csv", ".tsv", ".txt", ".json"}:
        return "not a corpus format (table, listing or archive no reader claims)"
    return "unknown format"
