"""Reader for NCI cancer drug pages (cancer.gov "Drug Information" pages scraped to markdown with
YAML front-matter): `about-cancer-treatment-drugs-<slug>.md`.

One guideline-tier `Document` per page, id ``ncidrug:<slug>``, one `Section` per markdown
heading (the text before the first "##" heading is the page's overview). Drug names:
- a single-drug page gives its generic name (the page title) and the names listed under
  "US Brand Name(s)";
- a "Drugs Approved for <cancer>" page gives each listed "Brand (Generic)" pair.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from medcite.records import Document, DrugName, RecordError, Section

FORMAT = "nci_drug_md"
_PREFIX = "about-cancer-treatment-drugs-"
_HEADING = re.compile(r"^(#{1,6})\s*(.*?)\s*#*\s*$")
_LINK = re.compile(r"\[([^\[\]]*)\]\([^)\s]*\)")
_BRAND_PAIR = re.compile(
    r"^\s*(?:[-*]\s+)?\[([^\[\]()]+?)\s+\(([^()\[\]]+)\)\]"
    r"\((?:https?://www\.cancer\.gov)?/about-cancer/treatment/drugs/[^)\s]+\)\s*$"
)
# Scraper artefacts that are not page content.
_NOISE = {"placeholder slot"}


def parse_front_matter(text: str) -> tuple[dict[str, object], str]:
    """Return (front-matter fields, body) of a markdown page. Handles the flat `key: value` and
    `key:` + `- item` block lists these pages use; a page without front-matter gives ({}, text)."""
    if not text.startswith("---"):
        return {}, text
    end = re.search(r"^---\s*$", text[3:], re.MULTILINE)
    if not end:
        return {}, text
    block, body = text[3 : 3 + end.start()], text[3 + end.end() :]
    fields: dict[str, object] = {}
    key = None
    for line in block.splitlines():
        if not line.strip():
            continue
        item = re.match(r"^\s*-\s+(.*)$", line)
        if item and key is not None:
            value = fields.get(key)
            fields[key] = (value if isinstance(value, list) else []) + [_scalar(item.group(1))]
            continue
        pair = re.match(r"^([A-Za-z_][\w-]*):\s*(.*)$", line)
        if pair:
            key = pair.group(1)
            fields[key] = _scalar(pair.group(2)) if pair.group(2).strip() else []
    return fields, body


def _scalar(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return value


def _clean_line(line: str) -> str:
    line = _LINK.sub(r"\1", line)
    line = line.replace("**", "").replace("__", "")
    return " ".join(line.split())


def _markdown_text(lines: list[str]) -> str:
    """Return plain text: hard-wrapped lines joined into paragraphs, list items and table rows
    on their own lines, links reduced to their text."""
    paragraphs: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            paragraphs.append(" ".join(current))
            current.clear()

    for raw in lines:
        line = raw.strip()
        if not line:
            flush()
            continue
        if line.startswith("|"):
            flush()
            cells = [_clean_line(c) for c in line.strip("|").split("|")]
            if all(re.fullmatch(r":?-{3,}:?", c) or not c for c in cells):
                continue  # header separator or empty header row
            paragraphs.append(" | ".join(c for c in cells if c))
            continue
        text = _clean_line(line)
        if not text or text.lower() in _NOISE:
            continue
        if re.match(r"^([-*+]|\d+\.)\s", line):
            flush()
            current.append("- " + _clean_line(re.sub(r"^([-*+]|\d+\.)\s+", "", line)))
            continue
        current.append(text)
    flush()
    return "\n\n".join(p for p in paragraphs if p)


def _sections(body: str, title: str) -> list[Section]:
    """Split the body at headings; an empty "##" takes the next non-empty line as its text."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    name, lines = title, []
    raw = body.splitlines()
    i = 0

    def close() -> None:
        text = _markdown_text(lines)
        if text:
            code = re.sub(r"[^a-z0-9]+", "_", name.split(" > ")[-1].lower()).strip("_") or None
            sections.append(Section(name=name, text=text, code=code))

    while i < len(raw):
        m = _HEADING.match(raw[i])
        if not m:
            lines.append(raw[i])
            i += 1
            continue
        level, heading = len(m.group(1)), _clean_line(m.group(2))
        i += 1
        if not heading:  # "##" then a blank line then the heading text
            while i < len(raw) and not raw[i].strip():
                i += 1
            if i < len(raw) and not _HEADING.match(raw[i]):
                heading = _clean_line(raw[i])
                i += 1
        if level == 1:
            continue  # the page title, repeated ("X - NCI", "X"): the overview keeps going
        close()
        path[:] = [(lv, h) for lv, h in path if lv < level] + [(level, heading or "Untitled")]
        name, lines = " > ".join(h for _, h in path), []
    close()
    return sections


def _brand_block(body: str) -> list[str] | None:
    """Return the names under "US Brand Name(s)" (up to "FDA Approved"), or None if absent."""
    lines = body.splitlines()
    for i, line in enumerate(lines):
        if line.strip().lower() == "us brand name(s)":
            names = []
            for nxt in lines[i + 1 :]:
                text = nxt.strip()
                if text.lower().startswith("fda approved") or text.startswith(("#", "[")):
                    break
                if text:
                    names.append(_clean_line(text))
            return names
    return None


def drug_names(body: str, generic_title: str, source: str = "nci") -> Iterator[DrugName]:
    """Return the DrugName entries a page states: generic + US brand names of a single-drug page,
    or the "Brand (Generic)" pairs of a "Drugs Approved for ..." list page."""
    seen: set[tuple[str, str, str]] = set()

    def entry(name: str, generic: str, kind: str) -> Iterator[DrugName]:
        key = (name.lower(), generic, kind)
        if name and generic and key not in seen:
            seen.add(key)
            yield DrugName(name=name, generic=generic, kind=kind, source=source)

    brands = _brand_block(body)
    single_drug = brands is not None or re.search(r"^FDA Approved\s*$", body, re.MULTILINE)
    if single_drug and generic_title:
        generic = generic_title.lower()
        yield from entry(generic_title, generic, "generic")
        for brand in brands or []:
            yield from entry(brand, generic, "brand")
    for line in body.splitlines():
        m = _BRAND_PAIR.match(line)
        if m:
            brand, generic = " ".join(m.group(1).split()), " ".join(m.group(2).split())
            yield from entry(generic, generic.lower(), "generic")
            yield from entry(brand, generic.lower(), "brand")


def read(path: Path) -> Iterator[Document | DrugName | RecordError]:
    """Yield the page's Document and its DrugNames, or a RecordError if it cannot be read."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        yield RecordError(source, None, f"cannot read page: {exc}")
        return
    fields, body = parse_front_matter(text)
    stem = path.name[: -len(".md")] if path.name.endswith(".md") else path.stem
    slug = stem[len(_PREFIX) :] if stem.startswith(_PREFIX) else stem
    title = str(fields.get("title") or "").strip()
    if not title:
        m = re.search(r"^#\s+(.+)$", body, re.MULTILINE)
        title = m.group(1).strip() if m else ""
    if not title:
        yield RecordError(source, slug, "page has no title (front-matter `title:` or a '# ' heading)")
        return
    name = re.sub(r"\s+-\s+NCI$", "", title)
    sections = _sections(body, name)
    if not sections:
        yield RecordError(source, slug, "page has no text")
        return
    brands = _brand_block(body) or []
    cancer_types = fields.get("cancerTypes")
    yield Document(
        doc_id=f"ncidrug:{slug}",
        tier="guideline",
        source_kind=FORMAT,
        source_id=slug,
        title=title,
        sections=sections,
        # lastReviewed is the scrape date, not NCI's update date: kept in meta, not as `date`.
        date=None,
        url=str(fields.get("url") or "") or None,
        meta={
            "developer": "National Cancer Institute",
            "brand_names": brands,
            "cancer_types": cancer_types if isinstance(cancer_types, list) else [],
            "license": fields.get("license"),
            "last_reviewed_scrape": fields.get("lastReviewed"),
            "audience": fields.get("audienceLevel"),
        },
        source_file=source,
    )
    yield from drug_names(body, name)


def sniff(path: Path) -> bool:
    """Return True for a markdown NCI drug page: `.md` whose front-matter has a cancer.gov
    `/about-cancer/treatment/drugs/` url."""
    path = Path(path)
    if path.suffix.lower() != ".md":
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096).decode("utf-8", errors="replace")
    except OSError:
        return False
    return head.startswith("---") and bool(
        re.search(r"^url:\s*['\"]?https?://www\.cancer\.gov/about-cancer/treatment/drugs/", head, re.MULTILINE)
    )
