"""Drug-name dictionaries: Drugs@FDA Products.txt and the DrugBank open vocabulary."""

from collections import Counter

import pytest

from medcite.ingest import vocab
from medcite.records import DrugName, RecordError


@pytest.fixture(scope="module")
def products(shared_data):
    return shared_data / "drug_vocab_drugsfda" / "Products.txt"


@pytest.fixture(scope="module")
def drugbank(shared_data):
    return shared_data / "drug_vocab_drugbank_open" / "drugbank_vocabulary.csv"


@pytest.fixture(scope="module")
def fda_names(products):
    out = list(vocab.read(products))
    assert not [x for x in out if isinstance(x, RecordError)]
    return out


def named(entries, name):
    return [e for e in entries if e.name.lower() == name.lower()]


def test_drugsfda_counts_and_dedupe(fda_names):
    assert Counter(e.kind for e in fda_names) == {"brand": 9364, "generic": 2378, "synonym": 665}
    keys = [(e.name.lower(), e.generic, e.kind) for e in fda_names]
    assert len(keys) == len(set(keys))
    assert {e.source for e in fda_names} == {"drugsfda"}


def test_drugsfda_brand_and_salt_free_base(fda_names):
    assert named(fda_names, "SOMATULINE DEPOT") == [DrugName("SOMATULINE DEPOT", "lanreotide acetate", "brand", "drugsfda")]
    assert named(fda_names, "LANREOTIDE") == [DrugName("LANREOTIDE", "lanreotide acetate", "synonym", "drugsfda")]
    assert named(fda_names, "SUTENT") == [DrugName("SUTENT", "sunitinib malate", "brand", "drugsfda")]
    assert named(fda_names, "AFINITOR") == [DrugName("AFINITOR", "everolimus", "brand", "drugsfda")]
    # an ingredient that is also sold under its own name is a generic, not a brand
    assert [e.kind for e in named(fda_names, "HEPARIN SODIUM")] == ["generic"]
    # no base is invented from an ion: "SODIUM CHLORIDE" has no synonym "SODIUM"
    assert named(fda_names, "SODIUM") == []
    # a base sold plain ("DOXYCYCLINE") is not also a synonym of its salts
    assert [e.kind for e in named(fda_names, "DOXYCYCLINE")] == ["generic"]
    # a base with several salts and no plain product points at each salt
    assert sorted(e.generic for e in named(fda_names, "METOPROLOL")) == [
        "metoprolol fumarate", "metoprolol succinate", "metoprolol tartrate"]


def test_drugsfda_combination_brand_resolves_to_each_component(fda_names):
    generics = {e.generic for e in named(fda_names, "EPZICOM")}
    assert {"abacavir sulfate", "lamivudine"} <= generics
    assert not any(";" in e.generic for e in fda_names)


def test_salt_free_base():
    assert vocab.salt_free_base("LANREOTIDE ACETATE") == "LANREOTIDE"
    assert vocab.salt_free_base("ATORVASTATIN CALCIUM TRIHYDRATE") == "ATORVASTATIN"
    assert vocab.salt_free_base("EVEROLIMUS") is None
    assert vocab.salt_free_base("CALCIUM ACETATE") is None
    assert vocab.salt_free_base("SODIUM CHLORIDE") is None


def test_drugbank(drugbank):
    out = list(vocab.read(drugbank))
    assert not [x for x in out if isinstance(x, RecordError)]
    assert Counter(e.kind for e in out) == {"synonym": 35675, "generic": 19842}
    assert DrugName("Lanreotida", "lanreotide", "synonym", "drugbank") in out
    assert DrugName("Lanreotide", "lanreotide", "generic", "drugbank") in out
    assert DrugName("Cétuximab", "cetuximab", "synonym", "drugbank") in out


def test_drugbank_latin1_copy(tmp_path, drugbank):
    copy = tmp_path / "drugbank_vocabulary.csv"
    copy.write_bytes("\n".join(drugbank.read_text(encoding="utf-8").splitlines()[:3]).encode("latin-1", "replace"))
    out = list(vocab.read(copy))
    assert DrugName("Cétuximab", "cetuximab", "synonym", "drugbank") in out
    assert Counter(e.kind for e in out)["generic"] == 2


def test_bad_rows_and_headers(tmp_path, products):
    lines = products.read_bytes().split(b"\r\n")
    lines[3] = b"\t".join(lines[3].split(b"\t")[:4])  # row on line 4 lost its name columns
    bad = tmp_path / "Products.txt"
    bad.write_bytes(b"\r\n".join(lines[:50]))
    out = list(vocab.read(bad))
    assert [(e.record, e.message) for e in out if isinstance(e, RecordError)] == [
        ("line 4", "row has no DrugName/ActiveIngredient column")]
    assert any(isinstance(e, DrugName) for e in out)

    headless = tmp_path / "products_no_header.txt"
    headless.write_bytes(b"\r\n".join(lines[1:50]))
    assert not vocab.sniff(headless)
    assert [e.message for e in vocab.read(headless)] == [
        "header is neither Drugs@FDA Products.txt nor DrugBank vocabulary"]


def test_sniff(shared_data, products, drugbank):
    assert vocab.sniff_format(products) == "drugsfda_products"
    assert vocab.sniff_format(drugbank) == "drugbank_vocabulary"
    assert (vocab.sniff(products), vocab.sniff(drugbank)) == ("drugsfda_products", "drugbank_vocabulary")
    for other in ("Applications.txt", "MarketingStatus.txt", "MarketingStatus_Lookup.txt"):
        assert not vocab.sniff(shared_data / "drug_vocab_drugsfda" / other)
    assert not vocab.sniff(shared_data / "fda_spl_xml_samples" / "openfda_schema" / "sections.csv")


def test_semicolon_inside_brackets_is_not_an_ingredient_separator(shared_data):
    """Products.txt has "MENOTROPINS (FSH;LH)": the ingredient menotropins, not "MENOTROPINS (FSH" and "LH)"."""
    from medcite.ingest import vocab as _vocab

    names = list(_vocab.read(shared_data / "drug_vocab_drugsfda" / "Products.txt"))
    generics = {n.generic for n in names if hasattr(n, "generic")}
    assert "menotropins" in generics and "pancrelipase" in generics
    assert not any(g.endswith(("lh)", "t3)")) or g.startswith(("menotropins (", "liotrix (")) for g in generics)
