"""What answering needs from the whole corpus, built once and kept beside the search indexes.

- the drug lexicon (Aho-Corasick over ~70k dictionary names: ~1.6 s to build),
- the corpus abbreviation table,
- the pharmacologic-class catalog of the held labels (`analyze.question`),
- the corpus's verbs (`analyze.statements`: which sentences are statements, not fragments),
- the corpus's boilerplate: sentences written alike in many documents (never quoted as an answer),
- the everyday phrases the labels gloss ("high blood pressure (hypertension)": `analyze.question`),
- the members of the condition classes the corpus defines ("ACS include ... NSTEMI": `analyze.condition_kinds`),
- the dosing rows of every held label (`analyze.label_dosing`: the label model the check reads),
  saved one file a label under `<index>.search/label_rows/` and loaded only for the label checked.

`medcite ingest` builds them after the indexes (`prepare_resources`) and saves them to
`<index>.search/resources/resources.pkl` with the corpus version; `case_resources` loads that file
(~0.15 s) and rebuilds it when it is missing or stale (a read-only index keeps the rebuilt copy in
memory when the folder cannot be written). Like every derived index, deleting it is always safe.
The file is a pickle of our own objects, written and read only by medcite in the index's folder.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path

from medcite.analyze.abbreviations import AbbreviationTable
from medcite.analyze.condition_kinds import ConditionKinds, mine_kinds
from medcite.analyze.drug_lexicon import DrugLexicon
from medcite.analyze.label_dosing import LABEL_MODEL_VERSION
from medcite.analyze.question import ClassCatalog, build_class_catalog, gloss_matcher, mine_glosses
from medcite.analyze.statements import VerbLexicon, mine_boilerplate, mine_verbs

RESOURCES_VERSION = 8  # bump when a resource changes shape: the saved file is then rebuilt


@dataclass
class CaseResources:
    """The corpus-derived resources of one index at one corpus version."""

    corpus_version: int
    lexicon: DrugLexicon
    abbreviations: AbbreviationTable
    classes: ClassCatalog
    verbs: VerbLexicon
    boilerplate: frozenset[str] = frozenset()  # keys of sentences written alike in many documents
    glosses: DrugLexicon | None = None  # everyday phrases the labels gloss with a disease word
    kinds: ConditionKinds | None = None  # the members of the condition classes the corpus defines
    version: int = RESOURCES_VERSION


def resources_path(store) -> Path | None:
    """Return where the resources of `store` are saved (None for a store without a file)."""
    folder = getattr(store, "search_dir", None)
    return Path(folder) / "resources" / "resources.pkl" if folder is not None else None


def build_resources(store) -> CaseResources:
    """Return the resources built from the store's dictionary, abbreviations, labels and text."""
    return CaseResources(
        corpus_version=store.corpus_version(),
        lexicon=DrugLexicon(store.drug_name_rows()),
        abbreviations=AbbreviationTable(store.abbreviation_rows()),
        classes=build_class_catalog(store),
        verbs=mine_verbs(store),
        boilerplate=mine_boilerplate(store),
        glosses=gloss_matcher(mine_glosses(store)),
        kinds=mine_kinds(store),
    )


def label_rows_dir(store) -> Path | None:
    """Return the folder of the labels' dosing rows, one file a label, for this corpus version and
    label-model version (None for a store without a file)."""
    folder = getattr(store, "search_dir", None)
    if folder is None:
        return None
    return Path(folder) / "label_rows" / f"c{store.corpus_version()}-m{LABEL_MODEL_VERSION}"


def _row_file(folder: Path, doc_id: str) -> Path:
    return folder / (hashlib.sha1(doc_id.encode("utf-8")).hexdigest() + ".pkl")


def save_label_rows(store, doc_id: str, rows: list) -> None:
    """Write one label's dosing rows beside the indexes (nothing when the folder is not writable)."""
    folder = label_rows_dir(store)
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(rows, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.chmod(tmp, 0o644)
        os.replace(tmp, _row_file(folder, doc_id))
    except OSError:
        return


def load_label_rows(store, doc_id: str) -> list | None:
    """Return one label's dosing rows as saved at ingest, or None when they are not saved."""
    folder = label_rows_dir(store)
    if folder is None:
        return None
    try:
        with _row_file(folder, doc_id).open("rb") as fh:
            return pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None


def prepare_label_rows(store) -> int:
    """Extract and save the dosing rows of every held label not saved yet (~40 ms a label); the
    label model is read once at ingest and loaded per label by the check. Returns how many were built."""
    from medcite.analyze.label_dosing import label_rows
    from medcite.analyze.label_text import load_label

    built = 0
    for doc_id in store.documents_by_kind(tier="label"):
        if load_label_rows(store, doc_id) is None:
            save_label_rows(store, doc_id, label_rows(load_label(store, doc_id)))
            built += 1
    return built


def save_resources(store, res: CaseResources) -> bool:
    """Write `res` beside the search indexes (atomically); return False when the folder is not writable."""
    path = resources_path(store)
    if path is None:
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(res, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        return True
    except OSError:
        return False


def load_resources(store) -> CaseResources | None:
    """Return the saved resources when they match the store's corpus version, else None."""
    path = resources_path(store)
    if path is None or not path.exists():
        return None
    try:
        with path.open("rb") as fh:
            res = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None
    ok = isinstance(res, CaseResources) and res.version == RESOURCES_VERSION and res.corpus_version == store.corpus_version()
    return res if ok else None


def prepare_resources(store) -> str:
    """Bring the saved resources up to the corpus version; return 'fresh' or 'rebuilt'."""
    prepare_label_rows(store)
    if load_resources(store) is not None:
        return "fresh"
    save_resources(store, build_resources(store))
    return "rebuilt"


def _load_or_build(store) -> CaseResources:
    res = load_resources(store)
    if res is None:
        res = build_resources(store)
        save_resources(store, res)
    return res


def case_resources(store) -> CaseResources:
    """Return the resources of the index (loaded or built once per process and corpus version)."""
    return store.cached("case_resources", lambda: _load_or_build(store))
