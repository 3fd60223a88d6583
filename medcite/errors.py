"""One small error hierarchy. Every message is one line naming the file/record and the fix."""


class MedciteError(Exception):
    """Base class: the CLI prints str(error) as one line and exits non-zero."""


class InputError(MedciteError):
    """A file or record could not be read (malformed JSON/XML, truncated gzip, missing id...)."""

    def __init__(self, source: str, message: str, record: str | None = None):
        self.source = source
        self.record = record
        self.detail = message
        where = f"{source}" + (f" [{record}]" if record else "")
        super().__init__(f"{where}: {message}")


class UnknownFormatError(InputError):
    """No reader recognises the file."""


class IndexMissingError(MedciteError):
    """The index file does not exist (run `medcite ingest` first)."""


class NotFoundError(MedciteError):
    """A document or passage id is not in the index."""
