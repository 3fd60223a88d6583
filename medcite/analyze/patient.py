"""Patient facts in case text: age, sex, pregnancy, weight, renal and hepatic function, genotypes.

Each fact keeps its span. Negation is applied afterwards by `medcite.analyze.facts` (a fact inside
a negation scope gets negated=True; "not pregnant" makes `pregnant` False).

Genotypes are normalised: "HLA-B*1502" == "HLA-B*15:02" -> gene "HLA-B", allele "*15:02";
"DPD deficiency" -> gene "DPYD" (DPD is the enzyme the DPYD gene encodes), status "deficient";
"CYP2C19 poor metabolizer" -> gene "CYP2C19", status "poor metabolizer".
"""

from __future__ import annotations

import re

from medcite.records import Finding, Genotype, PatientFacts

_NUM = r"\d+(?:\.\d+)?"

_AGE = re.compile(
    r"\b(?P<n>\d{1,3})[\s-]*(?:years?|yrs?|y)[\s-]*old\b"
    r"|\b(?P<n2>\d{1,3})\s*(?:yo|y/o|y\.o\.)(?!\w)"
    r"|\baged?\s*(?:of\s*)?(?P<n3>\d{1,3})(?:\s*years?)?\b"
    r"|\b(?P<n4>\d{1,3})\s*years?\s+of\s+age\b",
    re.IGNORECASE,
)
_FEMALE_NOUN = re.compile(r"\b(?:woman|female|lady|girl|mother|wife)\b", re.IGNORECASE)
_MALE_NOUN = re.compile(r"\b(?:man|male|gentleman|boy|father|husband)\b", re.IGNORECASE)
_FEMALE_PRON = re.compile(r"\b(?:she|her|hers|herself)\b", re.IGNORECASE)
_MALE_PRON = re.compile(r"\b(?:he|him|his|himself)\b", re.IGNORECASE)
_PREGNANT = re.compile(
    r"\bpregnan(?:t|cy)\b|\b\d{1,2}\s*weeks?'?\s*(?:of\s+)?(?:gestation|pregnant)\b|\b(?:first|second|third)\s+trimester\b",
    re.IGNORECASE,
)
_LACTATION = re.compile(r"\b(?:breast-?feeding|lactating|nursing\s+(?:an?\s+)?infant)\b", re.IGNORECASE)
_WEIGHT = re.compile(rf"(?<![/\w.])(?P<v>{_NUM})\s*(?P<u>kg|kilograms?|lbs?|pounds)\b(?!\s*/)", re.IGNORECASE)
_M2 = r"m\s?(?:2|²)"
_CRCL = re.compile(
    rf"\b(?:CrCl|CLcr|CrCL|creatinine\s+clearance)\b(?:\s*\([^)]*\))?[^0-9;.]{{0,25}}?(?P<v>{_NUM})"
    rf"(?:\s*(?P<u>mL/min(?:/1\.73\s*{_M2})?|ml/min))?",
    re.IGNORECASE,
)
_EGFR = re.compile(
    rf"\b(?:eGFR|estimated\s+GFR|GFR|estimated\s+glomerular\s+filtration\s+rate|glomerular\s+filtration\s+rate)\b"
    rf"(?:\s*\([^)]*\))?[^0-9;.]{{0,25}}?(?P<v>{_NUM})(?:\s*(?P<u>mL/min(?:/1\.73\s*{_M2})?))?",
    re.IGNORECASE,
)
_ESRD = re.compile(r"\bESRD\b|\bESKD\b|\bend[\s-]stage\s+(?:renal|kidney)\s+disease\b", re.IGNORECASE)
_DIALYSIS = re.compile(r"\b(?:hemodialysis|haemodialysis|peritoneal\s+dialysis|dialysis)\b", re.IGNORECASE)
_CHILD_PUGH = re.compile(r"\bChild[\s-]*Pugh(?:[\s-]*Turcotte)?\s*(?:class|score|grade|category)?\s*(?P<c>[ABC])\b", re.IGNORECASE)
_HEPATIC = re.compile(r"\b(?P<s>mild|moderate|severe)\s+(?:hepatic|liver)\s+(?:impairment|insufficiency|dysfunction)\b", re.IGNORECASE)

# ---------------------------------------------------------------- genotypes

_GENE = (
    r"(?P<hla>HLA-?(?P<locus>[A-Z]{1,3}\d?))\s*\*?\s*(?P<hla_allele>\d{2}:\d{2,3}|\d{4}|\d{2}(?![\d:]))"
    r"|(?P<gene>CYP\d{1,2}[A-Z]\d{1,2}|DPYD|DPD|dihydropyrimidine\s+dehydrogenase|TPMT|NUDT15|UGT1A1|G6PD|"
    r"glucose-6-phosphate\s+dehydrogenase|VKORC1|SLCO1B1|NAT2|IFNL3|RYR1|CACNA1S|POLG|BCHE)"
    r"(?P<star>\s*\*\s*\d+[A-Z]?(?:\s*/\s*\*\s*\d+[A-Z]?)?)?"
)
_GENE_RE = re.compile(_GENE)
_GENE_ALIASES = {"dpd": "DPYD", "dihydropyrimidine dehydrogenase": "DPYD", "glucose-6-phosphate dehydrogenase": "G6PD"}
# Words after (or before) the gene that say what the result is; the first within a few words wins.
_STATUS = re.compile(
    r"(?P<met>poor|intermediate|normal|extensive|rapid|ultra-?rapid)\s+metaboli[sz]er"
    r"|(?P<def>deficien(?:cy|t)|low\s+activity|absent\s+activity)"
    r"|(?P<zyg>homozygous|heterozygous)"
    r"|(?P<neg>-?negative|non-?carrier)"
    r"|(?P<pos>-?positive|carrier|\+)",
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
    m = _STATUS.match(after.lstrip(" -:(")) if after else None
    if m:
        off = end + (len(after) - len(after.lstrip(" -:(")))
        return _status_value(m), start, off + m.end()
    m2 = re.search(r"\b(?:is|was|tested|test(?:ed)?\s+was|genotype\s+is)\s+(.{0,30})", after)
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


def find_patient(text: str) -> PatientFacts:
    """Return the patient facts in `text` (first mention of each kind sets the typed field;
    every mention is a Finding)."""
    p = PatientFacts()
    f = p.findings
    for m in _AGE.finditer(text):
        n = next(g for g in (m["n"], m["n2"], m["n3"], m["n4"]) if g)
        if 0 < int(n) < 120:
            f.append(_finding("age", float(n), m, "years"))
    nouns = [("female", m) for m in _FEMALE_NOUN.finditer(text)] + [("male", m) for m in _MALE_NOUN.finditer(text)]
    if nouns:
        sex, m = min(nouns, key=lambda x: x[1].start())
        f.append(_finding("sex", sex, m))
    else:
        prons = [("female", m) for m in _FEMALE_PRON.finditer(text)] + [("male", m) for m in _MALE_PRON.finditer(text)]
        if prons and len({s for s, _ in prons}) == 1:
            sex, m = prons[0]
            f.append(_finding("sex", sex, m))
    for m in _PREGNANT.finditer(text):
        f.append(_finding("pregnancy", True, m))
    for m in _LACTATION.finditer(text):
        f.append(_finding("lactation", True, m))
    for m in _WEIGHT.finditer(text):
        v = float(m["v"])
        kg = v if m["u"].lower().startswith("k") else round(v * 0.45359237, 1)
        f.append(_finding("weight", kg, m, "kg"))
    for m in _CRCL.finditer(text):
        f.append(_finding("crcl", float(m["v"]), m, "mL/min"))
    for m in _EGFR.finditer(text):
        f.append(_finding("egfr", float(m["v"]), m, "mL/min/1.73 m2"))
    for m in _ESRD.finditer(text):
        f.append(_finding("esrd", True, m))
    for m in _DIALYSIS.finditer(text):
        f.append(_finding("dialysis", True, m))
    for m in _CHILD_PUGH.finditer(text):
        f.append(_finding("child_pugh", m["c"].upper(), m))
    for m in _HEPATIC.finditer(text):
        f.append(_finding("hepatic_impairment", m["s"].lower(), m))
    f.sort(key=lambda x: x.start)
    p.genotypes = find_genotypes(text)
    return p


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
