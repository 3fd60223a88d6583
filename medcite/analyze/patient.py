"""Patient facts in case text: age, sex, pregnancy, weight, renal and hepatic function, genotypes.

Each fact keeps its span. Negation is applied afterwards by `medcite.analyze.facts` (a fact inside
a negation scope gets negated=True; "not pregnant" makes `pregnant` False).

Genotypes are normalised: "HLA-B*1502" == "HLA-B*15:02" -> gene "HLA-B", allele "*15:02";
"DPD deficiency" -> gene "DPYD" (DPD is the enzyme the DPYD gene encodes), status "deficient";
"CYP2C19 poor metabolizer" -> gene "CYP2C19", status "poor metabolizer"; "UGT1A1 genotype *28/*28"
-> gene "UGT1A1", allele "*28/*28"; "a pathogenic POLG mutation" -> gene "POLG", status "positive".

Findings beside the typed fields (read by the label alerts): "ancestry" (the ancestry words as
written, "Korean ancestry", or the country a patient was born in, "born in Korea"), "gestation"
(weeks), "term" ("at term", "in labor"), "qtc" (ms), "potassium" (mmol/L), "renal_impairment" (mild | moderate | severe, as written). Clinicians' "70F" /
"42M" gives age and sex.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from medcite.records import Finding, Genotype, PatientFacts

_NUM = r"\d+(?:\.\d+)?"

_AGE = re.compile(
    r"\b(?P<n>\d{1,3})[\s-]*(?:years?|yrs?|y)[\s-]*old\b"
    r"|\b(?P<n2>\d{1,3})\s*(?:yo|y/o|y\.o\.)(?!\w)"
    r"|\baged?\s*(?:of\s*)?(?P<n3>\d{1,3})(?:\s*years?)?\b"
    r"|\b(?P<n4>\d{1,3})\s*years?\s+of\s+age\b",
    re.IGNORECASE,
)
# Clinicians' shorthand "70F", "a 42M with ...": age and sex in one token (capital F / M only).
_AGE_SEX = re.compile(r"(?<![\w.°/-])(?P<n>\d{1,3})\s?(?P<s>[FM])\b(?![°'’])")
_NOT_AGE_BEFORE = re.compile(r"(?:temp\w*|T|Tmax|fever\w*|febrile|to|at|of)\s*$", re.IGNORECASE)
_FEMALE_NOUN = re.compile(r"\b(?:woman|female|lady|girl|mother|wife)\b", re.IGNORECASE)
_MALE_NOUN = re.compile(r"\b(?:man|male|gentleman|boy|father|husband)\b", re.IGNORECASE)
_FEMALE_PRON = re.compile(r"\b(?:she|her|hers|herself)\b", re.IGNORECASE)
_MALE_PRON = re.compile(r"\b(?:he|him|his|himself)\b", re.IGNORECASE)
# "non-pregnant" is not pregnant; a pregnancy test is a pregnancy only when positive
_PREGNANT = re.compile(
    r"(?<![\w-])pregnan(?:t|cy)\b(?!\s+test)|\bpositive\s+pregnancy\s+test\b|"
    r"\b\d{1,2}\s*weeks?'?\s*(?:of\s+)?(?:gestation|pregnant)\b|\b(?:first|second|third)\s+trimester\b",
    re.IGNORECASE,
)
_GESTATION = re.compile(r"\b(?P<w>\d{1,2})\s*(?:weeks?|wks?)'?\s*(?:of\s+)?(?:gestation|pregnan(?:t|cy)|GA)\b", re.IGNORECASE)
_TERM = re.compile(r"\b(?:at|near)\s+term\b|\bin\s+(?:active\s+|early\s+)?labou?r\b|\bterm\s+pregnan(?:t|cy)\b", re.IGNORECASE)
_LACTATION = re.compile(
    r"\b(?:breast[\s-]?feed(?:ing|s)?|breastfed|lactating|nursing\s+(?:an?\s+|her\s+)?(?:infant|baby|newborn|mother))\b",
    re.IGNORECASE,
)
_WEIGHT = re.compile(rf"(?<![/\w.])(?P<v>{_NUM})\s*(?P<u>kg|kilograms?|lbs?|pounds)\b(?!\s*/)", re.IGNORECASE)
_M2 = r"m\s?(?:2|²)"
_CRCL = re.compile(
    rf"\b(?:e?CrCl|e?CLcr|CrCL|(?:estimated\s+)?creatinine\s+clearance)\b(?:\s*\([^)]*\))?[^0-9;.]{{0,25}}?"
    rf"(?<![\w.])(?P<v>{_NUM})(?![\dA-Z])"
    rf"(?:\s*(?P<u>mL/min(?:/1\.73\s*{_M2})?|ml/min))?",
    re.IGNORECASE,
)
_EGFR = re.compile(
    rf"\b(?:eGFR|estimated\s+GFR|GFR|estimated\s+glomerular\s+filtration\s+rate|glomerular\s+filtration\s+rate)\b"
    rf"(?:\s*\([^)]*\))?[^0-9;.]{{0,25}}?(?<![\w.])(?P<v>{_NUM})(?![\dA-Z])(?:\s*(?P<u>mL/min(?:/1\.73\s*{_M2})?))?",
    re.IGNORECASE,
)
_ESRD = re.compile(r"\bESRD\b|\bESKD\b|\bend[\s-]stage\s+(?:renal|kidney)\s+disease\b", re.IGNORECASE)
_DIALYSIS = re.compile(r"\b(?:hemodialysis|haemodialysis|peritoneal\s+dialysis|dialysis)\b", re.IGNORECASE)
_CHILD_PUGH = re.compile(
    r"\bChild[\s-]*Pugh(?:[\s-]*Turcotte)?[\s-]*(?:class|score|grade|category)?[\s-]*(?:(?P<c>[ABC])\b|(?:of\s*)?(?P<n>\d{1,2})\b)",
    re.IGNORECASE,
)
_HEPATIC = re.compile(r"\b(?P<s>mild|moderate|severe)\s+(?:hepatic|liver)\s+(?:impairment|insufficiency|dysfunction)\b", re.IGNORECASE)
_RENAL_WORDS = re.compile(r"\b(?P<s>mild|moderate|severe)\s+(?:renal|kidney)\s+(?:impairment|dysfunction)\b", re.IGNORECASE)
_QTC = re.compile(r"\bQTc[FB]?\b(?:\s+interval)?\s*(?:of|is|was|=|:)?\s*(?P<v>\d{3})(?:\s*(?:ms|msec|milliseconds)\b)?")
_POTASSIUM = re.compile(r"(?:\bpotassium|(?<![\w/])K\+?)\s*(?:of|is|was|=|:)?\s*(?P<v>\d(?:\.\d{1,2})?)(?![\d.])"
                        r"(?:\s*(?:mmol/L|mEq/L))?", re.IGNORECASE)
# Ancestry: the words a label uses for at-risk populations ("Asian ancestry", "East-/Southeast-Asian
# ancestry") and the demonyms a case writes for them, by geographic region.
_REGIONS = {
    "East Asian": r"Chinese|Han\s+Chinese|Japanese|Korean|Taiwanese|Mongolian",
    "Southeast Asian": r"Thai|Vietnamese|Filipin[oa]|Malaysian|Malay|Indonesian|Cambodian|Laotian|Burmese|Singaporean|Hmong",
    "South Asian": r"Indian|Pakistani|Bangladeshi|Sri\s+Lankan|Nepal[ei]se",
    "Asian": r"Asian|East[\s-]+Asian|South[\s-]?east[\s-]+Asian|South[\s-]+Asian",
    "African": r"African|Black",
}
_DEMONYM = "|".join(_REGIONS.values())
# the countries of those regions, for "born in Korea" / "from Vietnam": where a patient comes from
_COUNTRIES = {
    "East Asian": r"China|Japan|Korea|South\s+Korea|Taiwan|Mongolia",
    "Southeast Asian": r"Thailand|Vietnam|Viet\s+Nam|the\s+Philippines|Malaysia|Indonesia|Cambodia|Laos|Myanmar|Burma|Singapore",
    "South Asian": r"India|Pakistan|Bangladesh|Sri\s+Lanka|Nepal",
}
_BORN_IN = re.compile(r"\b(?:born|raised)\s+in\s+(?P<c>" + "|".join(_COUNTRIES.values()) + r")\b"
                      r"|\b(?:immigrated|emigrated|moved|recently\s+arrived)\s+from\s+(?P<d>" + "|".join(_COUNTRIES.values()) + r")\b")
_ANCESTRY = re.compile(
    rf"\b(?:of|is)\s+(?P<a>{_DEMONYM})(?:[\s-]+American)?(?:\s+(?:ancestry|descent|origin|heritage|background))?\b"
    rf"|\b(?P<b>{_DEMONYM})(?:[\s-]+American)?\s+(?:ancestry|descent|origin|heritage|background|ethnicity|man|woman|male|female|"
    r"patient|boy|girl|adult|child|gentleman|lady)\b"
)
_STOPPED_AGO = re.compile(
    r"\b(?P<n>\d{1,3}|a|one|two|three|four|five|six)\s*(?P<u>days?|d|weeks?|wks?|months?)\s+(?:ago|prior|before|earlier)\b"
    r"|\b(?P<y>yesterday|last\s+night|this\s+morning)\b|\blast\s+(?P<lw>week|month)\b",
    re.IGNORECASE,
)
_WORD_NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}

# ---------------------------------------------------------------- genotypes

_GENE = (
    r"(?P<hla>HLA-?(?P<locus>[A-Z]{1,3}\d?))\s*\*?\s*(?P<hla_allele>\d{2}:\d{2,3}|\d{4}|\d{2}(?![\d:]))"
    r"|(?P<gene>CYP\d{1,2}[A-Z]\d{1,2}|DPYD|DPD|dihydropyrimidine\s+dehydrogenase|TPMT|NUDT15|UGT1A1|G6PD|"
    r"glucose-6-phosphate\s+dehydrogenase|VKORC1|SLCO1B1|NAT2|IFNL3|RYR1|CACNA1S|POLG|BCHE)"
    # the star alleles, right after the gene or after "genotype" ("UGT1A1 genotype *28/*28")
    r"(?:(?:\s+(?:genotype|diplotype|alleles?)\s*:?)?(?P<star>\s*\*\s*\d+[A-Z]?(?:\s*/\s*\*\s*\d+[A-Z]?)?))?"
)
_GENE_RE = re.compile(_GENE)
_GENE_ALIASES = {"dpd": "DPYD", "dihydropyrimidine dehydrogenase": "DPYD", "glucose-6-phosphate dehydrogenase": "G6PD"}
# Words after (or before) the gene that say what the result is; the first within a few words wins.
_STATUS = re.compile(
    r"(?P<met>poor|intermediate|normal|extensive|rapid|ultra-?rapid)\s+(?:\((?:poor|intermediate|normal|extensive|rapid)\)\s+)?metaboli[sz]er"
    r"|(?P<def>deficien(?:cy|t)|low\s+activity|absent\s+activity)"
    r"|(?P<zyg>homozygous|heterozygous)"
    r"|(?P<neg>-?negative|non-?carrier)"
    r"|(?P<pos>-?positive|carrier|\+|(?:pathogenic\s+)?(?:mutations?|mutated|variants?))",
    re.IGNORECASE,
)


def _hla_allele(raw: str) -> str:
    """Return an HLA allele in colon form: "1502" -> "*15:02", "15:02" -> "*15:02", "15" -> "*15"."""
    if ":" in raw:
        return "*" + raw
    if len(raw) == 4:
        return f"*{raw[:2]}:{raw[2:]}"
    return "*" + raw


def _status(text: str, start: int, end: int) -> tuple[str | None, int, int]:
    """Return (status, span start, span end) from the words right after the gene (or before it)."""
    after = text[end : end + 40]
    m = _STATUS.match(after.lstrip(" -:(,")) if after else None
    if m:
        off = end + (len(after) - len(after.lstrip(" -:(,")))
        return _status_value(m), start, off + m.end()
    m2 = re.search(r"\b(?:is|was|tested|test(?:ed)?\s+was|(?:test|result|status|phenotype)\s*:|(?:genotype\s+)?(?:is|shows?|showed|reveals?|revealed|indicates?))"
                   r"\s+(.{0,30})", after)
    if m2:
        m3 = _STATUS.search(m2.group(1))
        if m3:
            return _status_value(m3), start, end + m2.start(1) + m3.end()
    before = text[max(0, start - 40) : start]
    m4 = None
    for m4 in _STATUS.finditer(before):
        pass
    if m4 and not before[m4.end() :].strip(" -:(").split()[3:]:
        value = _status_value(m4)
        if value.endswith("metabolizer"):
            return value, start - len(before) + m4.start(), end
    return None, start, end


def _status_value(m: re.Match[str]) -> str:
    if m["met"]:
        kind = m["met"].lower().replace("-", "")
        return f"{kind} metabolizer"
    if m["def"]:
        return "deficient"
    if m["zyg"]:
        return m["zyg"].lower()
    if m["neg"]:
        return "negative"
    return "positive"


def find_genotypes(text: str) -> list[Genotype]:
    """Return the pharmacogenomic results in `text`, normalised (gene, allele, status)."""
    out: list[Genotype] = []
    for m in _GENE_RE.finditer(text):
        if m["hla"]:
            gene = f"HLA-{m['locus']}"
            allele: str | None = _hla_allele(m["hla_allele"])
        else:
            gene = _GENE_ALIASES.get(m["gene"].lower(), m["gene"].upper())
            allele = re.sub(r"\s+", "", m["star"]) if m["star"] else None
        status, s, e = _status(text, m.start(), m.end())
        if status is None:
            # A named allele is a result ("HLA-B*15:02"); a bare gene name is not.
            if allele is None:
                continue
            status = "positive" if gene.startswith("HLA-") else "genotype"
        out.append(Genotype(gene, allele, status, text[s:e], s, e))
    return out


# ---------------------------------------------------------------- patient


def _finding(kind: str, value: object, m: re.Match[str], unit: str | None = None) -> Finding:
    return Finding(kind, value, m.group(0), m.start(), m.end(), unit)


def _child_pugh_class(m: re.Match[str]) -> str | None:
    """Return the Child-Pugh class of a match: the letter, or the class of the score (5-6 A, 7-9 B, 10-15 C)."""
    if m["c"]:
        return m["c"].upper()
    score = int(m["n"])
    return None if not 5 <= score <= 15 else "A" if score <= 6 else "B" if score <= 9 else "C"


def _egfr_value(m: re.Match[str]) -> float | None:
    """Return the eGFR of a match; "EGFR" in capitals is the gene ("EGFR exon 19 deletion") unless a unit follows."""
    return None if m.group(0).startswith("EGFR") and not m["u"] else float(m["v"])


def _country_region(m: re.Match[str]) -> str:
    words = m["c"] or m["d"]
    return next(r for r, alts in _COUNTRIES.items() if re.fullmatch(alts, words))


def _region(words: str) -> str:
    return next(r for r, alts in _REGIONS.items() if re.fullmatch(rf"(?:{alts})(?:[\s-]+American)?", words))


def _ages_and_sex(text: str) -> list[Finding]:
    """Return the age findings and the sex finding (the first noun, else the one pronoun used)."""
    out: list[Finding] = []
    for m in _AGE.finditer(text):
        n = next(g for g in (m["n"], m["n2"], m["n3"], m["n4"]) if g)
        if 0 < int(n) < 120:
            out.append(_finding("age", float(n), m, "years"))
    nouns = [("female", m) for m in _FEMALE_NOUN.finditer(text)] + [("male", m) for m in _MALE_NOUN.finditer(text)]
    for m in _AGE_SEX.finditer(text):
        if 0 < int(m["n"]) < 111 and not _NOT_AGE_BEFORE.search(text[max(0, m.start() - 12) : m.start()]):
            out.append(_finding("age", float(m["n"]), m, "years"))
            nouns.append(("female" if m["s"] == "F" else "male", m))
    if nouns:
        sex, m = min(nouns, key=lambda x: x[1].start())
        out.append(_finding("sex", sex, m))
    else:
        prons = [("female", m) for m in _FEMALE_PRON.finditer(text)] + [("male", m) for m in _MALE_PRON.finditer(text)]
        if prons and len({s for s, _ in prons}) == 1:
            sex, m = prons[0]
            out.append(_finding("sex", sex, m))
    return out


# (kind, pattern, value of a match, unit): the findings read by one pattern each.
_SIMPLE: list[tuple[str, re.Pattern[str], Callable[[re.Match[str]], Any], str | None]] = [
    ("pregnancy", _PREGNANT, lambda m: True, None),
    ("pregnancy", _TERM, lambda m: True, None),
    ("term", _TERM, lambda m: True, None),
    ("gestation", _GESTATION, lambda m: float(m["w"]), "weeks"),
    ("lactation", _LACTATION, lambda m: True, None),
    ("crcl", _CRCL, lambda m: float(m["v"]), "mL/min"),
    ("egfr", _EGFR, _egfr_value, "mL/min/1.73 m2"),
    ("esrd", _ESRD, lambda m: True, None),
    ("dialysis", _DIALYSIS, lambda m: True, None),
    ("renal_impairment", _RENAL_WORDS, lambda m: m["s"].lower(), None),
    ("child_pugh", _CHILD_PUGH, _child_pugh_class, None),
    ("hepatic_impairment", _HEPATIC, lambda m: m["s"].lower(), None),
    ("qtc", _QTC, lambda m: float(m["v"]), "ms"),
    ("potassium", _POTASSIUM, lambda m: float(m["v"]), "mmol/L"),
    ("ancestry", _ANCESTRY, lambda m: _region(m["a"] or m["b"]), None),
    ("ancestry", _BORN_IN, _country_region, None),
]


def find_patient(text: str) -> PatientFacts:
    """Return the patient facts in `text` (first mention of each kind sets the typed field;
    every mention is a Finding)."""
    p = PatientFacts()
    f = p.findings
    f += _ages_and_sex(text)
    for kind, pattern, value, unit in _SIMPLE:
        for m in pattern.finditer(text):
            v = value(m)
            if v is not None:
                f.append(_finding(kind, v, m, unit))
    for m in _WEIGHT.finditer(text):
        v = float(m["v"])
        kg = v if m["u"].lower().startswith("k") else round(v * 0.45359237, 1)
        f.append(_finding("weight", kg, m, "kg"))
    f.sort(key=lambda x: x.start)
    p.genotypes = find_genotypes(text)
    return p


def days_since(text: str, start: int, end: int, window: int = 60) -> float | None:
    """Return how many days ago the thing written at text[start:end] happened when the words
    around it say so ("stopped phenelzine 5 days ago", "discontinued last week"), else None."""
    lo = max(text.rfind(".", 0, start), text.rfind(";", 0, start), start - window) + 1
    hi = min(x for x in (text.find(".", end), text.find(";", end), end + window, len(text)) if x >= 0)
    m = _STOPPED_AGO.search(text, lo, hi)
    if m is None:
        return None
    if m["y"]:
        return 1.0
    if m["lw"]:
        return 7.0 if m["lw"].lower() == "week" else 30.0
    n = float(_WORD_NUMBERS.get(m["n"].lower(), 0) or m["n"])
    unit = m["u"].lower()
    return n * (7 if unit.startswith("w") else 30 if unit.startswith("mo") else 1)


def summarise(p: PatientFacts) -> None:
    """Set the typed fields of `p` from its findings (first non-negated mention wins; a negated
    pregnancy mention alone means not pregnant). Called after negation has been applied."""
    first: dict[str, Finding] = {}
    for fd in p.findings:
        if not fd.negated:
            first.setdefault(fd.kind, fd)
    p.age_years = first["age"].value if "age" in first else None
    p.sex = first["sex"].value if "sex" in first else None
    if "pregnancy" in first:
        p.pregnant = True
    elif any(fd.kind == "pregnancy" for fd in p.findings):
        p.pregnant = False
    p.weight_kg = first["weight"].value if "weight" in first else None
    p.crcl_ml_min = first["crcl"].value if "crcl" in first else None
    p.egfr = first["egfr"].value if "egfr" in first else None
    p.esrd = True if "esrd" in first else (False if any(fd.kind == "esrd" for fd in p.findings) else None)
    p.dialysis = True if "dialysis" in first else (False if any(fd.kind == "dialysis" for fd in p.findings) else None)
    p.child_pugh = first["child_pugh"].value if "child_pugh" in first else None
    p.hepatic_impairment = first["hepatic_impairment"].value if "hepatic_impairment" in first else None
