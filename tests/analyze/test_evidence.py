"""Evidence levels from what the sources state: PubMed publication types, MeSH, PDQ tags."""

from medcite.analyze.evidence import evidence_level, pdq_level
from medcite.ingest.pubmed_xml import read as read_pubmed
from medcite.ingest.pubmedqa import read as read_pubmedqa


def _docs(records):
    return {d.doc_id: d for d in records if hasattr(d, "meta")}


def test_publication_types(shared_data):
    docs = {}
    for f in sorted((shared_data / "pubmed_xml_samples").glob("*.xml")):
        docs.update(_docs(read_pubmed(f)))
    rct = evidence_level(docs["pmid:29768149"].meta, docs["pmid:29768149"].title)
    assert (rct.rank, rct.basis, rct.tag) == (2, "publication_type", "Randomized Controlled Trial")
    obs = evidence_level(docs["pmid:27797938"].meta)
    assert (obs.rank, obs.tag) == (3, "Observational Study")
    review = evidence_level(docs["pmid:12091962"].meta)
    assert (review.rank, review.label) == (5, "review / other")


def test_mesh_study_design(shared_data):
    docs = _docs(read_pubmedqa(shared_data / "pubmedqa" / "ori_pqal.json"))
    lvl = evidence_level(docs["pmid:11035130"].meta)
    assert (lvl.rank, lvl.basis, lvl.tag) == (2, "mesh", "Double-Blind Method")
    lvl = evidence_level(docs["pmid:26037986"].meta)
    assert (lvl.rank, lvl.basis, lvl.tag) == (3, "mesh", "Cohort Studies")


def test_pdq_level_tags():
    assert pdq_level("restricted to case series [Level of evidence C2], and").rank == 4
    assert pdq_level("(P < .001).[Level of evidence A1]").label == "randomized controlled trial"
    assert pdq_level("no tag here") is None
