"""Readers, one module per source format, and the driver that stores what they read.

Reader contract (every module in this package that reads a format):

    FORMAT: str                                   # e.g. "openfda_json"
    def sniff(path: Path) -> bool                 # cheap check: is this file ours?
    def read(path: Path) -> Iterator[Document | DrugName | RecordError]

- `read` never raises for a bad record: it yields a `RecordError` naming the file and record and
  goes on with the next record. A file that cannot be opened at all (truncated gzip, not XML)
  yields one RecordError for the file (after any records already read).
- Documents carry `Section`s; chunking into passages is done centrally (`ingest.chunking`).
- No network access here: live connectors (`ingest.connectors`) fetch payloads and hand the
  bytes to the same parsing functions.
"""
