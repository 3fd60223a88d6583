"""Reader for openFDA drug-label JSON records.

Accepted files:
- JSONL (one label record per line), plain or gzip (`.jsonl`, `.jsonl.gz`, `.ndjson`);
- an openFDA API response or bulk download part (`drug-label-0001-of-0012.json`): one JSON
  object `{"meta": ..., "results": [...]}`, plain, gzip or inside a `.zip`. The `results` array
  is streamed record by record, so a 150 MB bulk part is never held in memory as one object.

One `Document` per label (id ``spl:<set_id>``, the same id the SPL XML reader gives), one
`Section` per text field (code = LOINC section code, name = openFDA's section name), the field's
`*_table` HTML tables flattened and appended to it; plus the label's `DrugName`s.
"""

from __future__ import annotations

import codecs
import json
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from medcite.ingest.inflate import Meter, archive_meter, gunzip_chunks, open_member
from medcite.ingest.spl_sections import FIELD_TO_CODE, SECTION_NAMES
from medcite.ingest.spl_xml import DAILYMED_URL, html_table_text, label_drug_names
from medcite.records import Document, DrugName, RecordError, Section

FORMAT = "openfda_json"
CHUNK = 1 << 20

# Fields that are ids, product listings or carton text rather than label prose.
SKIP_FIELDS = {
    "openfda",
    "set_id",
    "id",
    "version",
    "effective_time",
    "spl_product_data_elements",
    "spl_indexing_data_elements",
    "package_label_principal_display_panel",
}
# Keys only a drug-label record has (other openFDA endpoints share "openfda" and "meta").
# The value must follow (a string id or a list of texts) so that JSON schemas and Elasticsearch
# mappings of label fields, whose values are objects, are not taken for labels.
_LABEL_KEYS = re.compile(
    r'"(?:set_id|effective_time)"\s*:\s*"|"(?:spl_product_data_elements|indications_and_usage'
    r'|package_label_principal_display_panel|dosage_and_administration|spl_unclassified_section)"\s*:\s*\['
)
_BLANKS = re.compile(r"[ \t\r\n]*")
_JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
_JSON_SUFFIXES = (".json", ".json.gz")


class _Truncated(Exception):
    """The gzip stream ended before its end-of-stream marker."""


# ---------------------------------------------------------------- record -> Document


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [v.strip() for v in value if isinstance(v, str) and v.strip()]


def _section_name(field: str, code: str | None) -> str:
    if code and code in SECTION_NAMES:
        return SECTION_NAMES[code]
    return field.replace("_", " ").capitalize()


# The order of a prescription label (21 CFR 201.57, "PLR" format), then the older and OTC
# layouts. openFDA records list fields in arbitrary order; sections are put back in this order.
_LABEL_ORDER = [
    "boxed_warning", "recent_major_changes", "indications_and_usage", "dosage_and_administration",
    "dosage_forms_and_strengths", "contraindications", "warnings_and_cautions", "warnings",
    "precautions", "general_precautions", "adverse_reactions", "drug_interactions",
    "drug_and_or_laboratory_test_interactions", "use_in_specific_populations", "pregnancy",
    "teratogenic_effects", "nonteratogenic_effects", "labor_and_delivery", "nursing_mothers",
    "pediatric_use", "geriatric_use", "drug_abuse_and_dependence", "controlled_substance", "abuse",
    "dependence", "overdosage", "description", "clinical_pharmacology", "mechanism_of_action",
    "pharmacodynamics", "pharmacokinetics", "pharmacogenomics", "microbiology",
    "nonclinical_toxicology", "carcinogenesis_and_mutagenesis_and_impairment_of_fertility",
    "animal_pharmacology_and_or_toxicology", "clinical_studies", "references", "how_supplied",
    "storage_and_handling", "information_for_patients", "laboratory_tests",
    "active_ingredient", "purpose", "do_not_use", "ask_doctor", "ask_doctor_or_pharmacist",
    "when_using", "stop_use", "pregnancy_or_breast_feeding", "keep_out_of_reach_of_children",
    "inactive_ingredient", "questions",
]
_RANK = {field: i for i, field in enumerate(_LABEL_ORDER)}


def label_sections(rec: dict[str, Any]) -> list[Section]:
    """Return one Section per text field of an openFDA label record, each with its
    `<field>_table` tables flattened and appended, in label order (unknown fields last)."""
    sections: list[tuple[int, Section]] = []
    for field, value in rec.items():
        if field in SKIP_FIELDS or field.startswith(("_", "@")):
            continue
        if field.endswith("_table"):
            base = field[: -len("_table")]
            if base in rec or base in SKIP_FIELDS:
                continue  # appended to its own field below (or skipped with it)
            text_parts, base_field = [], base  # tables whose field is absent: a section of their own
        else:
            text_parts, base_field = _strings(value), field
        tables = [t for t in (html_table_text(h) for h in _strings(rec.get(base_field + "_table"))) if t]
        text = "\n\n".join(text_parts + tables)
        if text:
            code = FIELD_TO_CODE.get(base_field)
            rank = _RANK.get(base_field, len(_RANK))
            sections.append((rank, Section(name=_section_name(base_field, code), text=text, code=code)))
    sections.sort(key=lambda pair: pair[0])  # stable: unknown fields keep record order
    return [section for _, section in sections]


def _first(values: list[str]) -> str | None:
    return values[0] if values else None


def record_to_document(rec: Any, source: str, where: str) -> Document | RecordError:
    """Return the Document for one openFDA label record, or a RecordError naming `where`."""
    if not isinstance(rec, dict):
        return RecordError(source, where, f"expected a JSON object, got {type(rec).__name__}")
    set_id = rec.get("set_id")
    if not isinstance(set_id, str) or not set_id.strip():
        rid = rec.get("id")
        return RecordError(source, where + (f" (id {rid})" if rid else ""), "record has no set_id")
    set_id = set_id.strip()
    ofda = rec.get("openfda") if isinstance(rec.get("openfda"), dict) else {}
    generics = _strings(ofda.get("generic_name"))
    brands = _strings(ofda.get("brand_name"))
    effective = rec.get("effective_time") if isinstance(rec.get("effective_time"), str) else None
    meta = {
        "set_id": set_id,
        "spl_id": _first(_strings(ofda.get("spl_id"))) or rec.get("id"),
        "version": str(rec["version"]) if rec.get("version") is not None else None,
        "effective_time": effective,
        "generic_names": generics,
        "brand_names": brands,
        "substance_names": _strings(ofda.get("substance_name")),
        "routes": _strings(ofda.get("route")),
        "rxcui": _strings(ofda.get("rxcui")),
        "unii": _strings(ofda.get("unii")),
        "application_numbers": _strings(ofda.get("application_number")),
        "manufacturer": _first(_strings(ofda.get("manufacturer_name"))),
        "product_type": _first(_strings(ofda.get("product_type"))),
        # FDA Established Pharmacologic Class and mechanism, e.g. "Benzodiazepine [EPC]": lets a
        # co-medication be matched by its class where another label names the class
        "pharm_classes": _strings(ofda.get("pharm_class_epc")) + _strings(ofda.get("pharm_class_moa")),
    }
    brand, generic = _first(brands), _first(generics)
    if brand and generic and brand.lower() != generic.lower():
        title = f"{brand} ({generic.lower()})"
    else:
        title = brand or (generic.lower() if generic else f"SPL {set_id}")
    date = None
    if effective and re.match(r"\d{8}", effective):
        date = f"{effective[:4]}-{effective[4:6]}-{effective[6:8]}"
    return Document(
        doc_id=f"spl:{set_id}",
        tier="label",
        source_kind=FORMAT,
        source_id=set_id,
        title=title,
        sections=label_sections(rec),
        date=date,
        url=DAILYMED_URL.format(set_id),
        version=meta["version"],
        meta=meta,
        source_file=source,
    )


# ---------------------------------------------------------------- byte and text streams


def _byte_chunks(fh: BinaryIO, gz: bool, meter: Meter) -> Iterator[bytes]:
    if gz:
        yield from gunzip_chunks(fh, meter, _Truncated)
        return
    while data := fh.read(CHUNK):
        yield data


def _text_chunks(chunks: Iterable[bytes]) -> Iterator[str]:
    dec = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    for chunk in chunks:
        text = dec.decode(chunk)
        if text:
            yield text
    tail = dec.decode(b"", final=True)
    if tail:
        yield tail


class _JsonStream:
    """Decode JSON values one at a time from a stream of text chunks."""

    def __init__(self, chunks: Iterator[str]):
        self.chunks = chunks
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.decoder = json.JSONDecoder()

    def _more(self) -> bool:
        if self.eof:
            return False
        try:
            chunk = next(self.chunks)
        except StopIteration:
            self.eof = True
            return False
        if self.pos > CHUNK:  # drop what has been consumed
            self.buf, self.pos = self.buf[self.pos :], 0
        self.buf += chunk
        return True

    def peek(self) -> str:
        """Return the next non-whitespace character ('' at the end of the stream)."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def take(self, char: str) -> None:
        if self.peek() != char:
            got = self.peek() or "end of file"
            raise json.JSONDecodeError(f"expected {char!r}, found {got!r}", self.buf, self.pos)
        self.pos += 1

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                obj, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError:
                if self._more():
                    continue
                raise
            self.pos = end
            return obj


def _json_records(stream: _JsonStream, source: str) -> Iterator[tuple[str, Any]]:
    """Yield (where, record) for every label record in a JSON document stream: the elements of a
    `results` array (API response, bulk part), of a top-level array, or a bare record object."""
    count = [0]

    def array_items() -> Iterator[tuple[str, Any]]:
        stream.take("[")
        while stream.peek() != "]":
            count[0] += 1
            yield f"record {count[0]}", stream.value()
            if stream.peek() == ",":
                stream.take(",")
        stream.take("]")

    while stream.peek():
        if stream.peek() == "[":
            yield from array_items()
            continue
        stream.take("{")
        other: dict[str, Any] = {}
        saw_results = False
        while stream.peek() != "}":
            key = stream.value()
            stream.take(":")
            if key == "results" and stream.peek() == "[":
                saw_results = True
                yield from array_items()
            else:
                other[key] = stream.value()
            if stream.peek() == ",":
                stream.take(",")
        stream.take("}")
        if not saw_results:
            count[0] += 1
            yield f"record {count[0]}", other


def _jsonl_records(chunks: Iterator[str], source: str) -> Iterator[tuple[str, Any] | RecordError]:
    """Yield (where, record) per line; a RecordError for a line that is not JSON."""
    n = 0

    def parse(line: str, n: int):
        if not line.strip():
            return
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RecordError(source, f"line {n}", f"not valid JSON ({exc.msg}, column {exc.colno})")
            return
        if isinstance(obj, dict) and isinstance(obj.get("results"), list):
            for i, rec in enumerate(obj["results"], 1):  # an API response saved as one line
                yield f"line {n} result {i}", rec
        else:
            yield f"line {n}", obj

    parts: list[str] = []  # the line being read, in pieces (a 50 MB line is joined once)
    for chunk in chunks:
        pos = 0
        while True:
            if not parts:
                # a run of blank lines is skipped in one step: constant memory, C speed
                last_nl = chunk.rfind("\n", pos, _BLANKS.match(chunk, pos).end())
                if last_nl >= 0:
                    n += chunk.count("\n", pos, last_nl + 1)
                    pos = last_nl + 1
            nl = chunk.find("\n", pos)
            if nl < 0:
                if pos < len(chunk):
                    parts.append(chunk[pos:])
                break
            parts.append(chunk[pos:nl])
            n += 1
            line, parts = "".join(parts), []
            yield from parse(line, n)
            pos = nl + 1
    # A complete final line without "\n" is fine; _Truncated stops us before reaching here.
    yield from parse("".join(parts), n + 1)


# ---------------------------------------------------------------- files


def _records(fh: BinaryIO, name: str, source: str, meter: Meter) -> Iterator[tuple[str, Any] | RecordError]:
    lower = name.lower()
    gz = lower.endswith(".gz")
    text = _text_chunks(_byte_chunks(fh, gz, meter))
    if lower.endswith(_JSONL_SUFFIXES):
        yield from _jsonl_records(text, source)
        return
    stream = _JsonStream(text)
    where = "record 1"
    try:
        for where, rec in _json_records(stream, source):
            yield where, rec
    except json.JSONDecodeError as exc:
        yield RecordError(source, f"after {where}", f"malformed JSON ({exc.msg}); rest of file skipped")


def _read_stream(fh: BinaryIO, name: str, source: str, meter: Meter) -> Iterator[Document | DrugName | RecordError]:
    seen: set[tuple[str, str, str]] = set()
    count = 0
    try:
        for item in _records(fh, name, source, meter):
            if isinstance(item, RecordError):
                yield item
                continue
            where, rec = item
            doc = record_to_document(rec, source, where)
            yield doc
            if isinstance(doc, Document):
                count += 1
                m = doc.meta
                for dn in label_drug_names(m["generic_names"], m["brand_names"], m["substance_names"]):
                    key = (dn.name.lower(), dn.generic, dn.kind)
                    if key not in seen:
                        seen.add(key)
                        yield dn
    except _Truncated:
        yield RecordError(source, None, f"truncated gzip file (ends after {count} labels); download it again")
    except (zlib.error, OSError, EOFError) as exc:
        yield RecordError(source, None, f"cannot read compressed data ({exc}) after {count} labels")


def read(path: Path) -> Iterator[Document | DrugName | RecordError]:
    """Yield a Document per label record in `path` (JSONL, JSON, gzip or zip), the labels'
    DrugNames (once per file), and a RecordError per bad record or unreadable file."""
    path = Path(path)
    source = str(path)
    try:
        meter = archive_meter(path)
        if path.name.lower().endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    if info.filename.lower().endswith(_JSON_SUFFIXES + _JSONL_SUFFIXES):
                        with open_member(zf, info, meter) as fh:
                            yield from _read_stream(fh, info.filename, f"{source}!{info.filename}", meter)
            return
        with open(path, "rb") as fh:
            yield from _read_stream(fh, path.name, source, meter)
    except (OSError, zipfile.BadZipFile) as exc:
        yield RecordError(source, None, f"cannot read file: {exc}")


def _head(fh: BinaryIO, gz: bool, size: int = 65536) -> str:
    raw = fh.read(size)
    if gz:
        try:
            raw = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(raw, size)
        except zlib.error:
            return ""
    return raw.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")


def _looks_like_labels(head: str) -> bool:
    return head[:1] in ("{", "[") and bool(_LABEL_KEYS.search(head))


def sniff(path: Path) -> bool:
    """Return True if `path` holds openFDA drug-label JSON: a JSON/JSONL(.gz) file, or a zip of
    them, whose first 64 KB show label-record keys (set_id, effective_time, label sections)."""
    path = Path(path)
    lower = path.name.lower()
    try:
        if lower.endswith(_JSON_SUFFIXES + _JSONL_SUFFIXES):
            with open(path, "rb") as fh:
                return _looks_like_labels(_head(fh, lower.endswith(".gz")))
        if lower.endswith(".zip") and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                members = [i for i in zf.infolist() if i.filename.lower().endswith(_JSON_SUFFIXES + _JSONL_SUFFIXES)]
                if not members:
                    return False
                with zf.open(members[0]) as fh:
                    return _looks_like_labels(_head(fh, members[0].filename.lower().endswith(".gz")))
    except (OSError, zipfile.BadZipFile):
        return False
    return False
