"""Fact extraction is linear in the text (issue 9, item 1): no pattern backtracks exponentially, no
step rescans the text for every mention. Inputs are real label text from ../shared/data.

The two input shapes that were not linear run in a subprocess with a generous time bound, so that
a regression fails the test instead of hanging the suite.
"""

import gzip
import json
import re
import subprocess
import sys

import pytest

from medcite.analyze import facts

LABELS = "fda_labels_openfda_pharmgkb/openfda_labels.jsonl.gz"
NSCLC = "types-lung-hp-non-small-cell-lung-treatment-pdq.md"


@pytest.fixture(scope="module")
def label_text(shared_data) -> str:
    """The Indications & Usage texts of the real labels, one after another."""
    with gzip.open(shared_data / LABELS, "rt", encoding="utf-8") as f:
        return " ".join(" ".join(r["indications_and_usage"][0].split()) for r in map(json.loads, f) if r.get("indications_and_usage"))


def _extract_in_subprocess(text: str, index, seconds: float = 60.0) -> dict:
    """Return len(drugs), len(conditions) of extract_facts(text) run in a child process."""
    code = (
        "import json, sys\n"
        "from medcite.index.store import open_store\n"
        "from medcite.analyze.facts import case_resources, extract_facts\n"
        "store = open_store(sys.argv[1], readonly=True)\n"
        "f = extract_facts(sys.stdin.read(), *case_resources(store))\n"
        "print(json.dumps({'drugs': len(f.drugs), 'conditions': len(f.conditions)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(index)], input=text, capture_output=True, text=True,
                         timeout=seconds, check=True)
    return json.loads(out.stdout)


def test_a_long_text_without_punctuation_is_read_in_linear_time(shared_data, corpus_index):
    # 80,000 characters of a real PDQ summary as one sentence: every qualifier (stage, metastatic)
    # and metastatic site looked at the whole sentence before (147 s here); now each looks a few
    # words around it (1 s).
    summary = (shared_data / "nci_pdq_cancer_summaries" / "pdq_hp_treatment" / NSCLC).read_text(encoding="utf-8")
    text = re.sub(r"[.;:!?()\[\],#*|\n-]", " ", summary)[:80_000]
    counts = _extract_in_subprocess(text, corpus_index)
    assert counts["conditions"] > 100


def test_a_negated_list_with_wide_spaces_does_not_backtrack_exponentially(label_text, corpus_index):
    # "no X,   Y,   Z, ..." with no "or"/"and" at the end: the list-tail pattern split the spaces
    # between its two parts in every way (2 s at 10 items, hours at 25).
    words = re.findall(r"\b[a-z]{5,12}\b", label_text)[:40]
    text = "The patient has no " + ",   ".join(words) + ", since."
    assert _extract_in_subprocess(text, corpus_index)["drugs"] >= 0
    m = facts._LIST_TAIL.match("no fever,  chills,   or cough", len("no fever,"))
    assert m is not None and m.group(0) == "  chills,   or cough"  # a list that goes on still does


def test_linear_helpers_agree_with_the_plain_definitions(label_text):
    text = label_text[:20_000]
    sentences = facts._sentences(text)
    # _containing by bisection == the first span that holds the position
    for pos in range(0, len(text), 37):
        plain = next(((s, e) for s, e in sentences if s <= pos < e), sentences[-1])
        assert facts._containing(sentences, pos) == plain
    # _at_most_words stops counting early but answers as the full count would
    for start in range(0, len(text) - 200, 97):
        end = start + (start % 180)
        n = len(re.findall(r"[A-Za-z0-9]+", text[start:end]))
        for limit in (3, 5, 6):
            assert facts._at_most_words(text, start, end, limit) == (n <= limit)
    # _word_before reads back only as far as the word goes
    for m in facts._SENT_END.finditer(text):
        start = max(0, m.start() - 500)
        plain = re.search(r"(\w[\w.]*)$", text[start : m.start()])
        fast = facts._word_before(text, start, m.start())
        assert (plain and plain.group(1)) == (fast and fast.group(1))
    long_word = "a" + "." * 70 + "b"
    assert facts._word_before(long_word, 0, len(long_word)).group(1) == long_word
