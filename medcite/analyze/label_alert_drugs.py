"""Label alerts about what is given and to whom genetically: genotypes and ancestry,
co-medications (by name, by class, within a washout), a partner drug the label requires, and the
route ordered.

A co-medication is found in the label by name, or by a class: the class the label's own text
gives it ("strong CYP3A inducers (e.g., rifampin)", "Strong CYP3A Inducers: ... rifampin", a PLR
interaction table row "Monoamine Oxidase Inhibitors (MAOIs) ... Examples: phenelzine"), with the
abbreviations the label defines for that class; its pharmacologic classes from its own held label;
the kind of product its USAN stem says (-mab: a biologic); or the class the case writes beside it
("the MAOI phenelzine"). A CYP class meets the label's CYP phrases by enzyme, role and strength,
and the alert then names the enzyme.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from medcite.analyze.abbreviations import find_pairs
from medcite.analyze.label_alert_search import STRONG_WARNING, Context, Hit, RawAlert, Test, indication_text, live
from medcite.analyze.label_text import (
    ALONE_LABEL,
    given_alone,
    REGION_WORDS,
    EXCLUDING,
    INTERACTIONS,
    CypPhrase,
    LabelText,
    cyp_phrases,
    sentence_spans,
)
from medcite.analyze.patient import days_since
from medcite.records import AlertKind, CaseFacts, DrugMention, Genotype

# ---------------------------------------------------------------- genotypes and ancestry

_NOT_A_RISK = {"negative", "normal metabolizer", "extensive metabolizer"}
_STATUS_ABBR = {"poor": "PM", "intermediate": "IM", "ultrarapid": "UM", "rapid": "RM", "extensive": "EM", "normal": "NM"}
_ANY_STATUS = re.compile(r"\b(?:poor|intermediate|ultra-?rapid|rapid|extensive|normal)\s+(?:\w+\s+)?metaboli[sz]ers?\b|"
                         r"\b(?-i:(?:PM|IM|UM|EM|NM)s?)\b", re.IGNORECASE)
_LOW_ACTIVITY = r"deficien|low\s+activity|absent\s+activity|no\s+activity|reduced\s+(?:levels\s+of\s+)?activity"
_GENETIC = re.compile(r"\ballele|\bgenotyp|\bmetaboli[sz]er|\bgenetic|\bpolymorphi|\bvariant|\bcarrier|\bhomozyg|\bheterozyg|"
                      r"\bmutation|" + _LOW_ACTIVITY, re.IGNORECASE)
_DIPLOTYPE = re.compile(r"\*\s?(\d+[A-Z]?)\s*/\s*\*\s?(\d+[A-Z]?)")


def genotype_pattern(g: Genotype) -> re.Pattern[str]:
    """Return a pattern finding the gene (and allele, when the case gives an HLA allele) in label
    text: "HLA-B*15:02" finds "HLA-B*1502" and "HLA-B* 15:02"; "CYP2D6" finds "P450 2D6"."""
    gene = re.escape(g.gene).replace(r"\-", "-?")
    if g.allele and g.gene.upper().startswith("HLA"):
        digits = re.sub(r"\D", "", g.allele)
        allele = r":?".join(re.escape(digits[i : i + 2]) for i in range(0, len(digits), 2))
        return re.compile(gene + r"\s*\*?\s*" + allele + r"(?!\d)", re.IGNORECASE)
    if g.gene.upper().startswith("CYP"):
        return re.compile(r"(?:\bCYP\s?|\bP[-\s]?450\s?)" + re.escape(g.gene[3:]) + r"\b", re.IGNORECASE)
    return re.compile(r"\b" + gene + r"\b", re.IGNORECASE)


def _status_pattern(g: Genotype) -> re.Pattern[str] | None:
    """Return the words a label uses for the case's result ("poor metabolizers", "poor CYP2D6
    metabolizers", "PMs"; "deficiency"; "homozygous"), None when any mention of the gene will do."""
    if g.status.endswith("metabolizer"):
        word = g.status.split()[0]
        alts = [word.replace("ultrarapid", "ultra-?rapid") + r"\s+(?:\S+\s+)?metaboli[sz]ers?", f"(?-i:{_STATUS_ABBR[word]}s?\\b)"]
        if word in ("poor", "intermediate"):
            alts.append(_LOW_ACTIVITY)
        return re.compile(r"\b(?:" + "|".join(alts) + r")", re.IGNORECASE)
    if g.status == "deficient":
        return re.compile(_LOW_ACTIVITY, re.IGNORECASE)
    m = _DIPLOTYPE.fullmatch(g.allele or "")
    if g.status in ("homozygous", "heterozygous"):
        zygosity: str | None = g.status
    else:
        zygosity = ("homozygous" if m[1] == m[2] else "heterozygous") if m else None
    return re.compile(r"\b" + zygosity, re.IGNORECASE) if zygosity else None


def _diplotype_fits(g: Genotype, text: str) -> bool | None:
    """True when the sentence names the case's star alleles, False when it names only other
    diplotypes ("*3/*3" is not "*1/*3"), None when it names none."""
    mine = _DIPLOTYPE.fullmatch(g.allele or "")
    written = {frozenset((a, b)) for a, b in _DIPLOTYPE.findall(text)}
    if mine and written:
        return frozenset((mine[1], mine[2])) in written
    stars = {mine[1], mine[2]} if mine else {g.allele.lstrip("*")} if g.allele else set()
    stars.discard("1")  # the reference allele says nothing
    if any(re.search(r"\*\s?" + re.escape(a) + r"(?![\dA-Z])", text) for a in stars):
        return True
    return None


def _genotype_test(g: Genotype, ctx: Context) -> Test:
    gene, status = genotype_pattern(g), _status_pattern(g)
    metabolizer = g.status.endswith("metabolizer")
    gene_codes = {b.code for b in ctx.blocks if any(gene.search(s.text) for s in b.sentences)}

    def test(text: str, kind: AlertKind) -> Hit | None:
        m = gene.search(text)
        own = status.search(text) if status else None
        if m is None:
            # "In PMs, the maximum dose is ...": the gene is named elsewhere in the section
            named = own and metabolizer and any(b.code in gene_codes and any(s.text == text for s in b.sentences) for b in ctx.blocks)
            return Hit(1, own.start(), own.end()) if named else None
        fits = _diplotype_fits(g, text) if not g.gene.startswith("HLA") else None
        if fits is False or (own is None and status is not None and metabolizer and _ANY_STATUS.search(text)):
            return None  # the sentence is about other genotypes
        if fits or own or g.gene.startswith("HLA"):
            return Hit(3, m.start(), m.end())
        return Hit(2, m.start(), m.end()) if _GENETIC.search(text) else None

    return test


def _genotype_trigger(g: Genotype) -> str:
    """The genotype as the case writes it ("HLA-B*1502"), with its normalised status."""
    if not g.text:
        return f"{g.gene}{g.allele or ''} {g.status}"
    if g.status.split()[0] in g.text.lower().replace("-", ""):
        return g.text  # "CYP2C19 poor metabolizer" already says its status
    return f"{g.text} {g.status}"


def genotype_alerts(ctx: Context) -> list[RawAlert]:
    """Return the alerts the case's genotypes trigger (not a negative result, a normal metabolizer
    or the reference diplotype *1/*1)."""
    out: list[RawAlert] = []
    for g in ctx.facts.patient.genotypes:
        if g.negated or g.status in _NOT_A_RISK or re.fullmatch(r"\*1/\*1", g.allele or ""):
            continue
        out += ctx.find(_genotype_trigger(g), _genotype_test(g, ctx))
    return out


_OTHER_FACT = re.compile(r"\bhepatic|\brenal\b|\bChild-Pugh|\bCrCl|\bCLcr|\binhibitors?\b|\binducers?\b", re.IGNORECASE)
_POPULATION = re.compile(r"\bancestry|\bdescent|\borigin\b|\bheritage|\bpopulations?\b|\bpatients\b|\bethnic", re.IGNORECASE)


def ancestry_alerts(ctx: Context) -> list[RawAlert]:
    """Return the alert of a sentence about the case's ancestry ("patients of East-/Southeast-Asian
    ancestry"); a section that names a gene the case was tested for is left to the genotype."""
    out: list[RawAlert] = []
    tested = [genotype_pattern(g) for g in ctx.facts.patient.genotypes]
    skip_texts = {s.text for b in ctx.blocks if any(p.search(x.text) for p in tested for x in b.sentences) for s in b.sentences}
    for f in live(ctx.facts.patient.findings, "ancestry"):
        specific = re.compile(REGION_WORDS.get(f.value, REGION_WORDS["Asian"]), re.IGNORECASE)
        broad = re.compile(REGION_WORDS["Asian"] if "Asian" in f.value else REGION_WORDS[f.value], re.IGNORECASE)

        def test(text: str, kind: AlertKind, specific=specific, broad=broad) -> Hit | None:
            m = specific.search(text) or broad.search(text)
            if m is None or not _POPULATION.search(text) or text in skip_texts:
                return None
            # "... Asian ancestry with ITP and hepatic impairment": a sentence that adds a fact is less exact
            return Hit((2 if specific.search(text) else 1) - (0.5 if _OTHER_FACT.search(text) else 0), m.start(), m.end())

        out += ctx.find(re.sub(r"^(?:of|is)\s+", "", f.text), test, comed=False)
    return out


# ---------------------------------------------------------------- co-medications

# USAN stems that say what kind of product a drug is, so that "biologic immunomodulators" in a
# label finds a monoclonal antibody the patient takes.
_STEM_CLASSES = (("mab", ("biologic", "monoclonal antibody")), ("cept", ("biologic",)))
_EXAMPLE_INTRO = re.compile(r"\(\s*(?:e\.\s?g\.|such\s+as|including|for\s+example)[,:]?|\bsuch\s+as\b|,\s*(?:e\.\s?g\.|including)[,:]?",
                            re.IGNORECASE)
_LIST_BETWEEN = re.compile(r"^[\w\s,/'’\-.]*$")  # the examples before the drug: names, commas, "or", "and"
# A PLR interaction table row: the class name, then "Clinical Impact: ... Intervention: ... Examples: ...".
_PLR_CLASS = re.compile(r"((?:[A-Z][\w\-/]*|\([^)]{1,20}\))(?:\s+(?:and|or|of|with|[A-Z][\w\-/]*|\([^)]{1,20}\))){0,7})\s*:?\s*$")
_NOT_CLASS = {"other", "the", "a", "an", "with", "of", "and", "or", "to", "in", "for", "use", "concomitant", "drugs", "drug",
              "medications", "agents", "products", "certain", "all", "any", "some", "known", "including", "e.g.", "as"}
_WASHOUT = re.compile(r"\bwithin\s+(?P<n>\d+)\s*(?P<u>days?|weeks?)\s+(?:of|after|following)\b|"
                      r"\b(?:at\s+least\s+)?(?P<n2>\d+)\s*(?P<u2>days?|weeks?)\s+(?:should|must)\s+(?:elapse|be\s+allowed)|"
                      r"\bat\s+least\s+(?P<n3>\d+)\s*(?P<u3>days?|weeks?)\s+(?:after|following|between)", re.IGNORECASE)
_CASE_CLASS_BEFORE = re.compile(r"\b(?:an?|the|on|his|her)\s+(?P<c>[A-Z][A-Z0-9-]{1,6}s?)\s+$")
_CASE_CLASS_AFTER = re.compile(r"^\s*\((?:an?\s+)?(?P<c>[^)]{3,40})\)")
# The drug named as the regimen's partner, a requirement it meets, or a past therapy: not an interaction.
_PARTNER = re.compile(r"(?:\bcombination\s+with|\bplus|\bwithout\s+(?:an?\s+)?|\b(?:who\s+have\s+)?received|\bprior|\bprevious(?:ly)?|"
                      r"\bprogress\w*\s+(?:on|after)|\bfailed|\bafter\s+failure\s+of)\b[^.;]{0,60}$", re.IGNORECASE)
_DOSE_ABOVE = re.compile(r"^[^.;]{0,40}?(?:above|greater\s+than|more\s+than|exceeding|over|>)\s*(\d+(?:\.\d+)?)\s*mg\b", re.IGNORECASE)
RECENT_DAYS = 90  # a drug stopped longer ago than any washout a label names is history


def _name_pattern(names: list[str]) -> re.Pattern[str] | None:
    names = sorted({n.lower() for n in names if n and len(n) >= 4}, key=len, reverse=True)
    if not names:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(n) for n in names) + r")(?![\w-])", re.IGNORECASE)


def _forms_pattern(forms: list[str]) -> re.Pattern[str] | None:
    """Return a pattern for class names, singular or plural ("MAOI" finds "MAOIs", "benzodiazepine"
    finds "benzodiazepines"); an acronym keeps its case."""
    alts = []
    for f in sorted({f.strip() for f in forms if len(f.strip()) >= 3}, key=len, reverse=True):
        words = [re.escape(w) for w in f.split()]
        words[-1] = words[-1] + "(?:s|es)?" if not f.endswith("y") else re.escape(f.split()[-1][:-1]) + "(?:y|ies)"
        body = r"[\s-]+".join(words)
        alts.append(f"(?-i:{body})" if re.fullmatch(r"[A-Z]{2,}s?", f) else body)
    return re.compile(r"(?<![\w-])(?:" + "|".join(alts) + r")(?![\w-])", re.IGNORECASE) if alts else None


def _example_class(text: str, at: int) -> str | None:
    """Return the class a drug named at `at` is an example of ("strong CYP3A inducers (e.g.,
    rifampin)", "macrolide antibiotics (e.g., erythromycin, clarithromycin)"), or None."""
    intro = next((m for m in _EXAMPLE_INTRO.finditer(text, max(0, at - 160), at) if _LIST_BETWEEN.match(text[m.end() : at])), None)
    if intro is None:
        return None
    words = text[max(0, intro.start() - 80) : intro.start()].replace("(", " ").split()[-6:]
    kept: list[str] = []
    for w in reversed(words):
        w = w.strip(",;:")
        if not w or w.lower() in _NOT_CLASS or not re.fullmatch(r"[\w\-/]+", w):
            break
        kept.insert(0, w)
    return " ".join(kept) or None


def _nearest_cyp(text: str, start: int, end: int) -> CypPhrase | None:
    """Return the CYP class a sentence gives the drug written at text[start:end]: the class it is
    an example of, else the nearest class before it ("Strong CYP3A Inducers: ... rifampin") or
    right after it ("itraconazole (strong CYP3A inhibitor)"); "Paroxetine (strong)" lends its
    strength to the class before it."""
    row = next((cls for cls, s, e in _plr_rows(text) if s <= start < e), None)  # "Inhibitors of CYP2D6 ... Examples: ..."
    example = row or _example_class(text, start)
    phrases = cyp_phrases(example) if example else []
    role = re.match(r"[^)]*\)\s*(?:or|and)\s+[^()]{0,40}?\b(inhibitors?|inducers?|substrates?)\b", text[end:])
    if example and not phrases and role:
        # "Strong CYP2D6 (e.g., quinidine, fluoxetine) or CYP3A4 inhibitors": the role comes after the examples
        phrases = cyp_phrases(f"{example} {role[1]}")
    if phrases:
        return phrases[-1]
    best: tuple[int, CypPhrase] | None = None
    for p in cyp_phrases(text):
        before = p.end <= start
        if not before and not re.fullmatch(r"\s*[(,]\s*(?:an?\s+|the\s+)?", text[end : p.start]):
            continue  # after the drug only as its apposition: "itraconazole (strong CYP3A inhibitor)"
        gap = start - p.end if before else p.start - end
        if 0 <= gap <= 150 and (best is None or gap < best[0]):
            best = (gap, p)
    if best is None:
        return None
    own = re.match(r"\s*\(\s*(strong|moderate|weak|potent)\s*\)", text[end:])
    if own:
        return CypPhrase(best[1].enzymes, best[1].role, frozenset({own[1].lower().replace("potent", "strong")}), best[1].text, 0, 0)
    return best[1]


def _class_name(written: str) -> str:
    """Return a class as the trigger names it: an acronym as written ("MAOIs"), else in lower case."""
    return written if re.fullmatch(r"[A-Z][A-Z0-9-]{1,7}s?", written) else written.lower()


def _cyp_name(p: CypPhrase) -> str:
    strength = " or ".join(sorted(p.strengths))
    return f"{strength} CYP{'/'.join(sorted(p.enzymes))} {p.role}".strip()


class DrugClasses:
    """The classes a co-medication is known by: class names and CYP classes."""

    def __init__(self) -> None:
        self.forms: list[str] = []
        self.cyps: list[CypPhrase] = []

    def add(self, name: str) -> None:
        """Add a class name (a CYP class is kept as such; a name with two CYP classes, "Strong CYP3A4
        Inhibitors and CYP2D6 Inhibitors", does not say which one the drug is in)."""
        phrases = cyp_phrases(name)
        if len(phrases) == 1 and phrases[0] not in self.cyps:
            self.cyps.append(phrases[0])
        elif not phrases and name not in self.forms:
            self.forms.append(name)


def drug_classes_in_label(label: LabelText, names: re.Pattern[str]) -> DrugClasses:
    """Return the classes the label's own text gives a drug: the CYP class it is written with and
    the classes it is an example of (in prose or in a PLR interaction table)."""
    found = DrugClasses()
    for sec in label.sections:
        for m in names.finditer(sec.text):
            # the sentence around the mention (read from a window: sections run to 100,000 characters)
            lo, hi = max(0, m.start() - 400), min(len(sec.text), m.end() + 300)
            s, e = next(((s, e) for s, e in sentence_spans(sec.text, lo, hi) if s <= m.start() < e), (lo, hi))
            sentence, at = sec.text[s:e], m.start() - s
            cyp = _nearest_cyp(sentence, at, at + len(m.group(0)))
            if cyp is not None and cyp not in found.cyps:
                found.cyps.append(cyp)
            example = _example_class(sentence, at)
            if example and _class_like(example):
                found.add(example)
    for sec in label.by_code(INTERACTIONS):
        for cls, start, end in _plr_rows(sec.text):
            examples = _EXAMPLES_WORD.search(sec.text, start, end)
            if examples and names.search(sec.text, examples.end(), end):
                found.add(cls)
    return found


_EXAMPLES_WORD = re.compile(r"\bExamples?\b:?")
_EXAMPLE_ITEMS = re.compile(r"[^.;:)\]\[(]{3,300}")


def _plr_rows(text: str) -> list[tuple[str, int, int]]:
    """Return the rows of the PLR interaction tables in `text`: (class, start, end of the row's body)."""
    anchors = [m for m in re.finditer(r"\bClinical\s+Impact\b", text)]
    rows = []
    for i, m in enumerate(anchors):
        head = _PLR_CLASS.search(text, max(0, m.start() - 160), m.start())
        if head:
            rows.append((head.group(1), m.end(), anchors[i + 1].start() if i + 1 < len(anchors) else len(text)))
    return rows


def _examples_in(text: str):
    """Yield (class, [drug names]) for each class a text illustrates with examples ("strong CYP3A
    inducers (e.g., rifampin, carbamazepine)", a PLR table row's "Examples: phenelzine, ...")."""
    intros = [(m.end(), _example_class(text, m.end())) for m in _EXAMPLE_INTRO.finditer(text)]
    for cls, start, end in _plr_rows(text):
        examples = _EXAMPLES_WORD.search(text, start, end)
        if examples:
            intros.append((examples.end(), cls))
    for at, cls in intros:
        items = _EXAMPLE_ITEMS.match(text, at)
        if cls and items and _class_like(cls):
            names = [" ".join(n.lower().split()) for n in re.split(r",|\bor\b|\band\b|\|", items.group(0))]
            yield cls, [n for n in names if 4 <= len(n) <= 40 and len(n.split()) <= 3]


_VAGUE = {"strong", "moderate", "weak", "potent", "sensitive", "inhibitors", "inducers", "substrates", "drugs", "agents",
          "medications", "products", "other", "certain", "that", "which", "select", "some", "enzymes", "examples"}


def _class_like(name: str) -> bool:
    """True when a phrase names a class of drugs: its last word a plural noun or an acronym
    ("macrolide antibiotics", "MAOIs", "strong CYP3A inducers"), not only vague words ("strong
    inhibitors") or a noun of another kind ("Hemostasis", "QT interval")."""
    inner = re.match(r"^(.*?)\s*\(([^)]+)\)\s*$", name)
    words = (inner[1] if inner else name).split()
    last = words[-1] if words else ""
    plural = last.lower().endswith("s") and not last.lower().endswith(("ss", "sis", "us", "is"))
    return (plural or bool(re.fullmatch(r"[A-Z]{2,}s?", last))) and any(w.lower() not in _VAGUE for w in words)


EXAMPLE_PASSAGES = 100  # label passages read per drug and query to learn the classes labels give it


def class_lookup(store) -> Callable[[str], list[str]]:
    """Return f(generic) -> the classes the index's labels give the drug as an example of
    (phenelzine -> "Monoamine Oxidase Inhibitors (MAOIs)" from the interaction tables that list it),
    for a label that names only the class; pass it to `case_alerts(..., examples=)`. The labels'
    passages that name the drug are found with the lexical index, and each drug is read once per
    index and corpus version."""
    known: dict[str, list[str]] = store.cached("label_class_examples", dict)

    def lookup(generic: str) -> list[str]:
        key = generic.lower()
        if key not in known:
            name = re.compile(rf"(?<![\w-]){re.escape(key)}(?![\w-])", re.IGNORECASE)
            classes: dict[str, None] = {}
            # the passages that name the drug most, and those that name it among examples of a class
            for query in (generic, f"{generic} {generic} e.g. such as examples inhibitors inducers"):
                for hit in store.search(query, k=EXAMPLE_PASSAGES, tier="label"):
                    if name.search(hit.text):
                        classes.update((cls, None) for cls, names in _examples_in(hit.text) if key in names)
            known[key] = list(classes)
        return known[key]

    return lookup


def _with_abbreviations(forms: list[str], text: str) -> list[str]:
    """Return the class names with the short or long forms `text` (the label) defines for them
    ("Monoamine Oxidase Inhibitors (MAOIs)" -> "monoamine oxidase inhibitors", "MAOIs")."""
    out: list[str] = []
    for f in forms:
        inner = re.match(r"^(.*?)\s*\(([^)]+)\)\s*$", f)
        for part in [inner[1], inner[2]] if inner else [f]:
            core = re.escape(part.rstrip("s"))
            out.append(part)
            if re.fullmatch(r"[A-Z][A-Z0-9-]{1,8}s?", part):  # an acronym: its long form is written before it
                for m in re.finditer(r"\(\s*" + core + r"s?\s*\)", text):
                    window = text[max(0, m.start() - 120) : m.end()]
                    out += [p.long for p in find_pairs(window) if p.short.rstrip("s") == part.rstrip("s")]
            else:
                out += [m[1] for m in re.finditer(core + r"s?\s*\(\s*([A-Z][A-Z0-9-]{1,8}s?)\s*\)", text, re.IGNORECASE)]
    return list(dict.fromkeys(out))


def _case_classes(text: str, mentions: list[DrugMention]) -> list[str]:
    """Return the class words the case writes beside a drug ("the MAOI phenelzine", "phenelzine (an MAOI)")."""
    out = []
    for d in mentions:
        before = _CASE_CLASS_BEFORE.search(text[max(0, d.start - 30) : d.start])
        after = _CASE_CLASS_AFTER.match(text[d.end : d.end + 50])
        out += [m["c"] for m in (before, after) if m]
    return out


def _stem_classes(generic: str) -> list[str]:
    first = generic.lower().split()[0] if generic else ""
    return [c for stem, names in _STEM_CLASSES if first.endswith(stem) for c in names]


def _washout_covers(text: str, days: float, own: set[str]) -> bool:
    """True when the sentence names a washout ("within 14 days of stopping an MAOI") at least
    `days` long that follows another drug, not this label's drug."""
    for m in _WASHOUT.finditer(text):
        n = int(m["n"] or m["n2"] or m["n3"])
        unit = (m["u"] or m["u2"] or m["u3"]).lower()
        if any(o in text[m.end() : m.end() + 50].lower() for o in own):
            continue  # "7 days should be allowed after stopping <this drug> before starting an MAOI"
        if days <= n * (7 if unit.startswith("w") else 1):
            return True
    return False


def _not_an_interaction(text: str, start: int, end: int, own: set[str], partner: bool) -> bool:
    """True when the drug named at text[start:end] is the regimen's partner (here, or in the
    label's indications: `partner`), a requirement the case meets ("without a xanthine oxidase
    inhibitor"), a past therapy, or part of a product that holds this label's drug
    ("abacavir/dolutegravir/lamivudine")."""
    warned = EXCLUDING.search(text) or STRONG_WARNING.search(text)
    if not warned and (partner or _PARTNER.search(text[max(0, start - 80) : start])):
        return True
    token = text[text.rfind(" ", 0, start) + 1 : (text.find(" ", end) + 1 or len(text) + 1) - 1].lower()
    return "/" in token and any(o.split()[0] in token for o in own)


def _below_dose_limit(ctx: Context, names: re.Pattern[str] | None, dose_mg: float | None) -> set[AlertKind]:
    """Return the kinds of sections whose dose limit for the drug ("maintenance doses of aspirin
    above 100 mg") the case's dose stays under: there the drug is not a trigger."""
    if names is None or dose_mg is None:
        return set()
    out = set()
    for b in ctx.blocks:
        for s in b.sentences:
            limits = [float(a[1]) for m in names.finditer(s.text) if (a := _DOSE_ABOVE.match(s.text[m.end() :]))]
            if limits and dose_mg <= min(limits):
                out.add(b.kind)
    return out


def _comed_test(by_name: re.Pattern[str] | None, by_form: re.Pattern[str] | None, cyps: list[CypPhrase],
                days: float | None, own: set[str], partner: bool, quiet: set[AlertKind]) -> Test:
    def test(text: str, kind: AlertKind) -> Hit | None:
        if (days is not None and not _washout_covers(text, days, own)) or kind in quiet:
            return None
        for pattern, score in ((by_name, 3.0), (by_form, 2.0)):
            m = pattern.search(text) if pattern else None
            if m and not _not_an_interaction(text, m.start(), m.end(), own, partner):
                cyp = _nearest_cyp(text, m.start(), m.end()) if score == 3.0 else None
                note = _cyp_name(cyp) if cyp else "" if score == 3.0 else _class_name(m.group(0))
                return Hit(score, m.start(), m.end(), note)
        for p in cyp_phrases(text) if cyps else []:
            mine = next((c for c in cyps if p.covers(c)), None)
            if mine is not None and not _not_an_interaction(text, p.start, p.end, own, False):
                strength = p.strengths & mine.strengths
                named = CypPhrase(p.enzymes, p.role, strength or mine.strengths or p.strengths, p.text, 0, 0)
                return Hit(2 if strength else 1.5, p.start, p.end, _cyp_name(named))
        return None

    return test


def co_medications(facts: CaseFacts, drug: DrugMention) -> list[tuple[DrugMention, float | None]]:
    """Return the other drugs of the case with, for a drug stopped recently, how many days ago:
    drugs taken or to be taken with this one (a drug written with a dose counts), and drugs
    stopped within RECENT_DAYS; a drug named in passing or long ago does not."""
    current: dict[str, tuple[DrugMention, float | None]] = {}
    previous: dict[str, tuple[DrugMention, float | None]] = {}
    for d in facts.drugs:
        if d.generic == drug.generic or d.negated:
            continue
        if d.role in ("comedication", "proposed") or (d.role == "unspecified" and (d.dose or d.frequency)):
            current.setdefault(d.generic, (d, None))
        elif d.role == "previous":
            days = days_since(facts.text, d.start, d.end)
            if days is not None and days <= RECENT_DAYS:
                previous.setdefault(d.generic, (d, days))
    return list(current.values()) + [v for g, v in previous.items() if g not in current]


def comedication_alerts(ctx: Context, drug: DrugMention, synonyms, classes=None, examples=None) -> list[RawAlert]:
    """Return the alerts the case's other drugs trigger by being named in the label, by name or by
    class (see the module docstring; `classes(generic)`: the pharmacologic classes of the drug's
    own held label, diazepam -> benzodiazepine, which matches "benzodiazepines"; `examples(generic)`:
    the classes other labels give it as an example of, see `class_lookup`)."""
    out: list[RawAlert] = []
    own = {n.lower() for n in ctx.label.names()} | {drug.generic.lower()}
    own_classes = [c.lower() for c in ctx.label.meta.get("pharm_classes") or []]
    full = "\n".join(s.text for s in ctx.label.sections)
    kinds = set(AlertKind) - {AlertKind.POPULATION}
    indicated = indication_text(ctx.label)
    for d, days in co_medications(ctx.facts, drug):
        by_name = _name_pattern([n for n in [d.generic, d.text, *synonyms(d.generic)] if n.lower() not in own])
        known = drug_classes_in_label(ctx.label, by_name) if by_name else DrugClasses()
        mentions = [m for m in ctx.facts.drugs if m.generic == d.generic]
        given = [*(classes(d.generic) if classes else []), *(examples(d.generic) if examples else [])]
        for c in [*given, *_stem_classes(d.generic), *_case_classes(ctx.facts.text, mentions)]:
            if not any(c.lower() in o for o in own_classes):
                known.add(c)
        forms = _with_abbreviations(known.forms, full) if known.forms else []
        dose_mg = d.dose.value if d.dose and d.dose.unit == "mg" else None
        trigger = d.generic if days is None else f"{d.generic}, stopped {days:g} days ago"
        by_form = _forms_pattern(forms)
        partner = any(p is not None and p.search(indicated) for p in (by_name, by_form))
        quiet = _below_dose_limit(ctx, by_name, dose_mg)
        test = _comed_test(by_name, by_form, known.cyps, days, own, partner, quiet)
        out += ctx.find(trigger, test, kinds, comed=False)
    return out


# ---------------------------------------------------------------- partner drug and route

_WARNINGS = {AlertKind.BOXED_WARNING, AlertKind.CONTRAINDICATION, AlertKind.WARNING}


def monotherapy_alerts(ctx: Context, drug: DrugMention) -> list[RawAlert]:
    """Return the alert of a label that requires a partner drug when the case gives this one alone."""
    m = given_alone(ctx.facts.text, drug)
    if m is None:
        return []

    def test(sentence: str, kind: AlertKind) -> Hit | None:
        hit = ALONE_LABEL.search(sentence)
        return Hit(2, hit.start(), hit.end()) if hit else None

    return ctx.find(m.group(0), test, _WARNINGS, comed=False)


_ROUTE_ONLY = re.compile(r"\bfor\s+(\w+)\s+(?:use|injection|infusion|administration)\s+only|\b(\w+)\s+use\s+only|"
                         r"\bonly\s+by\s+(?:the\s+)?(\w+)\s+route", re.IGNORECASE)
_ROUTE_DANGER = r"(?:contraindicated|fatal|not\s+for|do\s+not|must\s+not|should\s+not|never|inadvertent|accidental|death)"


def route_alerts(ctx: Context, drug: DrugMention) -> list[RawAlert]:
    """Return the alert of a boxed warning / contraindication / warning against the route ordered
    ("contraindicated for intrathecal administration", "for intravenous use only")."""
    if drug.route is None:
        return []
    stem = drug.route.name.split()[0][:7].lower()
    near = re.compile(rf"{_ROUTE_DANGER}\W+(?:\w+\W+){{0,5}}{re.escape(stem)}\w*|{re.escape(stem)}\w*\W+(?:\w+\W+){{0,4}}{_ROUTE_DANGER}",
                      re.IGNORECASE)

    def test(text: str, kind: AlertKind) -> Hit | None:
        only = _ROUTE_ONLY.search(text)
        if only:
            said = next(g for g in only.groups() if g).lower()
            return None if said.startswith(stem) else Hit(2, only.start(), only.end())
        m = near.search(text)
        return Hit(3, m.start(), m.end()) if m else None

    return ctx.find(drug.route.text, test, _WARNINGS)
