"""Reader for DailyMed Structured Product Labels (HL7 v3 SPL XML, namespace `urn:hl7-org:v3`).

One `Document` per label, id ``spl:<setId>`` (the same id the openFDA JSON reader gives the same
label, so both sources collapse into one document). Sections follow the label's LOINC-coded
top-level sections. Subsections are merged into their parent's text (their numbered titles such
as "2.1 Recommended Dosage" become lines of it) unless they carry a LOINC code of their own
("8.1 Pregnancy", "12.1 Mechanism of Action", OTC "Do not use"...): those become their own
`Section` named "Parent > Child", so every passage stays inside one coded section and no text is
held twice. Tables are flattened to rows of " | "-separated cells.

Also accepts a `.zip` holding SPL XML files (a DailyMed label download) or zips of them (the
DailyMed bulk release).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from medcite.ingest.inflate import InflateLimitError, Meter, archive_meter, read_member
from medcite.ingest.spl_sections import SECTION_NAMES
from medcite.records import Document, DrugName, RecordError, Section

FORMAT = "spl_xml"
HL7 = "urn:hl7-org:v3"
DAILYMED_URL = "https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid={}"

UNCLASSIFIED = "42229-5"
BOXED_WARNING = "34066-1"
# Top-level sections that hold product listing data, carton images or indexing, not label text.
SKIP_SECTIONS = {"48780-1", "51945-4", "48779-3"}
# Elements whose content is not label prose (images, product data, ids).
_SKIP_TAGS = {"renderMultiMedia", "observationMedia", "subject", "id", "code", "effectiveTime"}
_BLOCK_TAGS = {"paragraph", "caption", "item", "list", "title", "footnote", "p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4"}
_TITLE_BOILERPLATE = re.compile(
    r"highlights do not include|see full prescribing information|initial u\.?\s?s\.? approval",
    re.IGNORECASE,
)
_GENERIC_TITLES = {"drug facts", "prescribing information", "full prescribing information"}
_SPL_HEAD = re.compile(rb"<document\b[^>]*urn:hl7-org:v3", re.DOTALL)


def _local(el: etree._Element) -> str:
    """Return the tag name without namespace ('' for comments and processing instructions)."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _norm(text: str) -> str:
    return " ".join(text.split())


def _children(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el if _local(c) == name]


def _child(el: etree._Element | None, *path: str) -> etree._Element | None:
    for name in path:
        if el is None:
            return None
        el = next((c for c in el if _local(c) == name), None)
    return el


# ---------------------------------------------------------------- text flattening


def table_text(table: etree._Element) -> str:
    """Return a table as text: the caption, then one line per row with cells joined by " | ".

    Works on SPL `<table>` elements and on the HTML tables of openFDA `*_table` fields.
    Header rows come first and footer rows (footnotes in SPL) last, whatever their order in
    the markup.
    """
    caption = _child(table, "caption")
    lines = [_norm("".join(caption.itertext()))] if caption is not None else []
    groups: dict[str, list[etree._Element]] = {"thead": [], "tbody": [], "tfoot": []}
    for child in table:
        name = _local(child).lower()
        if name in groups:
            groups[name].extend(r for r in child if _local(r).lower() == "tr")
        elif name == "tr":
            groups["tbody"].append(child)
    for row in groups["thead"] + groups["tbody"] + groups["tfoot"]:
        cells = [_norm(" ".join(c.itertext())) for c in row if _local(c).lower() in ("td", "th")]
        if any(cells):
            lines.append(" | ".join(cells))
    return "\n".join(line for line in lines if line)


def html_table_text(html: str) -> str:
    """Return the text of one openFDA `*_table` HTML string (see `table_text`); '' if unparsable."""
    try:
        # lxml.html's element classes make it several times slower; the plain HTML parser will do.
        root = etree.fromstring(html, etree.HTMLParser(remove_comments=True, no_network=True))
    except (etree.ParserError, ValueError):
        return ""
    if root is None:
        return ""
    return "\n\n".join(t for t in (table_text(t) for t in root.iter("table")) if t)


class _Blocks:
    """Collects the text of an element tree as blocks (paragraphs, list items, tables)."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self._line: list[str] = []
        self._bullet = False  # a list item started: prefix its first non-empty line with "- "

    def flush(self) -> None:
        text = _norm("".join(self._line))
        if text:
            self.blocks.append(f"- {text}" if self._bullet else text)
            self._bullet = False
        self._line = []

    def add_text(self, text: str | None) -> None:
        if text:
            self._line.append(text)

    def add_block(self, text: str) -> None:
        self.flush()
        if text.strip():
            self.blocks.append(text.strip())

    def walk(self, el: etree._Element) -> None:
        """Add the text of `el` (not its tail)."""
        name = _local(el)
        if not name or name in _SKIP_TAGS:
            return
        if name == "table":
            self.add_block(table_text(el))
            return
        if name == "br":
            self.flush()
            return
        block = name in _BLOCK_TAGS
        if block:
            self.flush()
            if name == "item":
                self._bullet = True
        self.add_text(el.text)
        for child in el:
            self.walk(child)
            self.add_text(child.tail)
        if block:
            self.flush()


def element_text(el: etree._Element) -> str:
    """Return the plain text of an SPL element: blocks separated by blank lines, tables flattened."""
    blocks = _Blocks()
    blocks.walk(el)
    blocks.flush()
    return "\n\n".join(blocks.blocks)


# ---------------------------------------------------------------- sections


def _code(section: etree._Element) -> tuple[str | None, str | None]:
    code = _child(section, "code")
    if code is None:
        return None, None
    return code.get("code") or None, code.get("displayName") or None


def _title(section: etree._Element) -> str:
    title = _child(section, "title")
    return _norm(" ".join(title.itertext())) if title is not None else ""


def _top_name(code: str | None, display: str | None, title: str) -> str:
    if code in SECTION_NAMES and code != UNCLASSIFIED:
        return SECTION_NAMES[code]
    if title:
        return title
    if code in SECTION_NAMES:
        return SECTION_NAMES[code]
    if display:
        return re.sub(r"\s+SECTION$", "", display, flags=re.IGNORECASE).title()
    return "Unclassified"


def _own_section(sub: etree._Element, parent_code: str | None) -> bool:
    """Whether a subsection becomes its own Section rather than part of its parent's text.

    Only titled subsections with a real LOINC code of their own split off. Unclassified
    subsections ("2.1 Recommended Dosage") stay in the parent's text; "Boxed Warning" codes on
    untitled subsections are used by some labels merely to draw a box around dosing text, so
    they never split off (that text would otherwise pose as a boxed warning).
    """
    code, _ = _code(sub)
    return bool(code and code not in (UNCLASSIFIED, BOXED_WARNING) and code != parent_code and _title(sub))


def _collect(section: etree._Element, name: str, code: str | None, out: list[Section]) -> None:
    """Append the Section for `section` (and any coded subsections after it) to `out`."""
    blocks = _Blocks()
    split: list[etree._Element] = []

    def walk_section(sec: etree._Element) -> None:
        title = _child(sec, "title")
        if title is not None:
            blocks.add_block(_norm(" ".join(title.itertext())))
        for child in sec:
            lname = _local(child)
            if lname == "title":
                continue
            if lname == "component":
                sub = _child(child, "section")
                if sub is None:
                    continue
                if _own_section(sub, code):
                    split.append(sub)
                else:
                    walk_section(sub)
            else:
                blocks.walk(child)
        blocks.flush()

    walk_section(section)
    text = "\n\n".join(blocks.blocks)
    # A section holding nothing but its heading adds no evidence: drop it.
    if text and text != _title(section):
        out.append(Section(name=name, text=text, code=code))
    for sub in split:
        sub_code, _ = _code(sub)
        _collect(sub, f"{name} > {_title(sub)}", sub_code, out)


def label_sections(doc: etree._Element) -> list[Section]:
    """Return the label text sections of an SPL `<document>` in document order."""
    body = _child(doc, "component", "structuredBody")
    out: list[Section] = []
    if body is None:
        return out
    for comp in _children(body, "component"):
        section = _child(comp, "section")
        if section is None:
            continue
        code, display = _code(section)
        if code in SKIP_SECTIONS:
            continue
        _collect(section, _top_name(code, display, _title(section)), code, out)
    return out


# ---------------------------------------------------------------- products and metadata


def _products(doc: etree._Element) -> list[dict]:
    """Return one dict per manufactured product: brand, generic, substances, uniis, route, appl."""
    products = []
    for el in doc.iter(f"{{{HL7}}}manufacturedProduct", f"{{{HL7}}}manufacturedMedicine"):
        name = _child(el, "name")
        if name is None:
            continue
        generic = _child(el, "asEntityWithGeneric", "genericMedicine", "name")
        substances, uniis = [], []
        for ing in _children(el, "ingredient"):
            if not (ing.get("classCode") or "").startswith("ACT"):
                continue
            sub = _child(ing, "ingredientSubstance")
            sub_name = _child(sub, "name")
            if sub_name is not None:
                substances.append(_norm(" ".join(sub_name.itertext())))
            unii = _child(sub, "code")
            if unii is not None and unii.get("code"):
                uniis.append(unii.get("code"))
        outer = el.getparent() if el.getparent() is not None else el  # routes, approvals live here
        routes = [r.get("displayName") for r in outer.iter(f"{{{HL7}}}routeCode") if r.get("displayName")]
        approval_ids = [_child(a, "id") for a in outer.iter(f"{{{HL7}}}approval")]
        appls = [i.get("extension") for i in approval_ids if i is not None and i.get("extension")]
        products.append(
            {
                "brand": _norm(" ".join(name.itertext())),
                "generic": _norm(" ".join(generic.itertext())) if generic is not None else "",
                "substances": substances,
                "uniis": uniis,
                "routes": routes,
                "applications": appls,
            }
        )
    return products


def _unique(values) -> list[str]:
    seen: dict[str, str] = {}
    for v in values:
        if v and v.lower() not in seen:
            seen[v.lower()] = v
    return list(seen.values())


def _doc_title(doc: etree._Element) -> str:
    """Return the document title without the Highlights boilerplate lines ('' if none left)."""
    title = _child(doc, "title")
    if title is None:
        return ""
    blocks = _Blocks()
    blocks.walk(title)
    blocks.flush()
    for line in blocks.blocks:
        if not _TITLE_BOILERPLATE.search(line) and line.lower() not in _GENERIC_TITLES:
            return line
    return ""


def _date(value: str | None) -> str | None:
    if value and re.match(r"\d{8}", value):
        return f"{value[:4]}-{value[4:6]}-{value[6:8]}"
    return None


def parse_spl(data: bytes, source: str) -> Iterator[Document | DrugName | RecordError]:
    """Parse one SPL XML payload; yield its Document and DrugNames, or one RecordError."""
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, huge_tree=True))
    except etree.XMLSyntaxError as exc:
        yield RecordError(source, None, f"not well-formed XML ({exc}); is this an SPL file?")
        return
    if root.tag != f"{{{HL7}}}document":
        yield RecordError(source, None, f"not an SPL document (root element <{_local(root)}>)")
        return
    set_el = _child(root, "setId")
    set_id = set_el.get("root") if set_el is not None else None
    if not set_id:
        yield RecordError(source, None, "SPL document has no setId/@root")
        return
    doc_code, doc_display = _code(root)
    sections = label_sections(root)
    if "indexing" in (doc_display or "").lower() or not sections:
        what = "indexing document" if "indexing" in (doc_display or "").lower() else "no label sections"
        yield RecordError(source, set_id, f"not a drug label ({what}, document code {doc_code}); skipped")
        return

    products = _products(root)
    brands = _unique(p["brand"] for p in products)
    generics = _unique(p["generic"] for p in products)
    substances = _unique(s for p in products for s in p["substances"])
    title = _doc_title(root)
    if not title and brands:
        title = f"{brands[0]} ({generics[0].lower()})" if generics else brands[0]
    version_el = _child(root, "versionNumber")
    time_el = _child(root, "effectiveTime")
    id_el = _child(root, "id")
    effective = time_el.get("value") if time_el is not None else None
    org = _child(root, "author", "assignedEntity", "representedOrganization", "name")
    raw_title = _child(root, "title")
    meta = {
        "set_id": set_id,
        "spl_id": id_el.get("root") if id_el is not None else None,
        "version": version_el.get("value") if version_el is not None else None,
        "effective_time": effective,
        "generic_names": generics,
        "brand_names": brands,
        "substance_names": substances,
        "routes": _unique(r for p in products for r in p["routes"]),
        "rxcui": [],
        "unii": _unique(u for p in products for u in p["uniis"]),
        "application_numbers": _unique(a for p in products for a in p["applications"]),
        "manufacturer": _norm(org.text or "") if org is not None else None,
        # openFDA says "HUMAN PRESCRIPTION DRUG" where the SPL code says "... DRUG LABEL".
        "product_type": re.sub(r"\s+LABEL$", "", doc_display or "", flags=re.IGNORECASE) or None,
        "document_title": _norm(" ".join(raw_title.itertext())) if raw_title is not None else "",
    }
    yield Document(
        doc_id=f"spl:{set_id}",
        tier="label",
        source_kind=FORMAT,
        source_id=set_id,
        title=title or f"SPL {set_id}",
        sections=sections,
        date=_date(effective),
        url=DAILYMED_URL.format(set_id),
        version=meta["version"],
        meta=meta,
        source_file=source,
    )
    yield from label_drug_names(generics, brands, substances)


def label_drug_names(generics: list[str], brands: list[str], substances: list[str]) -> Iterator[DrugName]:
    """Return DrugName entries of one label: generic, brand and substance names -> the generic.

    With one generic name every name resolves to it; a combination label's brand resolves to
    each of its generic names. A substance name resolves to the generic when the label has one
    generic and one substance, otherwise to itself (which substance belongs to which generic of
    a combination is not stated).
    """
    lowered = [g.lower() for g in generics]
    single = len(lowered) == 1 and len(substances) == 1
    for g in generics:
        yield DrugName(name=g, generic=g.lower(), kind="generic", source="labels")
    for b in brands:
        if b.lower() in lowered:
            continue
        for g in lowered:
            yield DrugName(name=b, generic=g, kind="brand", source="labels")
    for s in substances:
        if s.lower() in lowered:
            continue
        target = lowered[0] if single else s.lower()
        kind = "generic" if target == s.lower() else "synonym"
        yield DrugName(name=s, generic=target, kind=kind, source="labels")


# ---------------------------------------------------------------- files


def _zip_members(zf: zipfile.ZipFile, prefix: str, meter: Meter) -> Iterator[tuple[str, bytes]]:
    # every member, nested zips included, is inflated under the archive's limits (ingest/inflate.py)
    for info in zf.infolist():
        lower = info.filename.lower()
        if lower.endswith(".xml"):
            yield f"{prefix}!{info.filename}", read_member(zf, info, meter)
        elif lower.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(read_member(zf, info, meter))) as inner:
                yield from _zip_members(inner, f"{prefix}!{info.filename}", meter)


def _is_spl_head(head: bytes) -> bool:
    return bool(_SPL_HEAD.search(head))


def sniff(path: Path) -> bool:
    """Return True if `path` is SPL XML (an `.xml` whose first 4 KB show an HL7 v3 <document>),
    or a `.zip` whose first XML member is."""
    path = Path(path)
    name = path.name.lower()
    try:
        if name.endswith(".xml"):
            with open(path, "rb") as fh:
                return _is_spl_head(fh.read(4096))
        if name.endswith(".zip") and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist()[:50]:
                    lower = info.filename.lower()
                    if lower.endswith(".xml"):
                        with zf.open(info) as fh:
                            return _is_spl_head(fh.read(4096))
                    if lower.endswith(".zip"):  # DailyMed bulk: a zip of per-label zips
                        with zipfile.ZipFile(io.BytesIO(read_member(zf, info, archive_meter(path)))) as inner:
                            xml = [i for i in inner.infolist() if i.filename.lower().endswith(".xml")]
                            if not xml:
                                return False
                            with inner.open(xml[0]) as fh:
                                return _is_spl_head(fh.read(4096))
    except (OSError, zipfile.BadZipFile, InflateLimitError):
        return False
    return False


def read(path: Path) -> Iterator[Document | DrugName | RecordError]:
    """Yield one Document (plus its DrugNames) per SPL label in `path` (.xml or .zip), and a
    RecordError for each file or member that is not a readable drug label."""
    path = Path(path)
    source = str(path)
    if path.name.lower().endswith(".zip"):
        try:
            with zipfile.ZipFile(path) as zf:
                for member, data in _zip_members(zf, source, archive_meter(path)):
                    yield from parse_spl(data, member)
        except (OSError, zipfile.BadZipFile) as exc:
            yield RecordError(source, None, f"cannot read zip archive: {exc}")
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield RecordError(source, None, f"cannot read file: {exc}")
        return
    yield from parse_spl(data, source)
