"""Readers for drug-name dictionaries: Drugs@FDA `Products.txt` and the DrugBank open vocabulary.

Both yield `DrugName` entries only (no documents), each (name, generic, kind) once per file.

- FORMAT "drugsfda_products": Drugs@FDA Products.txt (tab-separated, CRLF, ASCII/latin-1).
  The brand (DrugName column) resolves to the active ingredient, lower-cased and kept as written
  ("sunitinib malate"): label records name their generic that way too. Each ingredient is also
  an entry of its own, and its salt-free base ("SUNITINIB") is added as a synonym of it when the
  base is the ingredient minus trailing salt words and is not itself an ingredient in the file.
  Combination products ("ABACAVIR SULFATE; LAMIVUDINE") give one entry per component.
- FORMAT "drugbank_vocabulary": DrugBank's CC0 vocabulary CSV. The common name and each
  " | "-separated synonym resolve to the common name, lower-cased.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

from medcite.records import DrugName, RecordError

FORMATS = ("drugsfda_products", "drugbank_vocabulary")
FORMAT = "drugsfda_products"  # `sniff` returns the exact format name of each file

# Salt, counter-ion and hydrate words that may end an ingredient name (a chemistry code table).
SALT_WORDS = {
    "acetate", "besylate", "bitartrate", "bromide", "calcium", "citrate", "dihydrate",
    "dihydrochloride", "dimesylate", "disodium", "fumarate", "hemihydrate", "hyclate",
    "hydrobromide", "hydrochloride", "lactate", "magnesium", "malate", "maleate", "mesylate",
    "monohydrate", "phosphate", "potassium", "sesquihydrate", "sodium", "succinate", "sulfate",
    "tartrate", "tosylate", "trihydrate",
}
# A base that is itself only an ion ("sodium" from "sodium acetate") is not a drug name.
_ION_WORDS = {"calcium", "magnesium", "potassium", "sodium", "disodium", "lithium", "zinc", "ferrous", "aluminum"}

_DRUGSFDA_HEADER = re.compile(r"^\ufeff?ApplNo\tProductNo\t.*\bDrugName\t.*\bActiveIngredient\b")
_DRUGBANK_HEADER = re.compile(r"^\ufeff?DrugBank ID,Accession Numbers,Common name,")


_CONSTITUENTS = re.compile(r"\s*\([^()]*;[^()]*\)")


def _norm(text: str) -> str:
    return " ".join(text.split())


def salt_free_base(ingredient: str) -> str | None:
    """Return the ingredient without its trailing salt/hydrate words ("LANREOTIDE ACETATE" ->
    "LANREOTIDE"), or None if nothing is stripped or what is left is not a drug name."""
    words = ingredient.split()
    end = len(words)
    while end > 1 and words[end - 1].lower() in SALT_WORDS:
        end -= 1
    if end == len(words):
        return None
    base = " ".join(words[:end])
    if base.lower() in _ION_WORDS or base.lower() in SALT_WORDS:
        return None
    return base


def _components(ingredient: str) -> list[str]:
    """Split "A; B" into its ingredients. A bracketed list of constituents names one ingredient
    ("MENOTROPINS (FSH;LH)", "PANCRELIPASE (AMYLASE;LIPASE;PROTEASE)"): it is dropped, not split."""
    ingredient = _CONSTITUENTS.sub("", ingredient)
    return [_norm(part) for part in ingredient.split(";") if part.strip()]


def _decode(data: bytes) -> str:
    # Drugs@FDA files are ASCII in practice but documented as possibly latin-1.
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class _Unique:
    """Filter out DrugName entries already given for this file."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str, str]] = set()

    def __call__(self, name: str, generic: str, kind: str, source: str) -> Iterator[DrugName]:
        key = (name.lower(), generic, kind)
        if name and generic and key not in self.seen:
            self.seen.add(key)
            yield DrugName(name=name, generic=generic, kind=kind, source=source)


# ---------------------------------------------------------------- Drugs@FDA


def read_drugsfda(path: Path) -> Iterator[DrugName | RecordError]:
    """Yield DrugName entries (brand, generic, salt-free synonym) from a Drugs@FDA Products.txt,
    and a RecordError for each row without the DrugName/ActiveIngredient columns."""
    source = str(path)
    try:
        text = _decode(Path(path).read_bytes())
    except OSError as exc:
        yield RecordError(source, None, f"cannot read file: {exc}")
        return
    lines = text.splitlines()
    if not lines or not _DRUGSFDA_HEADER.match(lines[0]):
        yield RecordError(source, "line 1", "not a Drugs@FDA Products.txt header (ApplNo, ProductNo, ...)")
        return
    header = lines[0].lstrip("\ufeff").split("\t")
    i_brand, i_ingr = header.index("DrugName"), header.index("ActiveIngredient")
    rows: list[tuple[str, list[str]]] = []
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) <= max(i_brand, i_ingr) or not cells[i_ingr].strip():
            yield RecordError(source, f"line {n}", "row has no DrugName/ActiveIngredient column")
            continue
        rows.append((_norm(cells[i_brand]), _components(cells[i_ingr])))

    # Bases are added only where unambiguous: not themselves an ingredient of some product.
    ingredients = {c.lower() for _, comps in rows for c in comps}
    unique = _Unique()
    for brand, comps in rows:
        for comp in comps:
            generic = comp.lower()
            yield from unique(comp, generic, "generic", "drugsfda")
            base = salt_free_base(comp)
            if base and base.lower() not in ingredients:
                yield from unique(base, generic, "synonym", "drugsfda")
        # A product sold under its ingredient name is a generic product, not a brand.
        own_names = {c.lower() for c in comps} | {(salt_free_base(c) or "").lower() for c in comps}
        if brand and brand.lower() not in ingredients and brand.lower() not in own_names:
            for comp in comps:
                yield from unique(brand, comp.lower(), "brand", "drugsfda")


# ---------------------------------------------------------------- DrugBank


def read_drugbank(path: Path) -> Iterator[DrugName | RecordError]:
    """Yield DrugName entries (common name, synonyms -> common name) from drugbank_vocabulary.csv,
    and a RecordError for each row without a common name."""
    source = str(path)
    try:
        text = _decode(Path(path).read_bytes())
    except OSError as exc:
        yield RecordError(source, None, f"cannot read file: {exc}")
        return
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if not header or "Common name" not in header or "Synonyms" not in header:
        yield RecordError(source, "line 1", "not a DrugBank vocabulary header (DrugBank ID, ..., Common name, ...)")
        return
    i_id, i_name, i_syn = header.index("DrugBank ID"), header.index("Common name"), header.index("Synonyms")
    unique = _Unique()
    for row in reader:
        n = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(i_name, i_syn) or not row[i_name].strip():
            rid = row[i_id] if len(row) > i_id else ""
            yield RecordError(source, f"line {n}" + (f" ({rid})" if rid else ""), "row has no common name")
            continue
        name = _norm(row[i_name])
        generic = name.lower()
        yield from unique(name, generic, "generic", "drugbank")
        for syn in row[i_syn].split(" | "):
            syn = _norm(syn)
            if syn and syn.lower() != generic:
                yield from unique(syn, generic, "synonym", "drugbank")


# ---------------------------------------------------------------- contract


def _first_line(path: Path) -> str:
    with open(path, "rb") as fh:
        return fh.read(4096).split(b"\n", 1)[0].decode("latin-1")


def sniff_format(path: Path) -> str | None:
    """Return "drugsfda_products" or "drugbank_vocabulary" from the file's header line, else None."""
    path = Path(path)
    if path.suffix.lower() not in (".txt", ".csv", ".tsv"):
        return None
    try:
        head = _first_line(path)
    except OSError:
        return None
    if _DRUGSFDA_HEADER.match(head):
        return "drugsfda_products"
    if _DRUGBANK_HEADER.match(head):
        return "drugbank_vocabulary"
    return None


def sniff(path: Path) -> str | bool:
    """Return the format name ("drugsfda_products" / "drugbank_vocabulary") if `path` is one of
    these dictionaries, else False (the detector takes a returned name as the file's format)."""
    return sniff_format(path) or False


def read(path: Path) -> Iterator[DrugName | RecordError]:
    """Yield the DrugName entries of a Drugs@FDA Products.txt or DrugBank vocabulary CSV."""
    fmt = sniff_format(path)
    if fmt == "drugbank_vocabulary":
        yield from read_drugbank(path)
    elif fmt == "drugsfda_products":
        yield from read_drugsfda(path)
    else:
        yield RecordError(str(path), "line 1", "header is neither Drugs@FDA Products.txt nor DrugBank vocabulary")
