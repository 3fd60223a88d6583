"""Verification, word by word: each kind of forged sentence is dropped, real ones are kept.

Every passage is a real passage of the shared corpus; the forged sentences are the kinds issue 11
shows passing the old number-only check (they are built to be rejected, never shown as answers).
"""

import pytest

from medcite.analyze.resources import case_resources
from medcite.analyze.statements import is_statement
from medcite.compose.citations import CitationRegistry
from medcite.compose.templates import render
from medcite.records import AnswerSection, Citation, Sentence, SentenceKind
from medcite.verify.verify import check_sentence, numbers_in, verify_sections

AFINITOR_NET_DOSE = "spl:2150f73a-179b-4afc-b8ce-67c85cc72f04#5"
ZORTRESS_KIDNEY_DOSE = "spl:e082a024-7850-400b-a5c2-2a140612562a#7"
NGC_INTERVENTIONS = "ngc:11161#4"  # "- Targeted therapy with everolimus or sunitinib for patients with ..."
PDQ_PNET_SYSTEMIC = "pdq:types-pancreatic-hp-pnet-treatment-pdq#21"
NET_DOSE = "The recommended dosage of AFINITOR is 10 mg orally once daily until disease progression or unacceptable toxicity."


@pytest.fixture()
def registry(corpus_store):
    reg = CitationRegistry(corpus_store)
    reg.add_hits(corpus_store.get_hits([AFINITOR_NET_DOSE, ZORTRESS_KIDNEY_DOSE, NGC_INTERVENTIONS, PDQ_PNET_SYSTEMIC]))
    return reg


@pytest.fixture()
def verbs(corpus_store):
    return case_resources(corpus_store).verbs


def _check(registry, sentence, verbs=None, case=""):
    refs = {c.n: c for c in registry.references()}
    return check_sentence(sentence, refs, registry.retrieved_texts(), case, verbs)


def test_numbers_normalised():
    assert numbers_in("1,250 mg/m 2 on days 1 to 14") == {"1250", "2", "1", "14"}
    assert numbers_in("HR, .47; 95% CI, 0.30") == {"47", "0.47", "95", "0.30", "0.3"}


def test_a_span_of_its_passage_is_kept_and_citations_must_resolve(registry):
    right = registry.cite([AFINITOR_NET_DOSE])
    wrong = registry.cite([ZORTRESS_KIDNEY_DOSE])
    section = AnswerSection("label", "From the FDA Drug Label", [
        Sentence(NET_DOSE, right),   # its own passage: kept
        Sentence(NET_DOSE, wrong),   # another passage: not a span of it
        Sentence(NET_DOSE, []),      # no citation
        Sentence(NET_DOSE, [99]),    # not a reference
    ])
    result = verify_sections([section], registry.references(), registry.retrieved_texts(), question="")
    assert result["sentences"] == 1 and result["dropped"] == 3
    assert [s.citations for s in section.sentences] == [right]
    reasons = [u["reason"] for u in result["unsupported"]]
    assert reasons == ["not a span of the cited passage", "no citation", "citation [99] is not in the reference list"]


def test_forged_extracts_are_dropped(registry):
    afinitor = registry.cite([AFINITOR_NET_DOSE])
    pdq = registry.cite([PDQ_PNET_SYSTEMIC])
    # words that are not in the cited passage, even with the passage's own number
    assert _check(registry, Sentence("AFINITOR is contraindicated at 10 mg and must never be given.", afinitor)) == (
        "not a span of the cited passage")
    # a claim citing a passage of another subject
    assert _check(registry, Sentence("Everolimus cures all pancreatic tumors.", pdq)) == "not a span of the cited passage"
    # a real sentence with one word changed
    assert _check(registry, Sentence(NET_DOSE.replace("once", "twice"), afinitor)) == "not a span of the cited passage"


def test_citation_must_be_a_returned_passage(registry, corpus_store):
    # the registry never pulls a passage from the store to cite it
    assert registry.cite(["spl:2150f73a-179b-4afc-b8ce-67c85cc72f04#6"]) == []
    (other,) = corpus_store.get_hits(["spl:2150f73a-179b-4afc-b8ce-67c85cc72f04#6"])
    forged_ref = Citation(n=50, passage_id=other.passage_id, doc_id=other.doc_id, tier="label", source_id="x", title="", section="")
    refs = {c.n: c for c in registry.references()} | {50: forged_ref}
    reason = check_sentence(Sentence(other.text.split(". ")[0] + ".", [50]), refs, registry.retrieved_texts(), "")
    assert reason == f"citation [50] ({other.passage_id}) was not retrieved"
    # what the label check reads is recorded as returned by it
    assert registry.cite_read([other.passage_id]) != []


def test_verbless_fragments_are_dropped(registry, verbs):
    ngc = registry.cite([NGC_INTERVENTIONS])
    fragment = ("Targeted therapy with everolimus or sunitinib for patients with incurable gastroenteropancreatic "
                "neuroendocrine tumours (NETs)")
    assert _check(registry, Sentence(fragment, ngc), verbs) == "not a statement (no verb)"
    pdq = registry.cite([PDQ_PNET_SYSTEMIC])
    lead = ("Chemotherapy using drugs such as the following, either alone or in combination, has been shown to have "
            "antitumor effects, but evidence is weak or conflicting regarding the impact of chemotherapy on overall survival:")
    # a list item is read with the lead-in it completes; alone it is a fragment
    assert _check(registry, Sentence("Streptozocin.", pdq, context=lead), verbs) is None
    assert _check(registry, Sentence("Streptozocin.", pdq), verbs) == "not a statement (no verb)"
    # a context that is not in the passage is a forgery too
    assert _check(registry, Sentence("Streptozocin.", pdq, context="Everolimus is recommended for:"), verbs) == (
        "context not a span of the cited passage")


def test_statements_need_a_verb(verbs):
    assert is_statement(NET_DOSE, verbs)
    assert is_statement("Somatostatin analogues may be effective in reducing the symptoms of functional tumors.", verbs)
    assert is_statement("Lanreotide dosing for tumour control: 120 mg SC injection every 28 days", verbs)
    assert not is_statement("Somatostatin analogues.", verbs)


def test_templates_are_checked_value_by_value(registry):
    afinitor = registry.cite([AFINITOR_NET_DOSE])
    case = "everolimus 10 mg orally once daily"
    real = render("dose", afinitor, prescribed="10 mg", status="matches the label", labeled=NET_DOSE)
    assert _check(registry, real, case=case) is None
    # the prescribed dose must be the case's (or the passage's) numbers
    forged = render("dose", afinitor, prescribed="7 mg", status="matches the label", labeled=NET_DOSE)
    assert _check(registry, forged, case=case) == "prescribed (regimen) not in the cited passages or the case"
    # a quote that is not the label's sentence
    bad_quote = render("dose", afinitor, prescribed="10 mg", status="matches the label",
                       labeled="AFINITOR must never be given at 10 mg.")
    assert _check(registry, bad_quote, case=case) == "labeled (quote) not in the cited passages or the case"
    # a status outside the fixed vocabulary
    bad_status = render("dose", afinitor, prescribed="10 mg", status="is contraindicated, unlike", labeled=NET_DOSE)
    assert _check(registry, bad_status, case=case) == "status (status) not in the cited passages or the case"
    # text that is not its template with its values
    edited = Sentence(real.text + " It must never be given.", afinitor, kind=SentenceKind.TEMPLATE,
                      template=real.template, values=real.values)
    assert _check(registry, edited, case=case) == "text is not its template with its values"
    # a "template" with no template at all
    assert _check(registry, Sentence("AFINITOR is contraindicated at 10 mg.", afinitor, kind=SentenceKind.TEMPLATE),
                  case=case) == "not a known template of its kind"


def test_notes_only_say_evidence_is_absent(registry):
    note = render("no_label", drug="lanreotide")
    assert _check(registry, note, case="Lanreotide was prescribed for use every 4 weeks.") is None
    # a claim dressed as a note
    assert _check(registry, Sentence("Lanreotide is safe at any dose.", kind=SentenceKind.NOTE)) == "not a known template of its kind"
    # a note about a drug the case does not name
    assert _check(registry, note, case="The patient takes metformin.") == "drug (name) not in the cited passages or the case"
    cited = render("no_label", registry.cite([AFINITOR_NET_DOSE]), drug="lanreotide")
    assert _check(registry, cited, case="lanreotide") == "a note cites nothing"


def test_alert_values_are_case_facts_and_shortened_quotes(registry):
    afinitor = registry.cite([AFINITOR_NET_DOSE])
    case = "Her CrCl is 40 mL/min."
    shortened = "…is 10 mg orally once daily until disease progression"
    ok = render("alert", afinitor, kind="Warning", trigger="CrCl 40 mL/min", alert_text=shortened)
    assert _check(registry, ok, case=case) is None
    assert _check(registry, render("alert", afinitor, kind="Warning", trigger="CrCl 20 mL/min", alert_text=shortened),
                  case=case) == "trigger (fact) not in the cited passages or the case"
    assert _check(registry, render("alert", afinitor, kind="Warning", trigger="CrCl 40 mL/min",
                                   alert_text="…is 10 mg orally twice daily"), case=case) == (
        "alert_text (quote) not in the cited passages or the case")
