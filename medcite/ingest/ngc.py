"""Reader for AHRQ National Guideline Clearinghouse summaries (archived July 2018).

Two formats, one Document per guideline with the same doc_id ``ngc:<id>`` from either:
- "ngc_json": the JSONL(.gz) export, one object per guideline with plain-text NGC fields;
- "ngc_xml": the original summary XML (`<Version><Section><Field Name=...><FieldValue Value=
  "<escaped HTML>">`), whose id is only in the file name (ngc-<id>.xml).

"Major Recommendations" is split at its sub-headings. The XML keeps the HTML, so headings are
found structurally (<h*>, a paragraph that is all bold/underlined, a list item that opens with a
bold title over a nested list); the JSON export lost the markup, so there a heading is a short
title-cased line standing alone at the left margin. Evidence grades stay in the text and their
distinct labels go to meta["grades"] (see `extract_grades`). Other clinically useful fields become
their own sections; the copyright statement is kept in meta only.
"""

from __future__ import annotations

import copy
import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

from lxml import etree, html

from medcite.ingest.inflate import open_text
from medcite.records import Document, RecordError, Section

FORMAT = "ngc_json"
FORMATS = ("ngc_json", "ngc_xml")
MAJOR = "Major Recommendations"
# Fields indexed as sections besides Major Recommendations, in reading order.
SECTION_FIELDS = (
    "Disease/Condition(s)", "Target Population", "Interventions and Practices Considered",
    "Clinical Algorithm(s)", "Potential Benefits", "Potential Harms", "Contraindications",
    "Qualifying Statements",
)
RATING_FIELDS = ("Rating Scheme for the Strength of the Evidence",
                 "Rating Scheme for the Strength of the Recommendations")
# Placeholder values NGC used for empty fields: no section for them.
EMPTY_VALUES = {"", "none", "none provided", "not stated", "not applicable", "none identified", "none available"}
_SNIFF_BYTES = 4096
_LIST_MARK = re.compile(r"(?m)^[ \t]*-[ \t]+")
_TRAILING_BLANKS = re.compile(r"(?m)[ \t]+$")
_EMPTY_CELL = re.compile(r"(?m)^[ \t]*\|[ \t]*(?:\n|$)")  # a line holding only a cell marker
_MANY_BREAKS = re.compile(r"\n{3,}")
_PUBMED_LINK = re.compile(r"list_uids=(\d+)|pubmed(?:\.ncbi\.nlm\.nih\.gov)?/(\d+)")
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}


# ---------------------------------------------------------------- sniff / read


def sniff(path: Path) -> str | bool:
    """Return "ngc_json" or "ngc_xml" when `path` is an NGC summary file, else False."""
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz")):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rb") as fh:
            head = fh.read(_SNIFF_BYTES)
        first = head.split(b"\n", 1)[0]
        return "ngc_json" if b'"ngc_id"' in first and b'"Guideline Title"' in first else False
    if name.endswith(".xml"):
        with open(path, "rb") as fh:
            head = fh.read(_SNIFF_BYTES)
        if b"<Version>" in head and (b"National Guideline Clearinghouse" in head or b'Name="Guideline Title"' in head):
            return "ngc_xml"
    return False


def read(path: Path) -> Iterator[Document | RecordError]:
    """Yield one Document per guideline (JSONL: per line; XML: the file), RecordErrors for bad ones."""
    path = Path(path)
    if path.name.lower().endswith(".xml"):
        yield _read_xml(path)
    else:
        yield from _read_jsonl(path)


def _read_jsonl(path: Path) -> Iterator[Document | RecordError]:
    source = str(path)
    lineno = 0
    try:
        with open_text(path) as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                    if not isinstance(rec, dict):
                        raise ValueError(f"expected a JSON object, found {type(rec).__name__}")
                except ValueError as exc:
                    yield RecordError(source, f"line {lineno}", f"not a valid JSON record: {exc}")
                    continue
                where = f"line {lineno}" + (f" {rec['ngc_id']}" if rec.get("ngc_id") else "")
                try:
                    ngc_id = _ngc_id(str(rec.get("ngc_id") or ""))
                    fields = {k: _dedupe(v) for k, v in rec.items() if isinstance(v, str)}
                    blocks = _text_blocks(fields.get(MAJOR) or "")
                    yield _document(ngc_id, fields, blocks, rec.get("pmids_in_record") or [], "ngc_json", source)
                except Exception as exc:  # one bad guideline must not stop the file
                    yield RecordError(source, where, _message(exc))
    except (OSError, EOFError, UnicodeDecodeError) as exc:  # truncated gzip, unreadable bytes
        yield RecordError(source, f"line {lineno + 1}", f"cannot read the rest of the file: {exc}")


def _read_xml(path: Path) -> Document | RecordError:
    source = str(path)
    try:
        m = re.fullmatch(r"ngc-(\d+)\.xml", path.name.lower())
        if not m:
            raise ValueError("file name is not ngc-<id>.xml: the NGC id is only in the name")
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
        fields: dict[str, str] = {}
        major_html = ""
        pmids: list[str] = []
        for field in root.iter("Field"):
            name = (field.get("Name") or "").strip()
            if not name or name in fields:  # NGC repeats some fields in two sections: first wins
                continue
            values = [v.get("Value") or "" for v in field.iterfind("FieldValue")]
            if name == MAJOR:
                major_html = "".join(values)
            fields[name] = "\n".join(_html_to_text(v) for v in values if v.strip())
            for v in values:  # PubMed links anywhere in the record, as the JSON export's pmids_in_record
                pmids.extend(a or b for a, b in _PUBMED_LINK.findall(v))
        if "Guideline Title" not in fields:
            raise ValueError("no Guideline Title field (an NGC 'not found' stub, or not a summary)")
        blocks = html_blocks(major_html) if major_html else []
        return _document(m.group(1), fields, blocks, list(dict.fromkeys(pmids)), "ngc_xml", source)
    except etree.XMLSyntaxError as exc:
        return RecordError(source, None, f"not well-formed XML: {exc}")
    except Exception as exc:  # never raise out of a reader
        return RecordError(source, None, _message(exc))


def _message(exc: Exception) -> str:
    # our own ValueErrors are written as messages; anything else is unexpected and says what it is
    return str(exc) if type(exc) is ValueError else f"unreadable record: {type(exc).__name__}: {exc}"


def _ngc_id(raw: str) -> str:
    m = re.fullmatch(r"(?:ngc-)?(\d+)", raw.strip().lower())
    if not m:
        raise ValueError(f"ngc_id {raw!r} is not ngc-<number>")
    return m.group(1)


def _dedupe(text: str) -> str:
    """Return the field text once: the JSON export concatenated fields NGC shows twice ("X\\nX")."""
    text = text.strip()
    half = len(text) // 2
    if len(text) > 2 and text[:half] == text[half + 1:] and text[half] == "\n":
        text = text[:half]
    return re.sub(r"\s*\|\s*$", "", text)  # table-cell marker left at the end of citation fields


# ---------------------------------------------------------------- document


def _document(ngc_id: str, fields: dict[str, str], blocks: list[tuple[str, str]], pmids: list,
              kind: str, source: str) -> Document:
    title = " ".join((fields.get("Guideline Title") or "").split())
    if not title:
        raise ValueError("empty Guideline Title")
    sections = _major_sections(blocks)
    for name in SECTION_FIELDS:
        text = _tidy(fields.get(name) or "")
        if text.strip().rstrip(".").lower() not in EMPTY_VALUES:
            sections.append(Section(name=name, text=text, code=name))
    date_raw = (fields.get("Date Released") or "").strip()
    rating = {"evidence": fields.get(RATING_FIELDS[0]), "recommendations": fields.get(RATING_FIELDS[1])}
    meta = {
        "ngc_id": ngc_id,
        "developer": fields.get("Guideline Developer(s)"),
        "bibliographic_source": fields.get("Bibliographic Source(s)"),
        "status": fields.get("Guideline Status"),
        "date_released_raw": date_raw or None,
        "pmids": [str(p) for p in pmids],
        "rating_scheme": rating,
        "disease_condition": fields.get("Disease/Condition(s)"),
        "copyright": fields.get("Copyright Statement"),
        "grades": extract_grades(blocks, rating, fields.get(MAJOR) or ""),
    }
    for key, name in (("category", "Guideline Category"), ("specialty", "Clinical Specialty"),
                      ("intended_users", "Intended Users")):
        if fields.get(name):
            meta[key] = [s.strip() for s in fields[name].split("\n") if s.strip()]
    return Document(
        doc_id=f"ngc:{ngc_id}",
        tier="guideline",
        source_kind=kind,
        source_id=ngc_id,
        title=title,
        sections=sections,
        date=normalise_date(date_raw),
        # guideline.gov closed on 2018-07-16: this is the archived summary URL form, kept for
        # citation (it resolves only through web archives).
        url=f"https://www.guideline.gov/summaries/summary/{ngc_id}",
        meta=meta,
        source_file=source,
    )


def normalise_date(raw: str) -> str | None:
    """Return YYYY, YYYY-MM or YYYY-MM-DD for an NGC "Date Released" value, or None.

    "2003 Jan (revised 2013 May)" gives the revision (2013-05): the summary describes the revised
    version. A reaffirmation does not change the text, so it does not move the date.
    """
    if not raw:
        return None
    revised = re.search(r"revised\s+([^;)]*)", raw)
    for candidate in ([revised.group(1)] if revised else []) + [raw]:
        m = re.search(r"\b((?:19|20)\d\d)\b(?:\s+([A-Za-z]{3,9})\.?(?:[-/][A-Za-z]+)?(?:\s+(\d{1,2})\b)?)?", candidate)
        if not m:
            continue
        year, month_name, day = m.groups()
        month = _MONTHS.get((month_name or "")[:3].lower())
        if not month:
            return year
        if day and 1 <= int(day) <= 31:
            return f"{year}-{month:02d}-{int(day):02d}"
        return f"{year}-{month:02d}"
    return None


def _tidy(text: str) -> str:
    """Return field text with the export's list markers (" - ") as "- " and no trailing blanks."""
    out = _LIST_MARK.sub("- ", _TRAILING_BLANKS.sub("", text.strip()))
    out = _EMPTY_CELL.sub("", out)
    return _MANY_BREAKS.sub("\n\n", out).strip()


# ---------------------------------------------------------------- Major Recommendations


def _major_sections(blocks: list[tuple[str, str]]) -> list[Section]:
    """Return Major Recommendations as sections, one per sub-heading (consecutive headings nest)."""
    sections: list[Section] = []
    heads: list[str] = []
    body: list[tuple[str, str]] = []
    after_text = True

    def close() -> None:
        text = _join(body)
        if text:
            name = " > ".join([MAJOR] + heads)
            sections.append(Section(name=name, text=text, code=MAJOR))

    for kind, text in blocks:
        if kind == "h":
            if after_text:  # a heading after body text starts a new group; headings in a row nest
                close()
                heads, body = [], []
            heads.append(text.rstrip(":").strip())
            after_text = False
        else:
            body.append((kind, text))
            after_text = True
    close()
    return sections


def _join(body: list[tuple[str, str]]) -> str:
    out = ""
    prev = None
    for kind, text in body:
        line = f"- {text}" if kind == "li" else text
        if out:
            out += "\n" if kind in ("li", "row") and prev in ("li", "row") else "\n\n"
        out += line
        prev = kind
    return out


_SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or",
                "the", "to", "vs", "versus", "with", "without", "after", "before", "during", "be"}


def _looks_like_heading(line: str) -> bool:
    """Return True for a JSON-export paragraph that reads as a sub-heading (the markup is gone)."""
    if not line or line[0].isspace() or line.startswith("-") or "\n" in line.strip():
        return False
    text = line.strip()
    # debris of HTML the export cut in two ("5 cm\">", "For women 2|++OO)" after a lost "<60 (")
    if '">' in text or "<" in text or text.count("(") != text.count(")"):
        return False
    if len(text) > 120 or text[-1] in ".:;,|" or not (text[0].isupper() or text[0].isdigit()):
        return False
    words = re.findall(r"[A-Za-z][\w'’/-]*|\d[\w.-]*", text)
    if not words or len(words) > 14:
        return False
    content = [w for w in words if w.lower() not in _SMALL_WORDS]
    capitalised = sum(1 for w in content if w[0].isupper() or w[0].isdigit())
    return len(content) <= 2 or capitalised / len(content) >= 0.6


def _text_blocks(text: str) -> list[tuple[str, str]]:
    """Return (kind, text) blocks of a JSON-export field: "h" headings, "li" items, "p" paragraphs."""
    blocks = []
    for para in re.split(r"\n[ \t]*\n", text.replace("\r", "")):
        if not para.strip():
            continue
        if _looks_like_heading(para.rstrip()):
            blocks.append(("h", para.strip()))
        elif re.match(r"^\s*-\s", para) and "\n" not in para.strip():
            blocks.append(("li", re.sub(r"^\s*-\s+", "", para).strip()))
        else:
            tidy = _tidy(para)
            if tidy:
                blocks.append(("p", tidy))
    return blocks


# ---------------------------------------------------------------- HTML (XML FieldValue)

_HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCK_TAGS = {"p", "div", "table", "thead", "tbody", "tfoot", "ul", "ol", "blockquote", "dl", "dt", "dd",
               "center", "caption"} | _HEADING_TAGS
_EMPHASIS = {"strong", "b", "u"}


def _is_emphasis(el: etree._Element) -> bool:
    tag = el.tag.lower() if isinstance(el.tag, str) else ""
    return tag in _EMPHASIS or (tag == "span" and "underline" in (el.get("style") or ""))


def _all_emphasised(el: etree._Element) -> bool:
    """Return True when every word of `el` sits inside bold/underline markup (a run-in heading).

    An all-italic paragraph counts too when it is short and not a sentence ("<p><em>Variants 1-3:
    Primary Hepatic Malignancy</em></p>" in ACR summaries).
    """
    text = " ".join(el.text_content().split())
    if not text or len(text) > 200:
        return False
    italic_ok = len(text) <= 150 and not text.endswith(".")
    bare = copy.deepcopy(el)
    for e in list(bare.iter()):
        if e is bare or not isinstance(e.tag, str) or e.getparent() is None:
            continue
        if _is_emphasis(e) or (italic_ok and e.tag.lower() in ("em", "i")):
            e.drop_tree()  # keeps the tail text, removes the emphasised words
    return not re.search(r"\w", bare.text_content())


class _Renderer:
    """Turns an HTML fragment into (kind, text) blocks: h heading, p paragraph, li item, row table row."""

    def __init__(self) -> None:
        self.blocks: list[tuple[str, str]] = []
        self.buf: list[str] = []
        self.kind = "p"

    def flush(self) -> None:
        text = " ".join("".join(self.buf).split())
        self.buf = []
        if text:
            self.blocks.append((self.kind, text))
        self.kind = "p"

    def children(self, el: etree._Element) -> None:
        self.buf.append(el.text or "")
        for child in el:
            self.render(child)
            self.buf.append(child.tail or "")

    def render(self, el: etree._Element) -> None:
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if tag in ("", "script", "style"):
            return
        if tag == "br":
            kind = self.kind
            self.flush()
            self.kind = kind
        elif tag in _HEADING_TAGS or (tag in ("p", "div") and not el.xpath(".//p|.//div|.//table|.//li")
                                       and _all_emphasised(el)):
            self.flush()
            self.blocks.append(("h", " ".join(el.text_content().split())))
        elif tag == "li":
            self.flush()
            first = next(iter(el), None)
            nested = el.xpath("./ul|./ol")
            if (first is not None and nested and not (el.text or "").strip() and _is_emphasis(first)
                    and not (first.tail or "").strip()):
                # "<li><strong>Tumour Control</strong><ul>...": a list item used as a heading
                self.blocks.append(("h", " ".join(first.text_content().split())))
                for child in el[1:]:
                    self.render(child)
                return
            self.kind = "li"
            self.children(el)
            self.flush()
        elif tag == "tr":
            self.flush()
            cells = [" ".join(c.text_content().split()) for c in el if isinstance(c.tag, str)]
            cells = [c for c in cells if c]
            if cells:
                self.blocks.append(("row", " | ".join(cells)))
        elif tag in _BLOCK_TAGS:
            self.flush()
            self.children(el)
            self.flush()
        else:
            self.children(el)


def html_blocks(fragment: str) -> list[tuple[str, str]]:
    """Return the (kind, text) blocks of an NGC FieldValue HTML fragment (kinds h, p, li, row)."""
    root = html.fragment_fromstring(fragment, create_parent="div")
    r = _Renderer()
    r.render(root)
    r.flush()
    return r.blocks


def _html_to_text(fragment: str) -> str:
    """Return plain text of an HTML fragment: paragraphs split by blank lines, items as "- "."""
    if "<" not in fragment and "&" not in fragment:
        return fragment.strip()
    return _join([(("p" if k == "h" else k), t) for k, t in html_blocks(fragment)])


# ---------------------------------------------------------------- evidence grades

# Words that may surround a grade label inside a tag: "(Level of evidence: B)", "(Grade 1C)".
_FILLER = {"level", "levels", "grade", "grades", "graded", "class", "evidence", "recommendation",
           "recommendations", "quality", "strength", "of", "and", "the", "statement", "rating",
           "loe", "sor", "gor", "category", "for", "on"}
_LABEL_STOP = {"note", "notes", "source", "sources", "patients", "clinicians", "policy makers", "key",
               "table", "figure", "definitions", "definition", "reference", "references", "adapted from"}
_TOKEN = re.compile(r"\d+[A-Za-z](?![A-Za-z])|\d+|[A-Za-z]+")
_GRADE_SYMBOLS = re.compile(r"[+⊕●][+⊕●O○◯]{2,3}")
_DEFINITION_HEADING = re.compile(r"definition|key to|grad|levels? of evidence|strength of|rating scheme", re.I)
# NGC's intro sentence announcing the scale: "The levels of evidence (I-III) ... are defined at the
# end of the "Major Recommendations" field." Its brackets hold the scale, not grades.
_BOILERPLATE = re.compile(r"\b(?:defined|provided|given|found|described|listed|presented)\b.{0,80}"
                          r"\"Major Recommendations", re.I)
_EXPLICIT_GRADE = re.compile(r"^(?:grade|level|class|category|LoE|SOR|GoR)\s*[:=]?\s*(?:[0-9]{1,2}|[IVX]{1,4}|[A-D])"
                             r"(?:[a-dA-D]|[-+][0-9a-dA-D]?)?$", re.I)
_RANGE = re.compile(r"^(?:[IVX]+\s*[-–]\s*[IVX]+|[A-Z]\s*[-–]\s*[A-Z]|\d+\s*[-–]\s*\d+"
                    r"|\d[A-D]\s*[-–]\s*\d[A-D])$")
# GRADE's own wording, accepted inside a phrase that names recommendation/evidence/quality.
_GRADE_WORDS = {"strong", "weak", "conditional", "discretionary", "high", "moderate", "low", "very",
                "insufficient", "good", "fair", "poor", "ungraded", "not", "best", "practice", "consensus",
                "expert", "opinion"}
_TAG = re.compile(r"[(\[]([^()\[\]]{1,100})[)\]]")
_LABEL_LINE = re.compile(r"^\s*(?:-\s*)?([A-Za-z0-9][^:=|\n]{0,39}?)\s*(?::|=|\||\s[-–—]\s)")


def _scheme_labels(text: str) -> Iterator[str]:
    """Yield the labels a rating-scheme text defines (see `_scheme_vocabulary`)."""
    for para in re.split(r"\n[ \t]*\n", text):
        lines = [ln for ln in para.split("\n") if ln.strip()]
        if len(lines) > 1 and lines[-1].rstrip().endswith("|") and not lines[0].rstrip().endswith("|"):
            yield lines[0].strip()  # JSON export of a table row: first cell alone on its line
        for line in lines:
            m = _LABEL_LINE.match(line)
            if m:
                yield m.group(1).strip()
                continue
            short = re.fullmatch(r"\s*(?:-\s*)?([A-Z0-9][\w ()+-]{0,40})\s*", line)
            if short and len(short.group(1).split()) <= 4:
                yield short.group(1).strip()  # "- Strong recommendations", a heading-like class name


def _scheme_vocabulary(texts: list[str]) -> tuple[set[str], set[str], set[str]]:
    """Return (words, letters, numbers) that the rating schemes define as grade labels.

    A label is what a scheme line defines: "Grade A: ...", "II-2 = ...", "High | definition" (table
    row), "Category 1 - ...", or a short line naming a class ("- Strong recommendations").
    """
    words: set[str] = set()
    letters: set[str] = set()
    numbers: set[str] = set()
    for text in texts:
        for label in _scheme_labels(text):
            if not label or label.lower() in _LABEL_STOP or len(label.split()) > 5:
                continue
            for tok in _TOKEN.findall(label):
                if tok[0].isdigit():  # "2", "1a", "2C"
                    numbers.add(tok)
                elif len(tok) == 1:
                    if tok.isupper() or label == tok:  # not the "s" of "Patient's"
                        letters.add(tok)
                elif tok.lower() not in _FILLER and tok.lower() not in _SMALL_WORDS:
                    words.add(tok.lower())
    return words, letters, numbers


def _is_grade(content: str, vocab: tuple[set[str], set[str], set[str]]) -> bool:
    """Return True when a bracketed tag reads as an evidence grade under this guideline's scheme."""
    words, letters, numbers = vocab
    if _EXPLICIT_GRADE.match(content):  # "(Grade 2C)", "(Level A)": explicit whatever the scheme says
        return True
    if _RANGE.match(content) or len(re.split(r"[,;]|\bor\b|\band\b", content)) >= 3:
        return False  # "(I-III)", "(A, B, C, D, or I)": the scale being described, not a grade given
    symbols = bool(_GRADE_SYMBOLS.search(content))
    rest = _GRADE_SYMBOLS.sub(" ", content)
    tokens = _TOKEN.findall(rest) + re.findall(r"[^\sA-Za-z\d,;:/|()\-–.]", rest)
    grade_phrase = any(t.lower() in ("recommendation", "recommendations", "evidence", "quality") for t in tokens)
    hits = 1 if symbols else 0
    filler = 0
    for tok in tokens:
        low = tok.lower()
        if tok[0].isdigit():
            # "1C" is a grade if defined as such, or if "1" and "C" are each defined labels
            if tok not in numbers and not (tok[:-1] in numbers and tok[-1].upper() in letters):
                return False
            if not tok.isdigit():
                hits += 1
        elif tok.isalpha() and len(tok) == 1:
            if tok not in letters:
                return False
            hits += 1
        elif tok.isalpha() and (low in words or (grade_phrase and low in _GRADE_WORDS)):
            hits += 1
        elif tok.isalpha() and low in _FILLER:
            filler += 1
        else:
            return False
    # a bare number ("(2)") is a footnote or a count far more often than a grade
    return hits > 0 or (filler > 0 and bool(re.search(r"\d", rest)))


def extract_grades(blocks: list[tuple[str, str]], rating: dict, major_text: str) -> list[str]:
    """Return the distinct evidence-grade tags of Major Recommendations, in order of appearance.

    Grade labels are learnt per guideline from its Rating Scheme fields and from the definitions
    it appends to Major Recommendations; a bracketed tag counts when every token in it is such a
    label or a grading word ("(Level C)", "(II-2A)", "(Strong recommendation, low-quality
    evidence)", "(2|++OO)"). Tags in the definitions themselves and in NGC's boilerplate intro
    ("... are defined at the end of the Major Recommendations field") are not recommendations.
    """
    scheme_texts = [t for t in rating.values() if t]
    body: list[str] = []
    in_definitions = False
    for kind, text in blocks:
        if kind == "h":
            in_definitions = bool(_DEFINITION_HEADING.search(text))
            continue
        if in_definitions:
            scheme_texts.append(text)
        elif not _BOILERPLATE.search(text):
            body.append(text)
    if not blocks and major_text:
        body.append(major_text)
    vocab = _scheme_vocabulary(scheme_texts)  # may be empty: explicit and GRADE-worded tags still count
    found: dict[str, None] = {}
    for text in body:
        for m in _TAG.finditer(text):
            content = " ".join(m.group(1).split())
            if content and _is_grade(content, vocab):
                found.setdefault(content, None)
    return list(found)
