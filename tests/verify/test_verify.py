"""Verification: a sentence must cite a retrieved passage that holds every number it states."""

from medcite.compose.citations import CitationRegistry
from medcite.records import AnswerSection, Sentence
from medcite.verify.verify import numbers_in, verify_sections

AFINITOR_NET_DOSE = "spl:2150f73a-179b-4afc-b8ce-67c85cc72f04#5"
ZORTRESS_KIDNEY_DOSE = "spl:e082a024-7850-400b-a5c2-2a140612562a#7"


def test_numbers_normalised():
    assert numbers_in("1,250 mg/m 2 on days 1 to 14") == {"1250", "2", "1", "14"}
    assert numbers_in("HR, .47; 95% CI, 0.30") == {"47", "0.47", "95", "0.30", "0.3"}


def test_sentences_are_checked_against_what_they_cite(corpus_store):
    registry = CitationRegistry(corpus_store)
    (afinitor,) = corpus_store.get_hits([AFINITOR_NET_DOSE])
    sentence = next(s for s in afinitor.text.split(". ") if "10 mg orally once daily" in s)
    right = registry.cite([AFINITOR_NET_DOSE])
    wrong = registry.cite([ZORTRESS_KIDNEY_DOSE])
    section = AnswerSection("label", "From the FDA Drug Label", [
        Sentence(sentence, right),              # its own passage: kept
        Sentence(sentence, wrong),              # another passage without "10": dropped
        Sentence(sentence, []),                 # no citation: dropped
        Sentence(sentence, [99]),               # not a reference: dropped
    ])
    result = verify_sections([section], registry.references(), registry.retrieved_texts(), question="")
    assert result["sentences"] == 1 and result["dropped"] == 3
    assert [s.citations for s in section.sentences] == [right]
    reasons = [u["reason"] for u in result["unsupported"]]
    assert reasons[0].startswith("number(s) not in the cited passage: 10")
    assert reasons[1:] == ["no citation", "citation [99] is not in the reference list"]


def test_template_sentences_may_state_the_case_numbers(corpus_store):
    registry = CitationRegistry(corpus_store)
    cites = registry.cite([AFINITOR_NET_DOSE])
    s = Sentence("Prescribed dose 5 mg differs from the label.", cites, kind="template")
    extract = Sentence("Prescribed dose 5 mg differs from the label.", cites)
    section = AnswerSection("label", "x", [s, extract])
    result = verify_sections([section], registry.references(), registry.retrieved_texts(), question="everolimus 5 mg daily")
    assert result["sentences"] == 1 and section.sentences == [s]
