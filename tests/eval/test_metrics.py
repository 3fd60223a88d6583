"""The metric code, pinned on a tiny qrels/run pair checked by hand.

Ids are synthetic strings: this is metric arithmetic, not medical content.

qrels: q1 {d1: 1, d3: 2}   q2 {d2: 1}   q3 {d9: 1}   q4 {d5: 0} (no relevant document: not averaged)
run:   q1 [d3, d2, d1]     q2 [x1..x10, d2] (d2 at rank 11)   q3 [] (no result)   q4 [d5]

trec_eval's nDCG uses the relevance value as the gain and log2(rank + 1) as the discount:
  q1  DCG@10 = 2/log2(2) + 0/log2(3) + 1/log2(4) = 2 + 0.5 = 2.5
      IDCG@10 = 2/log2(2) + 1/log2(3) = 2 + 0.6309298 = 2.6309298
      nDCG@10 = 2.5 / 2.6309298 = 0.9502344;  R@10 = 2/2 = 1;  R@100 = 1;  MRR@10 = 1/1 = 1
  q2  d2 is 11th: nDCG@10 = 0;  R@10 = 0;  R@100 = 1/1 = 1;  MRR@10 = 0 (the rank-11 hit is cut)
  q3  nothing retrieved: 0 everywhere
means over the 3 judged queries:
  nDCG@10 = 0.9502344 / 3 = 0.3167448;  R@10 = 1/3;  R@100 = 2/3;  MRR@10 = 1/3
"""

import pytest

from medcite.eval.metrics import evaluate, judged_queries, per_query, read_trec_run, to_trec_run, write_trec_run

QRELS = {"q1": {"d1": 1, "d3": 2}, "q2": {"d2": 1}, "q3": {"d9": 1}, "q4": {"d5": 0}}
RUN = {"q1": ["d3", "d2", "d1"], "q2": [f"x{i}" for i in range(1, 11)] + ["d2"], "q3": [], "q4": ["d5"]}


def test_judged_queries_leave_out_queries_without_a_relevant_document():
    assert judged_queries(QRELS) == ["q1", "q2", "q3"]


def test_per_query_values_match_the_hand_computation():
    rows = per_query(QRELS, RUN)
    assert rows["q1"] == pytest.approx({"ndcg@10": 0.9502344, "recall@10": 1.0, "recall@100": 1.0, "mrr@10": 1.0}, abs=1e-6)
    assert rows["q2"] == pytest.approx({"ndcg@10": 0.0, "recall@10": 0.0, "recall@100": 1.0, "mrr@10": 0.0}, abs=1e-9)
    assert rows["q3"] == {"ndcg@10": 0.0, "recall@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    assert "q4" not in rows


def test_means_match_the_hand_computation():
    means = evaluate(QRELS, RUN)
    assert means["queries"] == 3
    assert means["ndcg@10"] == pytest.approx(0.3167448, abs=1e-6)
    assert means["recall@10"] == pytest.approx(1 / 3)
    assert means["recall@100"] == pytest.approx(2 / 3)
    assert means["mrr@10"] == pytest.approx(1 / 3)


def test_the_evaluated_order_is_the_run_order_not_the_id_order():
    # Reversed, q1 puts d1 (gain 1) first and d3 (gain 2) third:
    # DCG = 1/1 + 0 + 2/log2(4) = 2, nDCG = 2 / 2.6309298 = 0.7601875; MRR still 1.
    rows = per_query(QRELS, {"q1": ["d1", "d2", "d3"]})
    assert rows["q1"]["ndcg@10"] == pytest.approx(0.7601875, abs=1e-6)
    assert to_trec_run({"q1": ["d1", "d2", "d3", "d2"]}) == {"q1": {"d1": 3.0, "d2": 2.0, "d3": 1.0}}


def test_trec_run_file_round_trip(tmp_path):
    path = tmp_path / "run.trec"
    assert write_trec_run(path, RUN, tag="t", depth=5) == 3 + 5 + 1
    lines = path.read_text().splitlines()
    assert lines[0] == "q1 Q0 d3 1 3 t"
    assert lines[3] == "q2 Q0 x1 1 5 t"
    assert read_trec_run(path) == {"q1": ["d3", "d2", "d1"], "q2": ["x1", "x2", "x3", "x4", "x5"], "q4": ["d5"]}
