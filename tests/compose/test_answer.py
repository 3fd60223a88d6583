"""`ask` end to end on the shared corpus index: the seed case, the JSON shape, the CLI, facts given
as data. Retrieval is BM25 here so that the expectations do not depend on embeddings."""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from medcite.compose.answer import ask
from medcite.render.markdown import render_markdown
from medcite.settings import Settings
from medcite.verify.verify import numbers_in

SEED = (Path(__file__).resolve().parents[2] / "examples" / "seed-case.txt").read_text().strip()
BM25 = Settings(retrieval_mode="bm25")
AFINITOR = "2150f73a-179b-4afc-b8ce-67c85cc72f04"


@pytest.fixture(scope="module")
def seed_answer(corpus_index):
    from medcite.index.store import open_store

    store = open_store(corpus_index, readonly=True)
    answer = ask(store, SEED, settings=BM25)
    texts = {h.passage_id: h.text for h in store.get_hits([r.passage_id for r in answer.references])}
    store.close()
    return answer, texts


def test_seed_case_three_tiers(seed_answer):
    answer, _ = seed_answer
    tiers = [s.tier for s in answer.sections]
    assert tiers[:3] == ["guideline", "label", "research"]
    guideline = answer.sections[0]
    cited = {r.doc_id for r in answer.references if any(r.n in s.citations for s in guideline.sentences)}
    # the NET guidance of PDQ and NGC answers the guideline tier
    assert "pdq:types-pancreatic-hp-pnet-treatment-pdq" in cited
    assert "ngc:10883" in cited
    assert all(d.startswith(("pdq:", "ngc:")) for d in cited)
    research = answer.sections[2]
    assert research.sentences and all(answer.references[n - 1].tier == "research" for s in research.sentences for n in s.citations)


def test_seed_case_label_tier_says_no_lanreotide_label(seed_answer):
    answer, _ = seed_answer
    (check,) = answer.label_checks
    assert check.drug == "lanreotide" and check.label is None and check.indication.status == "no_label"
    label = answer.sections[1]
    assert label.note == "No FDA label for lanreotide is held in the index."
    assert label.sentences == []  # nothing borrowed from another drug's label
    assert all(r.tier != "label" for r in answer.references)
    assert answer.bottom_line[0].kind == "note" and "No FDA label for lanreotide" in answer.bottom_line[0].text


def test_every_sentence_cited_and_its_numbers_in_its_sources(seed_answer):
    answer, texts = seed_answer
    refs = {r.n: r for r in answer.references}
    assert [r.n for r in answer.references] == list(range(1, len(answer.references) + 1))
    sentences = [s for sec in answer.sections for s in sec.sentences] + [s for s in answer.bottom_line if s.kind != "note"]
    assert sentences
    for s in sentences:
        assert s.citations and all(n in refs for n in s.citations), s
        source = set().union(*(numbers_in(texts[refs[n].passage_id]) for n in s.citations))
        assert numbers_in(s.text) <= source | numbers_in(SEED), s.text
    assert answer.verification["sentences"] == len([x for sec in answer.sections for x in sec.sentences]) + len(
        [s for s in answer.bottom_line if s.kind != "note"])


def test_json_shape(seed_answer):
    answer, _ = seed_answer
    data = json.loads(json.dumps(answer.to_dict()))
    for key in ("question", "facts", "label_checks", "sections", "references", "verification", "corpus_version", "settings_hash"):
        assert key in data
    check = data["label_checks"][0]
    assert {"drug", "label", "indication", "dose", "alerts"} <= set(check)
    assert {"status", "citations"} <= set(check["indication"])
    assert {"status", "labeled", "prescribed", "citations"} <= set(check["dose"])
    assert {"tier", "sentences"} <= set(data["sections"][0])
    assert {"text", "citations"} <= set(data["sections"][0]["sentences"][0])
    assert {"n", "tier", "source_id", "title", "url"} <= set(data["references"][0])
    assert {"sentences", "dropped", "unsupported"} <= set(data["verification"])
    assert data["settings_hash"] == BM25.hash()
    assert data["facts"]["drugs"][1]["generic"] == "lanreotide"


def test_markdown_has_the_three_tiers(seed_answer):
    md = render_markdown(seed_answer[0])
    for heading in ("## Bottom line", "## From the Guidelines", "## From the FDA Drug Label", "## From the Research", "## References"):
        assert heading in md
    assert "| lanreotide | none held | no label held |" in md


def test_cli_ask_json(corpus_index, tmp_path):
    from medcite.cli import cli

    case = tmp_path / "case.txt"
    case.write_text("A 58-year-old woman with progressive, metastatic pancreatic neuroendocrine tumor (PNET) is started on "
                    "everolimus 5 mg orally once daily.")
    result = CliRunner().invoke(cli, ["ask", "--file", str(case), "--index", str(corpus_index), "--json", "--mode", "bm25"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    (check,) = data["label_checks"]
    assert check["label"]["set_id"] == AFINITOR
    assert (check["indication"]["status"], check["dose"]["status"]) == ("on_label", "mismatch")
    label_refs = {r["source_id"] for r in data["references"] if r["tier"] == "label"}
    assert label_refs == {AFINITOR}
    result = CliRunner().invoke(cli, ["ask", "--file", str(case), "--index", str(corpus_index), "--mode", "bm25"])
    assert result.exit_code == 0 and "| everolimus | Afinitor (everolimus) | on label" in result.output
    assert re.search(r"Prescribed dose 5 mg differs from the label, which states: “The recommended dosage of AFINITOR is 10 mg", result.output)


def test_cli_ask_needs_a_case(corpus_index):
    from medcite.cli import cli

    result = CliRunner().invoke(cli, ["ask", "--index", str(corpus_index)])
    assert result.exit_code == 2 and "no case given" in result.output


def test_facts_given_as_data_override_the_text(corpus_store):
    # A CDS Hooks request knows the order (drug, dose, frequency, route) and the problem list.
    facts = {
        "drugs": [{
            "generic": "everolimus", "role": "proposed",
            "dose": {"value": 10.0, "unit": "mg", "text": "10 mg", "start": 0, "end": 0},
            "frequency": {"times": 1, "per_days": 1.0, "interval_days": 1.0, "text": "once daily", "as_written": "daily",
                          "start": 0, "end": 0},
            "route": {"name": "oral", "text": "oral", "start": 0, "end": 0},
        }],
        "conditions": [{"name": "renal cell carcinoma", "abbreviation": "RCC"}],
    }
    answer = ask(corpus_store, "everolimus order", settings=BM25, facts=facts)
    (check,) = answer.label_checks
    assert check.label["set_id"] == AFINITOR
    assert (check.indication.status, check.dose.status, check.frequency.status, check.route.status) == (
        "on_label", "matches", "matches", "matches")


def test_seed_research_is_about_the_case_condition_not_any_pancreatic_tumor(seed_answer):
    """Research passages must carry the condition's rarest word (neuroendocrine), so an abstract
    about pancreatic adenocarcinoma ("pancreatic ... tumors") is not quoted for a pancreatic NET."""
    answer, texts = seed_answer
    research = [r for r in answer.references if r.tier == "research"]
    assert research
    for ref in research:
        assert "neuroendocrine" in texts[ref.passage_id].lower(), ref.title


def test_bottom_line_research_is_a_finding_not_background(seed_answer):
    """The seed's only research sentence comes from an abstract's BACKGROUND AND AIMS: it stays in the
    research tier but is not offered as a bottom line."""
    from medcite.analyze.effects import effects_in_sentence

    answer, _ = seed_answer
    refs = {r.n: r for r in answer.references}
    research = answer.sections[2]
    assert research.sentences  # the research tier still quotes it
    for s in answer.bottom_line:
        for n in s.citations:
            if refs[n].tier == "research":
                assert refs[n].section.upper().startswith(("RESULT", "CONCLUSION", "FINDING")) or effects_in_sentence(s.text)
    background = [s.text for s in research.sentences
                  if all(not refs[n].section.upper().startswith(("RESULT", "CONCLUSION", "FINDING")) for n in s.citations)
                  and not effects_in_sentence(s.text)]
    assert background and not set(background) & {s.text for s in answer.bottom_line}


# ---------------------------------------------------------------- answers that answer the question


def _frequencies(text):
    from medcite.analyze.regimen import find_frequencies

    return [f.interval_days for f in find_frequencies(text) if f.interval_days]


def test_seed_bottom_line_states_the_guideline_regimen_at_the_case_interval(seed_answer):
    answer, texts = seed_answer
    refs = {r.n: r for r in answer.references}
    assert answer.understanding.intent == "case_regimen" and answer.status == "answered"
    assert answer.bottom_line[0].text.startswith("No FDA label for lanreotide is held in the index")
    extracts = [s for s in answer.bottom_line if s.kind == "extract"]
    # the NGC 10883 list item "Lanreotide dosing for tumour control: 120 mg SC injection every 28 days"
    regimen = [s for s in extracts if "every 28 days" in s.text and refs[s.citations[0]].doc_id == "ngc:10883"]
    assert regimen and "Lanreotide" in regimen[0].text
    # a guideline sentence on lanreotide and NETs supports it
    assert any(refs[s.citations[0]].tier == "guideline" and "lanreotide" in s.text.lower() and "neuroendocrine" in s.text.lower()
               for s in extracts)
    # nothing quoted (bottom line or guideline tier) gives lanreotide another interval than the case's 4 weeks
    quoted = extracts + [s for s in answer.sections[0].sentences]
    for s in quoted:
        if "lanreotide" in s.text.lower():
            assert all(abs(d - 28) <= 1 for d in _frequencies(s.text)), s.text
    # a source that differs is said to differ, and cited
    differs = [s for s in answer.bottom_line if s.template == "interval_differs"]
    assert all(s.citations and "differs from the case's every 4 weeks" in s.text for s in differs)


def test_abstains_and_says_what_the_index_lacks(corpus_store):
    # issue 11: "Can I take Dramamine with my nausea prescription?" got a bottom line on emergency contraception
    answer = ask(corpus_store, "Can I take Dramamine with my nausea prescription?", settings=BM25)
    assert answer.status == "abstained" and answer.to_dict()["status"] == "abstained"
    assert all(s.kind == "note" for s in answer.bottom_line)
    assert "Dramamine" in answer.abstention
    assert not [s for sec in answer.sections for s in sec.sentences]  # no near-miss quoted
    assert answer.label_checks == []


def test_a_drug_question_is_answered_from_its_label_sections(corpus_store, shared_data):
    questions = json.loads((shared_data / "eval_medicationqa" / "medicationqa.json").read_text(encoding="utf-8"))
    answer = ask(corpus_store, questions[1]["Question"], settings=BM25)  # how does valium affect the brain
    assert answer.understanding.intent == "mechanism" and answer.label_checks == []  # no label-check framing
    refs = {r.n: r for r in answer.references}
    first = answer.bottom_line[0]
    assert first.kind == "extract" and refs[first.citations[0]].tier == "label"
    (hit,) = corpus_store.get_hits([refs[first.citations[0]].passage_id])
    assert hit.section_code in ("43679-0", "43681-6", "34090-1", "43682-4")  # mechanism / pharmacology sections


def test_a_question_about_a_test_gets_no_label_check(corpus_store):
    answer = ask(corpus_store, "What is creatinine?", settings=BM25)  # issue 11
    assert answer.label_checks == []
    assert not any("not checked against a label" in s.text for s in answer.bottom_line)
