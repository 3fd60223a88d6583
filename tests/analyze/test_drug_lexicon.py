"""DrugLexicon on the real drug dictionary (Drugs@FDA Products.txt + DrugBank open vocabulary)."""

import pytest

from medcite.analyze.drug_lexicon import DrugLexicon, common_english_words
from medcite.ingest import vocab
from medcite.records import DrugName


def dictionary_rows(shared_data) -> list[DrugName]:
    """Return the DrugName rows of the two real vocabulary files, read by the ingest reader."""
    rows: list[DrugName] = []
    for path in (
        shared_data / "drug_vocab_drugsfda" / "Products.txt",
        shared_data / "drug_vocab_drugbank_open" / "drugbank_vocabulary.csv",
    ):
        rows += [r for r in vocab.read(path) if isinstance(r, DrugName)]
    return rows


@pytest.fixture(scope="module")
def rows(shared_data):
    return dictionary_rows(shared_data)


@pytest.fixture(scope="module")
def lexicon(rows):
    return DrugLexicon(rows)


def test_brand_and_generic_resolution(lexicon):
    assert lexicon.lookup("Xeloda") == "capecitabine"
    assert lexicon.lookup("XELODA") == "capecitabine"
    assert lexicon.lookup("Tegretol") == "carbamazepine"
    assert lexicon.lookup("Afinitor") == "everolimus"
    # A name that is itself a generic resolves to itself before any synonym reading.
    assert lexicon.lookup("lanreotide") == "lanreotide"
    assert lexicon.lookup("Somatuline Depot") == "lanreotide acetate"
    assert lexicon.lookup("no such drug") is None


def test_find_whole_words_longest_match(lexicon):
    text = "Given lutetium Lu 177 dotatate and Somatuline  Depot; an insulinoma, norepinephrine; Tegretol-XR."
    found = [(m.text, m.generic, m.kind) for m in lexicon.find(text)]
    assert found == [
        ("lutetium Lu 177 dotatate", "lutetium lu 177 dotatate", "generic"),
        ("Somatuline  Depot", "lanreotide acetate", "brand"),
        # Not "insulin" inside "insulinoma"; not "epinephrine" inside "norepinephrine".
        ("norepinephrine", "norepinephrine", "generic"),
        ("Tegretol-XR", "carbamazepine", "brand"),
    ]
    # Offsets index the input.
    for m in lexicon.find(text):
        assert text[m.start : m.end] == m.text


def test_short_and_common_word_names_are_not_matched(rows, lexicon):
    names = {r.name for r in rows}
    # Real dictionary entries that would fire on ordinary words or abbreviations.
    assert {"TODAY", "MONITOR", "Balance", "SAMe", "blood", "IBU", "BAL"} <= names
    assert lexicon.find("Today we monitor the balance of the same blood sample; IBU and BAL.") == []
    assert "today" in lexicon.dropped and "ibu" in lexicon.dropped


def test_stop_list_is_small_and_frequency_derived(lexicon):
    words = common_english_words()
    assert "today" in words and "monitor" in words
    assert "insulin" not in words and "heparin" not in words and "aspirin" not in words
    common_named = sorted(n for n in lexicon.dropped if len(n) >= 4)
    assert common_named == [
        "alcohol", "alec", "amber", "apple", "balance", "beam", "blood", "bore", "camp", "caps", "capture",
        "carbon", "cherry", "chicken", "chocolate", "copper", "corn", "cotton", "date", "dimension", "duck",
        "gold", "hank", "heather", "honey", "hydrogen", "iron", "mate", "milk", "monitor", "olive", "orange",
        "oxygen", "patrol", "pearl", "platinum", "rice", "same", "sequel", "silver", "tobacco", "today",
        "turkey", "water",
    ]


def test_rows_as_tuples_and_custom_stop_words():
    lex = DrugLexicon([("Xeloda", "capecitabine", "brand"), ("Today", "nonoxynol-9", "brand")], stop_words=[])
    assert [m.generic for m in lex.find("xeloda today")] == ["capecitabine", "nonoxynol-9"]
    assert len(lex) == 2
