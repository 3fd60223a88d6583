"""What answering needs from the whole corpus, built once and kept beside the search indexes.

- the drug lexicon (Aho-Corasick over ~70k dictionary names: ~1.6 s to build),
- the corpus abbreviation table,
- the pharmacologic-class catalog of the held labels (`analyze.question`),
- the corpus's verbs (`analyze.statements`: which sentences are statements, not fragments),
- the corpus's boilerplate: sentences written alike in many documents (never quoted as an answer),
- the everyday phrases the labels gloss ("high blood pressure (hypertension)": `analyze.question`),
- the dosing rows of every held label (`analyze.label_dosing`: the label model the check reads).

`medcite ingest` builds them after the indexes (`prepare_resources`) and saves them to
`<index>.search/resources/resources.pkl` with the corpus version; `case_resources` loads that file
(~0.15 s) and rebuilds it when it is missing or stale (a read-only index keeps the rebuilt copy in
memory when the folder cannot be written). Like every derived index, deleting it is always safe.
The file is a pickle of our own objects, written and read only by medcite in the index's folder.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from medcite.analyze.abbreviations import AbbreviationTable
from medcite.analyze.drug_lexicon import DrugLexicon
from medcite.analyze.label_dosing import LABEL_MODEL_VERSION
from medcite.analyze.question import ClassCatalog, build_class_catalog, gloss_matcher, mine_glosses
from medcite.analyze.statements import VerbLexicon, mine_boilerplate, mine_verbs
from medcite.index.store import corpus_cached

RESOURCES_VERSION = 6  # bump when a resource changes shape: the saved file is then rebuilt


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
    label_rows: dict = field(default_factory=dict)  # label doc id -> its dosing rows (`label_dosing`)
    label_model_version: int = 0  # `label_dosing.LABEL_MODEL_VERSION` the rows were read with
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
        label_rows=build_label_rows(store),
        label_model_version=LABEL_MODEL_VERSION,
    )


def build_label_rows(store) -> dict:
    """Return {label doc id: dosing rows} for every held label: the label model the check reads,
    extracted once at ingest (~40 ms a label) instead of at every question."""
    from medcite.analyze.label_dosing import label_rows
    from medcite.analyze.label_text import load_label

    return {doc_id: label_rows(load_label(store, doc_id)) for doc_id in store.documents_by_kind(tier="label")}


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
    return corpus_cached(store, "case_resources", lambda: _load_or_build(store))
