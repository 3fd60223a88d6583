"""Reader for PubMed efetch / baseline XML (`PubmedArticleSet`, plain or `.xml.gz`).

One Document per PubmedArticle (and PubmedBookArticle): doc_id ``pmid:<PMID>``, tier research.
Structured abstracts give one Section per AbstractText (name = Label or NlmCategory, code =
NlmCategory); an unstructured abstract gives one "Abstract" section; an article without an
abstract is still a Document with no sections (the chunker indexes its title).

The file is streamed with lxml iterparse and each article is cleared once converted, so a
baseline file (~30k articles, ~200 MB of XML) runs in constant memory. The live E-utilities
connector hands efetch payloads to `parse_pubmed_xml_bytes`, which shares the same code.
"""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from lxml import etree

from medcite.ingest.inflate import open_binary
from medcite.records import Document, RecordError, Section

FORMAT = "pubmed_xml"
ARTICLE_TAGS = ("PubmedArticle", "PubmedBookArticle")
MAX_AUTHORS = 5  # authors kept in meta: enough for a citation line ("Smith J, Lee K, et al.")

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_SNIFF_BYTES = 4096


def sniff(path: Path) -> bool:
    """Return True when `path` is a PubMed XML file (.xml / .xml.gz whose head names PubmedArticleSet)."""
    name = path.name.lower()
    if not (name.endswith(".xml") or name.endswith(".xml.gz")):
        return False
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    return b"<PubmedArticleSet" in head or b"DOCTYPE PubmedArticleSet" in head


def read(path: Path) -> Iterator[Document | RecordError]:
    """Yield one Document per article of the file, or RecordErrors for bad articles / a bad file."""
    path = Path(path)
    source = str(path)
    try:
        fh: IO[bytes] = open_binary(path)  # gunzipped under the ingest limits (ingest/inflate.py)
    except OSError as exc:
        yield RecordError(source, None, f"cannot open: {exc}")
        return
    with fh:
        yield from _parse_stream(fh, source)


def parse_pubmed_xml_bytes(data: bytes, source: str) -> Iterator[Document | RecordError]:
    """Yield Documents (and RecordErrors) from an efetch payload already in memory.

    `source` names the payload in errors and in Document.source_file (e.g. the efetch URL).
    """
    yield from _parse_stream(io.BytesIO(data), source)


def _parse_stream(fh: IO[bytes], source: str) -> Iterator[Document | RecordError]:
    # load_dtd/no_network: the DOCTYPE points at an NLM URL; we never fetch it (no network) and
    # the elements we read need no DTD defaults.
    parser = etree.iterparse(
        fh, events=("end",), tag=ARTICLE_TAGS, load_dtd=False, no_network=True,
        resolve_entities=False, huge_tree=True, recover=False,
    )
    n = 0
    try:
        for _event, elem in parser:
            n += 1
            yield _convert(elem, source, n)
            # free the converted article and its already-processed siblings (constant memory)
            elem.clear(keep_tail=True)
            while elem.getprevious() is not None:
                del elem.getparent()[0]
    except etree.XMLSyntaxError as exc:
        yield RecordError(source, f"article {n + 1} (line {exc.lineno})",
                          f"XML ends or breaks inside the file: {exc.msg}; {n} article(s) read before it")
        return
    except (OSError, EOFError, ValueError) as exc:  # truncated/corrupt gzip, unreadable stream
        yield RecordError(source, f"article {n + 1}", f"cannot read the rest of the file: {exc}; "
                          f"{n} article(s) read before it")
        return
    if n == 0:
        root = getattr(parser, "root", None)
        tag = root.tag if root is not None else "nothing"
        if tag != "PubmedArticleSet":  # e.g. an efetch <eFetchResult><ERROR> payload
            detail = " ".join(root.itertext()).strip()[:200] if root is not None else ""
            yield RecordError(source, None, f"not a PubmedArticleSet (root is <{tag}>) {detail}".rstrip())


def _convert(art: etree._Element, source: str, n: int) -> Document | RecordError:
    """Return the Document for one PubmedArticle element, or a RecordError naming it."""
    where = f"article {n} (line {art.sourceline})"
    try:
        return _document(art, source, where)
    except _BadArticle as exc:
        return RecordError(source, where, str(exc))
    except Exception as exc:  # one malformed article must never stop the batch
        return RecordError(source, where, f"unreadable article: {type(exc).__name__}: {exc}")


class _BadArticle(ValueError):
    pass


def _document(art: etree._Element, source: str, where: str) -> Document:
    book = art.tag == "PubmedBookArticle"
    cit = art.find("BookDocument" if book else "MedlineCitation")
    if cit is None:
        raise _BadArticle(f"{art.tag} without {'BookDocument' if book else 'MedlineCitation'}")
    pmid = (cit.findtext("PMID") or "").strip()
    if not pmid.isdigit():
        raise _BadArticle(f"{art.tag} without a numeric PMID (found {pmid!r}): skipped")
    article = cit if book else cit.find("Article")
    if article is None:
        raise _BadArticle(f"PMID {pmid}: MedlineCitation without Article")

    title_el = article.find("ArticleTitle")
    if title_el is None and book:
        title_el = cit.find("Book/BookTitle")
    title = inline_text(title_el) if title_el is not None else ""
    if not title:
        vernacular = article.find("VernacularTitle")
        title = inline_text(vernacular) if vernacular is not None else ""

    sections = _abstract_sections(article.find("Abstract"))
    if not title and not sections:
        raise _BadArticle(f"PMID {pmid}: neither title nor abstract")

    journal = article.find("Journal")
    pub_date = journal.find("JournalIssue/PubDate") if journal is not None else cit.find("Book/PubDate")
    date = _date(pub_date)
    article_date = _date(article.find("ArticleDate"))
    year = date[:4] if date else (article_date[:4] if article_date else None)

    meta: dict = {
        "year": int(year) if year else None,
        "mesh": _mesh(cit),
        "publication_types": [_clean(p.text) for p in article.iterfind("PublicationTypeList/PublicationType")
                              if p.text],
        "authors": _authors(article),
    }
    if journal is not None:
        meta["journal"] = _clean(journal.findtext("Title"))
        meta["journal_iso"] = _clean(journal.findtext("ISOAbbreviation"))
    elif book:
        meta["journal"] = _clean(cit.findtext("Book/BookTitle"))
    if article_date:
        meta["epub_date"] = article_date
    ids = _article_ids(art, article)
    meta.update(ids)
    language = article.findtext("Language")
    if language:
        meta["language"] = language.strip()

    return Document(
        doc_id=f"pmid:{pmid}",
        tier="research",
        source_kind=FORMAT,
        source_id=pmid,
        title=title,
        sections=sections,
        date=date or article_date,
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
        meta=meta,
        source_file=source,
    )


def inline_text(el: etree._Element) -> str:
    """Return the element's text with inline markup (<i>, <sub>, <sup>, MathML) flattened, one line.

    Sub/superscripts are glued to the preceding text: pretty-printed XML puts a newline before
    them ("β\\n<sub>2</sub>-agonist"), which must read "β2-agonist", not "β 2-agonist".
    """
    parts: list[str] = [el.text or ""]
    for child in el.iterchildren():
        if not isinstance(child.tag, str):  # comments / processing instructions
            parts.append(child.tail or "")
            continue
        local = etree.QName(child).localname
        if local in ("sub", "sup") and parts:
            parts[-1] = parts[-1].rstrip()
        parts.append(inline_text(child))
        parts.append(child.tail or "")
    return _clean("".join(parts))


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _abstract_sections(abstract: etree._Element | None) -> list[Section]:
    if abstract is None:
        return []
    texts = [t for t in abstract.iterfind("AbstractText")]
    labelled = any(t.get("Label") or t.get("NlmCategory") for t in texts)
    if not labelled:
        body = "\n\n".join(s for s in (inline_text(t) for t in texts) if s)
        return [Section(name="Abstract", text=body)] if body else []
    sections = []
    for t in texts:
        body = inline_text(t)
        if not body:
            continue
        category = t.get("NlmCategory")
        name = t.get("Label") or category or "Abstract"
        sections.append(Section(name=name, text=body, code=category))
    return sections


def _date(el: etree._Element | None) -> str | None:
    """Return YYYY, YYYY-MM or YYYY-MM-DD from a PubDate/ArticleDate, or None."""
    if el is None:
        return None
    year = (el.findtext("Year") or "").strip()
    if not year:
        medline = el.findtext("MedlineDate") or ""  # e.g. "1998 Dec-1999 Jan": keep the first year
        m = _YEAR.search(medline)
        return m.group(1) if m else None
    month_raw = (el.findtext("Month") or "").strip().lower()
    month = int(month_raw) if month_raw.isdigit() else _MONTHS.get(month_raw[:3])
    if not month or not 1 <= month <= 12:
        return year  # a Season ("Spring") or no month: the year is all we can say
    day_raw = (el.findtext("Day") or "").strip()
    if day_raw.isdigit() and 1 <= int(day_raw) <= 31:
        return f"{year}-{month:02d}-{int(day_raw):02d}"
    return f"{year}-{month:02d}"


def _mesh(cit: etree._Element) -> list[dict]:
    """Return [{name, ui, major}] per MeshHeading; major if the descriptor or a qualifier is major."""
    out = []
    for heading in cit.iterfind("MeshHeadingList/MeshHeading"):
        desc = heading.find("DescriptorName")
        if desc is None or not desc.text:
            continue
        major = desc.get("MajorTopicYN") == "Y" or any(
            q.get("MajorTopicYN") == "Y" for q in heading.iterfind("QualifierName"))
        out.append({"name": _clean(desc.text), "ui": desc.get("UI"), "major": major})
    return out


def _authors(article: etree._Element) -> list[str]:
    out = []
    for author in article.iterfind("AuthorList/Author"):
        collective = author.findtext("CollectiveName")
        if collective:
            out.append(_clean(collective))
        else:
            last = _clean(author.findtext("LastName"))
            initials = _clean(author.findtext("Initials") or author.findtext("ForeName"))
            if last:
                out.append(f"{last} {initials}".strip())
        if len(out) >= MAX_AUTHORS:
            break
    return out


def _article_ids(art: etree._Element, article: etree._Element) -> dict:
    """Return doi / pmcid from PubmedData/ArticleIdList (the article's own ids, not its references)."""
    found: dict = {}
    for aid in art.iterfind("PubmedData/ArticleIdList/ArticleId"):
        kind, value = aid.get("IdType"), _clean(aid.text)
        if kind == "doi" and value and "doi" not in found:
            found["doi"] = value
        elif kind == "pmc" and value and "pmcid" not in found:
            found["pmcid"] = value
    if "doi" not in found:  # books and fresh records may carry the DOI only as an ELocationID
        for loc in article.iterfind("ELocationID"):
            if loc.get("EIdType") == "doi" and loc.text:
                found["doi"] = _clean(loc.text)
                break
    return found
