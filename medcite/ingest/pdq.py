"""Reader for NCI PDQ Health Professional summaries as markdown with YAML front matter.

One Document per file: doc_id ``pdq:<file name without .md>``, tier guideline. Sections follow the
heading path below the title ("Treatment of Gastrinoma > Current Clinical Trials"); markdown
links are reduced to their text, tables to one line per row (cells joined by " | "), images dropped.

Evidence and citations stay usable:
- "[Level of evidence B1]" tags stay in the text and are collected per section in
  meta["evidence_levels"] = {section name: [levels]}.
- Reference lists ("###### References" under each top-level section) are not indexed. PDQ numbers
  references per top-level section (anchor ``#cit/section_4.14`` = reference 14 of section 4), so
  each entry of meta["references"] is {n, key, section, text, pmid} with key "4.14", and
  meta["section_refs"] = {section name: [keys cited]} resolves an in-text "[14]" of a section
  (its Section.code is "section_4") to its reference and PMID.
- "About This PDQ Summary" and "Latest Updates to This Summary" are boilerplate / change log and
  are not indexed; the update date becomes the document date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from medcite.records import Document, RecordError, Section

FORMAT = "pdq_md"
_SNIFF_BYTES = 2048
# boilerplate, change log, and "Key References" (a bibliography repeating cited references)
_SKIPPED_TOP = ("About This PDQ Summary", "Latest Updates to This Summary", "Key References")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_CIT = re.compile(r"#cit/section_(\d+)\.(\d+)")
_CIT_RANGE = re.compile(r"\[(\d+)\]\(#cit/section_(\d+)\.(\d+)\)\s*[-–]\s*\[(\d+)\]\(#cit/section_(\d+)\.(\d+)\)")
# link text may hold one level of brackets: "[[Level of evidence: IV]](...)", "[TNF [TNF]](...)"
_LINK = re.compile(r'\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+"[^"]*")?\)')
_IMAGE = re.compile(r'!\[[^\]]*\]\([^)]*\)')
_ENLARGE = re.compile(r'\[Enlarge\]\([^)]*\)')
_PUBMED_LINK = re.compile(r'\[\[PUBMED Abstract\]\]\([^)]*\)|\[\[PUBMED Abstract\]\([^)]*\)\]')
_PMID = re.compile(r"list_uids=(\d+)|pubmed\.ncbi\.nlm\.nih\.gov/(\d+)|ncbi\.nlm\.nih\.gov/pubmed/(\d+)")
_LEVEL = re.compile(r"\[Level of evidence:?\s*([^\[\]]+)\]", re.I)
_LEVEL_CODE = re.compile(r"\b(?:[A-D][1-4]?|IV|I{1,3}|\d[iv]*[A-D][iv]*)\b")
_REF_LINE = re.compile(r"^\s*(\d+)\.\s+(.*)$")
_TABLE_RULE = re.compile(r"^\|(?:\s*:?-{3,}:?\s*\|)+\s*$")


def sniff(path: Path) -> bool:
    """Return True for a PDQ HP summary: .md with front matter naming a cancer.gov /hp/ page and PDQ."""
    if path.suffix.lower() != ".md":
        return False
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES).decode("utf-8", "replace")
    if not head.startswith("---"):
        return False
    # HP pages live under /hp/ or end in -hp-pdq; two lack the "-pdq" suffix, so the title / tag
    # must say PDQ as well (the NCI drug pages have neither)
    return bool(re.search(r"(?m)^url:\s*https?://www\.cancer\.gov/\S*(?:/hp/|-hp-pdq\s*$)", head)) and bool(
        re.search(r"(?m)^title:.*\bPDQ\b|^- pdq\s*$", head))


def read(path: Path) -> Iterator[Document | RecordError]:
    """Yield the Document of one PDQ markdown file, or one RecordError if it cannot be read."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        yield parse_pdq_markdown(text, path.name[:-3] if path.name.endswith(".md") else path.stem, source)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        yield RecordError(source, None, str(exc))


def front_matter(text: str) -> tuple[dict, str]:
    """Return (fields, body) of a markdown text with a simple YAML front matter (keys, scalar lists)."""
    if not text.startswith("---"):
        return {}, text
    end = text.find("\n---", 3)
    if end < 0:
        raise ValueError("front matter opened with --- but never closed")
    fields: dict = {}
    key = None
    for line in text[3:end].split("\n"):
        item = re.match(r"^\s*-\s+(.*)$", line)
        if item and key:
            if not isinstance(fields.get(key), list):
                fields[key] = []
            fields[key].append(item.group(1).strip().strip("'\""))
            continue
        m = re.match(r"^([A-Za-z_][\w-]*):\s*(.*)$", line)
        if m:
            key, value = m.group(1), m.group(2).strip().strip("'\"")
            fields[key] = value
    return fields, text[end + 4:].lstrip("\n")


def parse_pdq_markdown(text: str, slug: str, source: str) -> Document:
    """Return the Document for one PDQ summary's markdown text (see the module docstring)."""
    fields, body = front_matter(text)
    title = re.sub(r"\s+-\s+NCI$", "", fields.get("title") or "").strip()
    raw_sections: list[tuple[str, int, list[str]]] = []  # (heading path, top ordinal, lines)
    references: list[dict] = []
    stack: list[tuple[int, str]] = []
    top = 0
    mode = "text"  # text | refs | skip
    updated = summary_pmid = None
    for line in body.split("\n"):
        h = _HEADING.match(line)
        if h:
            level, heading = len(h.group(1)), _inline(h.group(2))
            if level == 1:
                title = title or heading
                continue
            if level == 2:
                top += 1  # PDQ's citation anchors count every top-level section
                stack = []
                m = re.match(r"Latest Updates to This Summary \((\d\d)/(\d\d)/(\d{4})\)", heading)
                if m:
                    updated = f"{m.group(3)}-{m.group(1)}-{m.group(2)}"
                if heading.startswith(_SKIPPED_TOP):
                    mode = "skip"
                    continue
            elif mode == "skip":
                continue
            if heading.lower() == "references":
                mode = "refs"
                continue
            mode = "text"
            stack = [(lv, t) for lv, t in stack if lv < level] + [(level, heading)]
            raw_sections.append((" > ".join(t for _, t in stack), top, []))
            continue
        if mode == "skip":
            pm = re.search(r"\[PMID:\s*(\d+)\]", line)
            summary_pmid = summary_pmid or (pm.group(1) if pm else None)
        elif mode == "refs":
            _add_reference(references, line, top, raw_sections)
        elif raw_sections:
            raw_sections[-1][2].append(line)
        elif line.strip():  # text before the first section heading: give it the title's name
            raw_sections.append((title or slug, top, [line]))

    _finish_references(references)
    sections: list[Section] = []
    evidence_levels: dict[str, list[str]] = {}
    section_refs: dict[str, list[str]] = {}
    for name, ordinal, lines in raw_sections:
        raw = "\n".join(lines)
        refs = _cited_keys(raw)
        text = clean_markdown(raw)
        if not text:
            continue
        levels = _levels(text)
        if name in {s.name for s in sections}:  # a repeated heading path: keep both, tell them apart
            name = f"{name} ({sum(1 for s in sections if s.name.startswith(name)) + 1})"
        sections.append(Section(name=name, text=text, code=f"section_{ordinal}" if ordinal else None))
        if levels:
            evidence_levels[name] = levels
        if refs:
            section_refs[name] = refs
    if not title:
        raise ValueError("no title (front matter title or # heading)")
    if not sections:
        raise ValueError("no text sections found under the headings")
    meta = {
        "evidence_levels": evidence_levels,
        "references": references,
        "section_refs": section_refs,
        "pmids": sorted({r["pmid"] for r in references if r["pmid"]}, key=int),
        "source": fields.get("source"),
        "license": fields.get("license"),
        # the scrape/review date of the markdown conversion, not NCI's update date
        "last_reviewed": fields.get("lastReviewed"),
        "updated": updated,
        "summary_pmid": summary_pmid,
    }
    return Document(
        doc_id=f"pdq:{slug}",
        tier="guideline",
        source_kind=FORMAT,
        source_id=slug,
        title=title,
        sections=sections,
        date=updated,
        url=fields.get("url"),
        meta=meta,
        source_file=source,
    )


def _add_reference(references: list[dict], line: str, top: int, raw_sections: list) -> None:
    """Add a numbered reference line (or a wrapped continuation) as raw markdown; see `_finish_references`."""
    m = _REF_LINE.match(line)
    if m:
        section = raw_sections[-1][0].split(" > ")[0] if raw_sections else None
        references.append({"n": int(m.group(1)), "key": f"{top}.{m.group(1)}", "section": section,
                           "text": m.group(2), "pmid": None})
    elif line.strip() and references:  # a reference wrapped over two lines
        references[-1]["text"] += " " + line.strip()


def _finish_references(references: list[dict]) -> None:
    """Turn each reference's raw markdown into plain text and take its PMID from the PubMed link."""
    for ref in references:
        pmid = _PMID.search(ref["text"])
        ref["pmid"] = next(g for g in pmid.groups() if g) if pmid else None
        ref["text"] = clean_markdown(_PUBMED_LINK.sub("", ref["text"])).strip()


def _cited_keys(raw: str) -> list[str]:
    """Return the reference keys ("4.14") a section's raw markdown cites, ranges expanded, in order."""
    keys: dict[str, None] = {}
    for m in _CIT_RANGE.finditer(raw):
        sec, lo, hi = m.group(2), int(m.group(3)), int(m.group(6))
        if m.group(5) == sec and lo <= hi <= lo + 200:  # "[5-7]" means 5, 6 and 7
            for n in range(lo, hi + 1):
                keys.setdefault(f"{sec}.{n}", None)
    for m in _CIT.finditer(raw):
        keys.setdefault(f"{m.group(1)}.{m.group(2)}", None)
    return sorted(keys, key=lambda k: tuple(int(x) for x in k.split(".")))


def _levels(text: str) -> list[str]:
    """Return the distinct levels of evidence tagged in cleaned text ("C3", "1iiA"), in order."""
    found: dict[str, None] = {}
    for m in _LEVEL.finditer(text):
        for part in re.split(r",|\band\b", m.group(1)):
            # the code only: "B1 based on PFS" -> B1; PDQ treatment (A1-D) and CAM/supportive (I-IV,
            # 1iiA) scales; free text such as "as noted above" is not a level
            code = _LEVEL_CODE.search(part)
            if code:
                found.setdefault(code.group(0), None)
    return list(found)


def _inline(text: str) -> str:
    """Return one line of markdown as plain text: links to their text, emphasis and escapes removed."""
    text = _ENLARGE.sub("", text)
    text = _IMAGE.sub("", text)
    prev = None
    while prev != text:  # nested links: "[[12](#cit/...)]", "[Level of evidence [A1](...) and ...]"
        prev = text
        text = _LINK.sub(r"\1", text)
    text = text.replace("\\*", "\x00").replace("\\_", "\x01")
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text)
    text = re.sub(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])", r"\1", text)
    text = re.sub(r"\\([\\`_{}\[\]()#+\-.!|<>])", r"\1", text)
    return text.replace("\x00", "*").replace("\x01", "_")


def clean_markdown(raw: str) -> str:
    """Return section markdown as plain text: paragraphs joined, list items and table rows one per line.

    Lines are grouped into blocks first because the source is hard-wrapped, and a link's text may
    run over two lines ("[natural killer\ncells](/Common/...)").
    """
    blocks: list[tuple[str, str]] = []  # (kind, raw text); kind: p | li | row | break
    for line in raw.split("\n"):
        stripped = line.strip()
        if not stripped:
            blocks.append(("break", ""))
        elif stripped.startswith("|"):
            blocks.append(("row", stripped))
        elif re.match(r"^(?:[-*+]\s|\d+\.\s)", stripped):
            blocks.append(("li", stripped))
        elif blocks and blocks[-1][0] in ("p", "li"):
            blocks[-1] = (blocks[-1][0], blocks[-1][1] + " " + stripped)  # wrapped line continues
        else:
            blocks.append(("p", stripped))
    out: list[str] = []
    for kind, text in blocks:
        if kind == "break":
            out.append("")
        elif kind == "row":
            if _TABLE_RULE.match(text):
                continue
            cells = [c for c in (" ".join(_inline(c).split()) for c in _row_cells(text)) if c]
            if cells:
                out.append(" | ".join(cells))
        else:
            clean = " ".join(_inline(text).split())
            if clean and clean != "Go to Patient Version":
                out.append(re.sub(r"^[*+]\s", "- ", clean) if kind == "li" else clean)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def _row_cells(row: str) -> list[str]:
    """Return the cells of a markdown table row, not splitting at "|" inside a link."""
    row = row.strip().strip("|")
    cells, depth, current = [], 0, []
    for ch in row:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth = max(0, depth - 1)
        if ch == "|" and depth == 0:
            cells.append("".join(current))
            current = []
        else:
            current.append(ch)
    cells.append("".join(current))
    return cells
