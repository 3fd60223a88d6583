"""Which FDA label(s) in the index belong to a case drug, and which one the case is about.

A label belongs to a drug when its openFDA generic or substance name is the drug's generic, salt
and hydrate words aside ("imatinib mesylate" is imatinib's label; "amlodipine and atorvastatin"
is nobody's single-drug label). A drug with no label in the index gets none — another drug's label
is never borrowed. When a drug has several labels (everolimus: Afinitor for tumours, Zortress for
transplant rejection) the case's conditions decide: the label whose Indications & Usage matches a
condition best is chosen (see `concordance.match_indication`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from medcite.analyze.indication import ConditionTerms, IndicationMatch, match_indication, verdict_rank
from medcite.analyze.label_text import LabelText, load_label, terms

# Counter-ions, salts and hydrates: chemistry words that name the form of the drug substance,
# not a different drug.
_SALT_WORDS = {
    "hydrochloride", "hcl", "dihydrochloride", "hydrobromide", "sodium", "disodium", "monosodium", "potassium",
    "dipotassium", "calcium", "magnesium", "mesylate", "mesilate", "dimesylate", "maleate", "sulfate", "sulphate",
    "bisulfate", "acetate", "diacetate", "citrate", "tartrate", "bitartrate", "besylate", "besilate", "fumarate",
    "hemifumarate", "succinate", "phosphate", "diphosphate", "bromide", "chloride", "iodide", "dihydrate", "monohydrate",
    "trihydrate", "hemihydrate", "sesquihydrate", "hydrate", "anhydrous", "olamine", "tosylate", "malate", "lactate",
    "gluconate", "nitrate", "hyclate", "erbumine", "meglumine", "tromethamine", "trometamol", "propionate",
    "dipropionate", "valerate", "palmitate", "pamoate", "embonate", "stearate", "carbonate", "oxalate", "benzoate",
    "salicylate", "xinafoate", "furoate", "decanoate", "enanthate", "cypionate", "lysine", "arginine",
}


def base_name(name: str) -> str:
    """Return the key a drug name is matched on: lower-case words without salt / hydrate words, in
    sorted order ("IMATINIB MESYLATE" -> "imatinib"; "lutetium dotatate lu-177" and "LUTETIUM LU 177
    DOTATATE" -> "177 dotatate lu lutetium")."""
    words = re.findall(r"[a-z0-9]+", name.lower())
    kept = [w for w in words if w not in _SALT_WORDS]
    return " ".join(sorted(kept or words))


def label_catalog(store) -> dict[str, list[str]]:
    """Return {base generic name: [label doc ids]} for every label in the index (cached per index
    file and corpus version, so the JSON of every label's meta is read once per process)."""
    return store.cached("label_catalog", lambda: _build_catalog(store))


def _build_catalog(store) -> dict[str, list[str]]:
    catalog: dict[str, list[str]] = {}
    ids = store.documents_by_kind(tier="label")
    for doc_id, info in store.document_meta(ids).items():
        meta = info.get("meta") or {}
        generics = [g for g in meta.get("generic_names") or [] if g]
        substances = [s for s in meta.get("substance_names") or [] if s]
        names = {base_name(g) for g in generics}
        # A single-substance label also answers to its substance name (openFDA "EVEROLIMUS").
        if len(substances) == 1 and len(names) <= 1:
            names.add(base_name(substances[0]))
        for name in names:
            if name:
                catalog.setdefault(name, []).append(doc_id)
    return catalog


def labels_for(store, generic: str) -> list[str]:
    """Return the doc ids of the labels held for `generic` (salt words aside), [] when none."""
    return list(label_catalog(store).get(base_name(generic), []))


def labelled_name(store, mention) -> str:
    """Return the name under which the mentioned drug's labels are held: its generic, else the
    name as written, else another dictionary name of the generic (a source that lists a brand
    as its own generic, "revlimid", still finds lenalidomide's label); the generic when none."""
    synonyms = getattr(store, "synonyms", lambda g: [])
    for name in (mention.generic, mention.text, *synonyms(mention.generic)):
        if name and labels_for(store, name):
            return name
    return mention.generic


def drug_classes(store, generic: str) -> list[str]:
    """Return the pharmacologic classes the held labels of `generic` give it, lower case, without
    the FDA tag ("Benzodiazepine [EPC]" -> "benzodiazepine"); [] when no label is held."""
    ids = labels_for(store, generic)
    classes: dict[str, None] = {}
    for info in store.document_meta(ids).values():
        for value in (info.get("meta") or {}).get("pharm_classes") or []:
            name = re.sub(r"\s*\[[A-Za-z]+\]\s*$", "", value).strip().lower()
            if name:
                classes.setdefault(name, None)
    return list(classes)


@dataclass
class LabelChoice:
    """The label chosen for one drug: doc id, why, and the other labels of the same drug."""

    doc_id: str | None
    reason: str
    candidates: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)


def choose_label(store, generic: str, conditions: list[ConditionTerms], case_words: set[str] | None = None
                 ) -> tuple[LabelChoice, LabelText | None, IndicationMatch | None]:
    """Return the label of `generic` that fits the case best and its indication match: the best
    indication verdict, then (when the case names no matching condition) the label whose
    indications share most words with the case text, then the most recent label. The choice has
    doc_id None when no label of the drug is held."""
    ids = labels_for(store, generic)
    if not ids:
        return LabelChoice(None, f"no FDA label for {generic} is held in the index"), None, None
    scored = []
    for doc_id in ids:
        label = load_label(store, doc_id)
        match = match_indication(label, conditions, case_words)
        overlap = 0
        if case_words and len(ids) > 1:
            overlap = max((len(case_words & set(terms(u.span.text))) for u in match.units if not u.is_limitation), default=0)
        date = str(label.meta.get("effective_time") or "")
        scored.append(((*verdict_rank(match), overlap), date, doc_id, label, match))
    scored.sort(key=lambda t: (t[0], t[1], t[2]), reverse=True)
    _, _, doc_id, label, match = scored[0]
    reason = "only label held" if len(ids) == 1 else f"best indication match among {len(ids)} labels"
    choice = LabelChoice(doc_id, reason, ids, {t[2]: round(t[4].coverage, 3) for t in scored})
    return choice, label, match
