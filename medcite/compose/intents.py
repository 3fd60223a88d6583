"""Intent -> evidence: which label sections answer an intent, what words a passage that answers it
holds, and what the retrieval queries add.

Label sections are LOINC section codes (the openFDA / SPL section map). A drug question is answered
first from these sections of its own labels, in this order, then from guidelines and research.
The answer words are the stems (`label_text.terms`) of general clinical wording for each intent:
a sentence about the subject that holds none of them and none of the question's own focus words
does not answer the question.
"""

from __future__ import annotations

import re
from functools import lru_cache

from medcite.analyze.label_text import (
    ADVERSE,
    BOXED,
    CONTRAINDICATIONS,
    DOSAGE,
    INDICATIONS,
    INTERACTIONS,
    MEDGUIDE,
    PRECAUTIONS,
    PREGNANCY,
    SPECIFIC_POPULATIONS,
    WARNINGS,
    WARNINGS_PRECAUTIONS,
    terms,
)
from medcite.records import Intent

# LOINC section codes (those the label check reads are label_text's)
FORMS, NURSING, PEDIATRIC, GERIATRIC, OVERDOSAGE, DESCRIPTION = "43678-2", "34080-2", "34081-0", "34082-8", "34088-5", "34089-3"
CLIN_PHARM, MECHANISM, PHARMACODYNAMICS, PHARMACOKINETICS = "34090-1", "43679-0", "43681-6", "43682-4"
HOW_SUPPLIED, STORAGE, PATIENT_INFO, LAB_TESTS = "34069-5", "44425-7", "34076-0", "34075-2"
CLINICAL_STUDIES = "34092-7"
# "(The) most common adverse reactions (≥ 20%) are ...": what a label says of its side effects first
MOST_COMMON = re.compile(r"(?:the\s+)?most\s+common\b", re.IGNORECASE)

LABEL_SECTIONS: dict[Intent, tuple[str, ...]] = {
    Intent.INFORMATION: (DESCRIPTION, INDICATIONS, BOXED, ADVERSE, MECHANISM, CLIN_PHARM),
    Intent.MECHANISM: (MECHANISM, PHARMACODYNAMICS, CLIN_PHARM, PHARMACOKINETICS),
    Intent.INDICATION: (INDICATIONS,),
    Intent.DOSING: (DOSAGE, FORMS, OVERDOSAGE),
    Intent.ADMINISTRATION: (DOSAGE, PATIENT_INFO, MEDGUIDE),
    Intent.PRODUCT: (HOW_SUPPLIED, STORAGE, DESCRIPTION, FORMS),
    Intent.ADVERSE_EFFECTS: (ADVERSE, BOXED, WARNINGS_PRECAUTIONS, WARNINGS),
    Intent.INTERACTIONS: (INTERACTIONS, CONTRAINDICATIONS, WARNINGS_PRECAUTIONS),
    Intent.CONTRAINDICATIONS: (CONTRAINDICATIONS, BOXED, SPECIFIC_POPULATIONS, PREGNANCY, NURSING, PEDIATRIC, GERIATRIC,
                               WARNINGS_PRECAUTIONS),
    Intent.MONITORING: (WARNINGS_PRECAUTIONS, LAB_TESTS, WARNINGS, PRECAUTIONS),
    Intent.COMPARISON: (INDICATIONS, DESCRIPTION, MECHANISM),
    Intent.DIAGNOSIS: (INDICATIONS,),
    Intent.MANAGEMENT: (INDICATIONS, DOSAGE),
    Intent.PROGNOSIS: (CLINICAL_STUDIES,),
    Intent.CASE_REGIMEN: (DOSAGE, WARNINGS_PRECAUTIONS, ADVERSE),
}

# General clinical wording of each intent (what a passage answering it says).
_ANSWER_WORDS: dict[Intent, str] = {
    Intent.INFORMATION: "is a class indicated used treat drug medication agent inhibitor antagonist agonist",
    Intent.MECHANISM: "mechanism action acts inhibits blocks binds receptor reduces increases onset peak half-life "
                      "elimination absorbed metabolized works effect",
    Intent.INDICATION: "indicated indication treatment treat used approved therapy management prevention",
    Intent.DOSING: "dose dosage mg recommended daily maximum once twice times every hours tablet",
    Intent.ADMINISTRATION: "take taken administer administered food meal swallow inject apply missed discontinue "
                           "stop taper time daily",
    Intent.PRODUCT: "supplied store storage temperature contains ingredient inactive tablet capsule color imprint "
                    "bottle package expiration",
    Intent.ADVERSE_EFFECTS: "adverse reactions side effects common incidence cause risk toxicity reported",
    Intent.INTERACTIONS: "interaction concomitant coadministration combination increase decrease exposure levels "
                         "inhibitor inducer avoid",
    Intent.CONTRAINDICATIONS: "contraindicated contraindication pregnancy pregnant lactation breastfeeding pediatric "
                              "children renal hepatic impairment elderly geriatric avoid hypersensitivity not recommended",
    Intent.MONITORING: "monitor monitoring measure assess follow-up test testing levels periodic baseline",
    Intent.COMPARISON: "compared versus difference similar than superior noninferior equivalent",
    Intent.DIAGNOSIS: "diagnosis diagnosed symptoms signs test testing presents caused cause evaluation examination",
    Intent.MANAGEMENT: "treatment treated therapy recommended manage management first-line option prevent relief",
    Intent.PROGNOSIS: "prognosis resolve resolves recovery survival course duration self-limited contagious "
                      "transmitted spread recurrence heal outcome",
    Intent.CASE_REGIMEN: "recommended dose dosing every daily treatment therapy indicated",
}

_QUERY_WORDS: dict[Intent, str] = {
    Intent.INFORMATION: "is a drug used",
    Intent.MECHANISM: "mechanism of action",
    Intent.INDICATION: "indicated for treatment",
    Intent.DOSING: "recommended dose dosage",
    Intent.ADMINISTRATION: "administration take",
    Intent.PRODUCT: "how supplied storage",
    Intent.ADVERSE_EFFECTS: "adverse reactions side effects",
    Intent.INTERACTIONS: "drug interactions concomitant",
    Intent.CONTRAINDICATIONS: "contraindications use in specific populations",
    Intent.MONITORING: "monitoring",
    Intent.COMPARISON: "compared",
    Intent.DIAGNOSIS: "diagnosis symptoms",
    Intent.MANAGEMENT: "treatment recommendation",
    Intent.PROGNOSIS: "prognosis course",
    Intent.CASE_REGIMEN: "treatment recommendation",
}


@lru_cache(maxsize=None)
def answer_words(intent: Intent) -> frozenset[str]:
    """Return the stems a sentence answering `intent` may hold."""
    return frozenset(terms(_ANSWER_WORDS[intent]))


def query_words(intent: Intent) -> str:
    """Return the words a retrieval query for `intent` adds to the subject."""
    return _QUERY_WORDS[intent]


def label_sections(intent: Intent) -> tuple[str, ...]:
    """Return the LOINC codes of the label sections that answer `intent`, best first."""
    return LABEL_SECTIONS[intent]
