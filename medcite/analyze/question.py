"""Question understanding: what a question asks (its intent) about what (its subjects).

Subjects come from what the index holds, never from lists written for particular questions:
- drugs: the case facts' drug mentions (the drug dictionary: Drugs@FDA, DrugBank, NCI, labels);
- drug classes: the pharmacologic classes the held labels give their drugs (openFDA
  `pharm_class_epc` / `pharm_class_moa`, e.g. "Proton Pump Inhibitor"), found as written
  ("proton pump inhibitors") or through an abbreviation the corpus defines ("PPI");
- conditions: the case facts' conditions (noun phrases ending in a disease word, corpus
  abbreviations);
- tests and procedures: noun phrases ending in a test or procedure word ("thyroid test",
  "colonoscopy").

The intent is read from the question's wording: cue patterns of general English ("side effects",
"how much", "look like", "at the same time") tried in a fixed order, some only when the question
names a drug ("does X cause ..." asks about adverse effects, "what causes ..." about a diagnosis).
A case that proposes a regimen is `case_regimen`. Intent accuracy is measured on MedicationQA
(`medcite eval qa`).

The label check runs only when the text proposes a regimen (a proposed drug, or a drug written with
a dose, frequency or route) or asks whether a drug is indicated for a condition it names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from medcite.analyze.abbreviations import AbbreviationTable, singular
from medcite.analyze.drug_lexicon import DrugLexicon
from medcite.ingest.vocab import salt_free_base
from medcite.records import CaseFacts, Intent, Subject, SubjectKind, Understanding

I = Intent
_DRUG, _NO_DRUG, _ANY, _TWO = "drug", "no_drug", "any", "two_drugs"
# two named drugs joined by "and" / "with" ask whether they go together
_TWO_DRUGS = re.compile(r"\b(?:and|with|&|\+|on|plus)\b|[&+]", re.IGNORECASE)


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# (intent, cue, when): tried in this order, the first cue found decides. `when` says whether the cue
# counts only for a question naming a drug (or class), only for one naming none, or always.
_CUES: list[tuple[Intent, re.Pattern[str], str]] = [
    (I.COMPARISON, _rx(r"\b(?:differen(?:ce|t)|differ|compar\w*|versus|vs\.?|better\s+than|same\s+(?:thing\s+)?as|"
                       r"the\s+same\b(?!\s+time)|similar\s+to|\bor\s+(?:the\s+)?generic|switch(?:ing)?\s+(?:from|to))"), _ANY),
    (I.ADMINISTRATION, _rx(r"\bwith(?:out)?\s+(?:food|meals?|milk|water)\b|empty\s+stomach|\bbefore\s+(?:a\s+)?(?:meal|bed|food)|"
                           r"\bafter\s+(?:a\s+)?(?:meal|eating)|\bcan\s+i\s+eat\b|\bcrush|\bchew|\bcut(?:ting)?\b|\bsplit"), _DRUG),
    (I.MECHANISM, _rx(r"\bhow\s+(?:does|do|is|will|would)\b[^?]*\b(?:work|affect|act)\b|\bhow\s+it\s+works|\bmechanism|"
                      r"\bwhat\s+(?:does|do)\s+[^?]*\bdo\b|\baction\s+of\b|\beffect\s+of\b(?![^?]*\band\b)|\bhow\s+long\s+(?:before|after|until)\b|"
                      r"\bhow\s+long\s+(?:does|will|is)\s+(?:it|\w+)\s+(?:\w+\s+)?(?:take|stay|last|to\s+work|in)\b|"
                      r"\bhow\s+(?:fast|soon|quickly)\b|\bkick\s+in|\btake[s]?\s+(?:a|e)ffect|\bsee\s+results"), _DRUG),
    (I.INTERACTIONS, _rx(r"\binteract\w*|\binterfer\w*|\btogether\b|same\s+time|\bmix(?:ed|ing)?\b|\bcombin\w*|"
                         r"\balong\s+with\b|\bcompatible\b"), _DRUG),
    (I.PRODUCT, _rx(r"\blook(?:s)?\s+like|\bcolou?r\b|\bshape\b|\bimprint|\bingredients?\b|\bincredien|what\s+is\s+in\b|"
                    r"what'?s\s+in\b|\bcontains?\b|\bmade\s+(?:of|from|by)|\bstor(?:e|ed|ing|age)\b|refrigerat|freez|"
                    r"\bexpir|shelf|dispos(?:e|al)|how\s+supplied|\binactive\b|gluten|\blatex\b"), _ANY),
    (I.CONTRAINDICATIONS, _rx(r"contra-?\s?indicat|\bpregnan|breast-?\s?feed|\bnursing\b|lactat|\bbaby\b|\binfants?\b|"
                              r"\bchild(?:ren)?\b|\bkids?\b|\btoddler|\belderly\b|\bseniors?\b|\bkidneys?\b|\brenal\b|"
                              r"\bliver\b|\bhepatic\b|\ballerg\w*|\bwho\s+should\s+not\b|not\s+(?:be\s+)?allowed|"
                              r"\bif\s+(?:i|you|he|she)\s+(?:have|has)\b|\bwhen\s+(?:i|you)\s+have\b|\bwith\s+(?:a\s+)?history\b|"
                              r"\bdiabetic|\bheart\s+(?:transplant|condition|disease)"), _DRUG),
    (I.INTERACTIONS, _TWO_DRUGS, _TWO),
    (I.INTERACTIONS, _rx(r"\bwhile\s+(?:on|taking|using)\b|\bwhen\s+(?:taking|talking|using|on)\b|\btak(?:e|ing)\b[^?]*\bwith\b|"
                         r"\bwith\b[^?]*\btak(?:e|ing)\b|\beat\w*\b[^?]*\bon\b|\bdrink\w*\b|\balcohol\b"), _DRUG),
    (I.ADVERSE_EFFECTS, _rx(r"side[\s-]*(?:e|a)ffects?|\badverse\b|\breactions?\b|\bcaus\w*|\bmake[sd]?\s+(?:me|you|him|her)|"
                            r"\baddict\w*|\bweight\s+(?:gain|loss)|\bhair\s+loss|\bsafe\b|\bdangerous\b|\brisks?\b|"
                            r"\baffect(?:s|ed)?\b|\baggravat\w*|\bharm\w*|\btoxic\w*|\blong[\s-]term\b|\bwithdrawal\b"), _DRUG),
    (I.DOSING, _rx(r"\bdos(?:e|es|age|ages|ing)\b|\bcomes?\s+in\b|how\s+(?:much|many)|"
                   r"\bmg\b|\bmgs\b|\bmilligrams?\b|\bmcg\b|\bmaximum\b|\bmax\b|overdos\w*|too\s+much|how\s+often|"
                   r"times\s+a\s+day|\bmiss(?:ed)?\b|\bdouble\b|\bstrengths?\b|\bunits?\b|\blength\s+of\b|"
                   r"how\s+long\s+(?:can|should|do|must|will)\s+(?:i|you|u|he|she|one)\s+(?:\w+\s+)?(?:take|use|be\s+on|stay|need)"), _DRUG),
    (I.ADMINISTRATION, _rx(r"\bhow\s+(?:is|are)\s+\w+(?:\s+\w+)?\s+(?:used|taken|given|administ\w*|applied|injected)\b|"
                           r"how\s+(?:(?:do|should|can)\s+(?:i|you|u|we)\s+|to\s+|is\s+it\s+)?(?:take|use|inject|apply|give|"
                           r"administer|put|insert|stop|quit|wean|reduce|lower|taper|come\s+off|get\s+off)|"
                           r"\bwhen\s+(?:to|should|do|is\s+the\s+best)|\bbest\s+time|\btime\s+of\s+day|\bmorning\b|\bnight\b|"
                           r"\bstop(?:ping|ped)?\b|\btaper\w*|\bwean\w*|\bdiscontinu\w*|\bquit\w*|\bdaily\s+injection|"
                           r"\binjection\b|\binject\w*|\binhaler\b|\bpatch\b|\bdrops\b|\badminister\w*|\binfusion"), _DRUG),
    (I.MECHANISM, _rx(r"\bhow\s+(?:does|do|is|will|would)\b.*\bwork|\bworks?\b|\bmechanism|\bhow\s+it\s+works|"
                      r"\bwhat\s+does\s+.*\bdo\b|\baffect\s+(?:the|your|my)\s+(?:brain|body|heart)|\bin\s+(?:your|the|my)\s+system|"
                      r"\bout\s+of\s+(?:your|the|my)\s+system|\bstay\b|\bleave\b|how\s+(?:fast|soon|quickly)|\bkick\s+in|"
                      r"\btake\s+effect|\bmetaboli[sz]\w*|\bhalf[\s-]?life|how\s+long\s+(?:does|will|before|after|until)|"
                      r"\bblock\w*|\bclear\b|\bprotected\b|\beffective\w*|\bstrong\w*|\bpotent\w*"), _DRUG),
    (I.MONITORING, _rx(r"\bmonitor\w*|\bfollow[\s-]?up|\bcheck(?:ed|ing)?\b|\blab(?:oratory)?\s+(?:tests?|work)|"
                       r"\bblood\s+(?:tests?|work|levels?)"), _DRUG),
    (I.INDICATION, _rx(r"\bused\s+(?:for|to|in)\b|\buse[sd]?\s+(?:of|for)\b|\bfor\s*\??$|\bgood\s+for\b|\btreat\w*|\bhelp\w*|"
                       r"\bprescribed\b|\bwhy\b|\bindicat\w*|\bcure\w*|\bwork\s+for\b|\bfor\s+what\b|\bpurpose\b|\bapproved\b|\bprevent\w*"), _DRUG),
    (I.MONITORING, _rx(r"\bmonitor\w*|\bfollow[\s-]?up|\bscreening\s+(?:interval|schedule)"), _NO_DRUG),
    (I.DOSING, _rx(r"\bdos(?:e|es|age|ing)\b|\bhow\s+much\b[^?]*\b(?:take|need|give|use)\b|\bhow\s+many\s+(?:mg|pills|tablets|times)"),
     _NO_DRUG),
    (I.PROGNOSIS, _rx(r"\bhow\s+long\s+(?:does|do|will|is|are|would|should)\b|\blast\b|\bheal\w*|\bgo\s+away|\bcontagious|"
                      r"\bspread\w*|\bcatch\b|\brecur\w*|\bcome\s+back|\bprognosis|\bsurviv\w*|\blife\s+expectancy|"
                      r"\boutlook|\bcurable|\bserious\b|\bdangerous\b|\bpermanent\w*|\bturn\s+into|\bmore\s+than\s+once|"
                      r"\bchances?\b|\bnormal\s+for\b|\bexpect\b"), _NO_DRUG),
    (I.MANAGEMENT, _rx(r"\btreat\w*|\btherap\w*|\bcure\w*|\bget\s+rid|\bwhat\s+(?:can|should|do)\s+(?:i|you|we)\s+(?:do|take|use)|"
                       r"\brecommend\w*|\bprescribe\b|\bhelp\w*|\brelie(?:f|ve)\w*|\bremed(?:y|ies)|\bmedicines?\b|\bmedications?\b|"
                       r"\bprevent\w*|\bmanag\w*|\bavoid\w*|\bsolution\b|\bsuggest\w*|\bstop\b|\breduce\b|\bease\b|"
                       r"\bantibiotics?\b|\bcream\b|\bointment\b|\bvaccin\w*|\bsupplements?\b|\bwhat\s+(?:else|other)"), _NO_DRUG),
    (I.DIAGNOSIS, _rx(r"\bsymptoms?\b|\bsigns?\b|\bdiagnos\w*|\btests?\b|\btesting\b|\bhow\s+do\s+(?:i|you)\s+know|"
                      r"\bcaus\w*|\bwhy\b|\bcould\s+(?:it|this|i)\b|\bwhat\s+(?:could|can|might)\b|\bis\s+(?:it|this)\s+normal|"
                      r"\bmean\b|\bsuspect\w*|\bmeasure\b|\bdetermine\b|\bcheck\b|\bscan\b|\blook\s+for\b|"
                      r"\bhave\s+(?:a|an)\b.*\?|\bdo\s+i\s+have\b|\bwhat\s+is\s+(?:this|that|it)\b"), _NO_DRUG),
    (I.PROGNOSIS, _rx(r"\bhow\s+long\b"), _ANY),
    (I.INFORMATION, _rx(r"\bwhat\s+(?:is|are|'s)\b|\bwhats\b|\btell\s+me\b|\babout\b|\bkind\s+of\b|\btype\s+of\b|\bclass\w*\b|"
                        r"\bcategory\b|\bis\s+\w+\s+an?\b|\bpronounc\w*|\bbrand\b|\bgeneric\b"), _ANY),
]

_TEST = _rx(r"\b(?:[a-z0-9][\w\-]*\s+){0,2}(?:tests?|testing|levels?|counts?|panel|screen(?:ing)?|scans?|x-?rays?|mri|"
            r"ultrasound|biopsy|culture|swab|urinalysis|ecg|ekg|[a-z]{3,}graphy)\b")
_PROCEDURE = _rx(r"\b(?:[a-z0-9][\w\-]*\s+){0,2}(?:[a-z]{3,}(?:ectomy|otomy|ostomy|plasty|scopy)|surgery|transplant(?:ation)?|"
                 r"vaccinations?|vaccines?|injections?|shots?|piercings?)\b")
# Words that name a medicine without naming which: a question built on them asks about a drug
# ("how often do you need a shingles vaccine", "what is the side effect of bp medicine").
_MEDICINE_WORD = _rx(r"\b(?:medicines?|medications?|meds?|drugs?|pills?|tablets?|capsules?|vaccines?|shots?|injections?|"
                     r"antibiotics?|steroids?|supplements?|vitamins?|inhalers?|patch(?:es)?|creams?|ointments?|gels?|"
                     r"drops|syrups?|opioids?|painkillers?|prescriptions?)\b")
_STOP_LEAD = {"a", "an", "the", "my", "your", "this", "that", "any", "some", "of", "for", "to", "i", "is", "it", "get", "do",
              "what", "how", "can", "does", "need", "have", "had", "take", "blood"}


@dataclass
class ClassCatalog:
    """The pharmacologic classes of the held labels: class name -> generics, and a name matcher
    (the drug lexicon's Aho-Corasick matcher over the class names and their plurals)."""

    generics: dict[str, list[str]] = field(default_factory=dict)
    names: DrugLexicon | None = None

    def find(self, text: str) -> list[tuple[str, int, int]]:
        """Return (class name, start, end) for every class written in `text`."""
        if self.names is None:
            return []
        return [(m.generic, m.start, m.end) for m in self.names.find(text)]


def _class_key(name: str) -> str:
    """Return a class name as matched: lower case, FDA tag dropped, hyphens as spaces, last word singular."""
    name = re.sub(r"\s*\[[A-Za-z]+\]\s*$", "", name).strip().lower()
    name = " ".join(name.replace("-", " ").split())
    head, _, last = name.rpartition(" ")
    return f"{head} {singular(last)}".strip()


def build_class_catalog(store) -> ClassCatalog:
    """Return the ClassCatalog of the labels in `store` (their openFDA pharmacologic classes)."""
    ids = store.documents_by_kind(tier="label")
    out: dict[str, dict[str, None]] = {}
    for info in store.document_meta(ids).values():
        meta = info.get("meta") or {}
        generics = [(salt_free_base(g) or g).lower() for g in meta.get("generic_names") or [] if g]
        for value in meta.get("pharm_classes") or []:
            key = _class_key(value)
            if len(key) >= 4:
                for g in generics:
                    out.setdefault(key, {})[g] = None
    rows = [(variant, key, "class") for key in out for variant in (key, key + "s", key + "es")]
    names = DrugLexicon(rows, stop_words=()) if rows else None
    return ClassCatalog({k: list(v) for k, v in out.items()}, names)


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _phrase_subjects(text: str, kind: SubjectKind, rx: re.Pattern[str], taken: list[tuple[int, int]]) -> list[Subject]:
    out: list[Subject] = []
    for m in rx.finditer(text):
        words = m.group(0).split()
        while len(words) > 1 and words[0].lower() in _STOP_LEAD:
            words.pop(0)
        phrase = " ".join(words)
        start = m.end() - len(m.group(0)) + m.group(0).find(words[0])
        span = (start, m.end())
        if any(_overlaps(span, t) for t in taken):
            continue
        out.append(Subject(kind, phrase.lower(), text[span[0] : span[1]], span[0], span[1]))
        taken.append(span)
    return out


def _class_subjects(text: str, catalog: ClassCatalog, abbreviations: AbbreviationTable | None,
                    taken: list[tuple[int, int]]) -> list[Subject]:
    out: list[Subject] = []
    for name, s, e in catalog.find(text):
        if not any(_overlaps((s, e), t) for t in taken):
            out.append(Subject(SubjectKind.DRUG_CLASS, name, text[s:e], s, e, catalog.generics.get(name, [])))
            taken.append((s, e))
    if abbreviations is None:
        return out
    for m in re.finditer(r"\b[A-Z][A-Za-z]*[A-Z]s?\b", text):  # "PPI", "NSAIDs"
        if any(_overlaps((m.start(), m.end()), t) for t in taken):
            continue
        for long in abbreviations.expand(m.group(0)):
            key = _class_key(long)
            hit = catalog.find(key)
            if hit and hit[0][1] == 0 and hit[0][2] == len(key):
                name = hit[0][0]
                out.append(Subject(SubjectKind.DRUG_CLASS, name, m.group(0), m.start(), m.end(), catalog.generics.get(name, [])))
                taken.append((m.start(), m.end()))
                break
    return out


def find_subjects(facts: CaseFacts, catalog: ClassCatalog | None = None,
                  abbreviations: AbbreviationTable | None = None, glosses: DrugLexicon | None = None) -> list[Subject]:
    """Return what the text of `facts` is about: its drugs (not negated, not imaging agents), drug
    classes, conditions (also as everyday words the labels gloss), tests and procedures, in text order."""
    text = facts.text
    taken: list[tuple[int, int]] = []
    # a class name first: "benzodiazepine" is a class of the labels before it is a dictionary synonym
    out = _class_subjects(text, catalog, abbreviations, taken) if catalog is not None else []
    classes = list(taken)
    for d in facts.drugs:
        if any(_overlaps((d.start, d.end), c) for c in classes):
            continue
        taken.append((d.start, d.end))
        if d.negated or d.role == "diagnostic":
            continue
        name = (salt_free_base(d.generic) or d.generic).lower()
        if all(s.name != name for s in out):
            out.append(Subject(SubjectKind.DRUG, name, d.text, d.start, d.end, [name]))
    for c in facts.conditions:
        taken.append((c.start, c.end))
        if not c.negated:
            out.append(Subject(SubjectKind.CONDITION, c.name, c.text, c.start, c.end))
    for m in glosses.find(text) if glosses is not None else []:
        # an everyday phrase the labels gloss: "low thyroid" -> hypothyroidism
        if not any(_overlaps((m.start, m.end), t) for t in taken) and all(s.name != m.generic for s in out):
            out.append(Subject(SubjectKind.CONDITION, m.generic, m.text, m.start, m.end))
            taken.append((m.start, m.end))
    out += _phrase_subjects(text, SubjectKind.TEST, _TEST, taken)
    out += _phrase_subjects(text, SubjectKind.PROCEDURE, _PROCEDURE, taken)
    out.sort(key=lambda s: s.start)
    return out


def proposes_regimen(facts: CaseFacts) -> bool:
    """Return True when the text proposes a drug for the patient or writes a regimen for one."""
    return any(not d.negated and d.role != "diagnostic" and (d.role == "proposed" or d.dose or d.frequency or d.route)
               for d in facts.drugs)


def detect_intent(text: str, has_drug: bool, drugs: int = 0) -> tuple[Intent, str | None]:
    """Return the intent of a question and the words that decided it (None for the default).
    `has_drug`: the question is about a medicine; `drugs`: how many named drugs it holds."""
    for intent, rx, when in _CUES:
        if (when == _DRUG and not has_drug) or (when == _NO_DRUG and has_drug) or (when == _TWO and drugs < 2):
            continue
        m = rx.search(text)
        if m:
            return intent, m.group(0).strip()
    return (Intent.INFORMATION if has_drug else Intent.MANAGEMENT), None


def understand(facts: CaseFacts, catalog: ClassCatalog | None = None,
               abbreviations: AbbreviationTable | None = None, glosses: DrugLexicon | None = None) -> Understanding:
    """Return the Understanding of a question or case: intent, cue, subjects, whether to check labels."""
    subjects = find_subjects(facts, catalog, abbreviations, glosses)
    named = [s for s in subjects if s.kind in (SubjectKind.DRUG, SubjectKind.DRUG_CLASS)]
    conditions = [s for s in subjects if s.kind == SubjectKind.CONDITION]
    # a medicine word counts when no condition is named: "a cream for anal fissure" asks how to treat
    has_drug = bool(named) or (not conditions and bool(_MEDICINE_WORD.search(facts.text)))
    regimen = proposes_regimen(facts)
    if regimen and (facts.conditions or len(facts.text) > 150 or facts.patient.findings):
        intent, cue = Intent.CASE_REGIMEN, None
    else:
        intent, cue = detect_intent(facts.text, has_drug, len(named))
    drug_and_condition = has_drug and any(s.kind == SubjectKind.CONDITION for s in subjects)
    check = regimen or (intent == Intent.INDICATION and drug_and_condition)
    return Understanding(intent, subjects, cue, check)


# ---------------------------------------------------------------- everyday words

# Labels (their patient sections above all) gloss medical words in everyday ones:
# "low thyroid hormone levels (hypothyroidism)", "high blood pressure (hypertension)".
GLOSS_MIN_DOCS = 2
GLOSS_COMMON_WORDS = 30_000  # everyday words: the 30k most frequent of the WordPiece vocabulary
_GLOSS = re.compile(r"(?:^|[•\n(,;])\s*((?:[a-z][a-z\-]+\s+){1,3}[a-z][a-z\-]+)\s+\(([a-z]{5,})\)")
_GLOSS_LEAD = {"a", "an", "the", "of", "or", "and", "with", "have", "has", "your", "you", "if", "to", "in", "such", "as",
               "including", "called", "like", "see", "may", "can", "cause", "causes", "signs", "symptoms", "for", "at", "on",
               "by", "from", "is", "are", "be"}


def mine_glosses(store) -> dict[str, str]:
    """Return {everyday phrase: condition} from the label text: a phrase of everyday words followed by
    one disease word in brackets ("high blood pressure (hypertension)"), in at least GLOSS_MIN_DOCS
    labels, sharing no word with it (the condition most labels give, when they differ). A phrase's
    first two words stand for it too when they end in no function word and stand for no other condition."""
    from medcite.analyze.drug_lexicon import common_english_words
    from medcite.analyze.facts import is_condition_word

    everyday = common_english_words(GLOSS_COMMON_WORDS)
    docs: dict[tuple[str, str], set[str]] = {}
    for doc_id, text in store.passage_texts(["label"]):
        for m in _GLOSS.finditer(text.lower()):
            words = m.group(1).split()
            while words and words[0] in _GLOSS_LEAD:
                words.pop(0)
            term = m.group(2)
            if (len(words) >= 2 and is_condition_word(term) and not set(words) & set(term.split())
                    and sum(w not in everyday for w in words) <= 1):
                docs.setdefault((" ".join(words), term), set()).add(doc_id)
    best: dict[str, tuple[int, str]] = {}
    for (lay, term), d in docs.items():
        if len(d) >= GLOSS_MIN_DOCS and (len(d), term) > best.get(lay, (0, "")):
            best[lay] = (len(d), term)
    pairs = {lay: term for lay, (_, term) in best.items()}
    prefixes: dict[str, set[str]] = {}
    for lay, term in pairs.items():
        head = lay.split()[:2]
        if head[-1] not in _GLOSS_LEAD:
            prefixes.setdefault(" ".join(head), set()).add(term)
    for prefix, terms in prefixes.items():
        if len(terms) == 1 and prefix not in pairs:
            pairs[prefix] = next(iter(terms))
    return pairs


def gloss_matcher(glosses: dict[str, str]) -> DrugLexicon | None:
    """Return a matcher of the everyday phrases (the lexicon's Aho-Corasick matcher)."""
    rows = [(lay, term, "gloss") for lay, term in glosses.items()]
    return DrugLexicon(rows, stop_words=()) if rows else None


# "lanreotide, a long-acting somatostatin analogue": the class a passage gives a drug in apposition
_CLASS_HEAD = r"(?:analog(?:ue)?s?|inhibitors?|antagonists?|agonists?|blockers?|antibod(?:y|ies)|modulators?|agents?)"


def corpus_aliases(drug: str, texts: list[str]) -> list[str]:
    """Return the classes the texts give `drug` in apposition ("X, a long-acting somatostatin
    analogue, ..." -> "somatostatin analogue"): the class head and the word before it."""
    rx = re.compile(rf"\b{re.escape(drug)}\b(?:\s+\w+)?,\s+(?:is\s+)?an?\s+(?:[\w-]+\s+){{0,3}}?([\w-]+\s+{_CLASS_HEAD})\b",
                    re.IGNORECASE)
    out: dict[str, None] = {}
    for text in texts:
        for m in rx.finditer(text):
            out.setdefault(m.group(1).lower(), None)
    return list(out)


def label_classes(catalog: ClassCatalog, generic: str, max_members: int = 10) -> list[str]:
    """Return the classes of the held labels that `generic` belongs to, leaving out broad ones
    (more than `max_members` drugs) that would make every member's passage about it."""
    return [name for name, members in catalog.generics.items() if generic in members and len(members) <= max_members]
