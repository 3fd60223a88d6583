"""The `facts` of POST /api/v1/ask as pydantic models: every shape is checked before `ask` sees it.

The models mirror the case-fact records (medcite/records.py: CaseFacts, DrugMention, Dose, ...),
so an answer's own `facts` can be sent back. A malformed shape (a string where a list belongs, an
unknown key, a dose of -5 or 1e308, a frequency of 0 times a day) is a 422 in the error shape, never
a 500. Fields the records need and a client may leave out are filled here: offsets are 0 (the fact
is not in the text), a dose's text is written by the one number formatter (2,400,000 units).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from medcite.analyze.regimen import DAYS_PER, canonical_frequency
from medcite.numbers import check_dose_value, format_dose, format_number

Short = Annotated[str, Field(max_length=200)]
Long = Annotated[str, Field(max_length=2000)]
Offset = Annotated[int, Field(ge=0, le=10_000_000)]
MAX_ITEMS = 200  # any list; the settings' limits (drugs per case) are far below it


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: Offset = 0
    end: Offset = 0


class DoseIn(_In):
    """A dose: value and canonical unit (the `Dose` record)."""

    value: float
    unit: Annotated[str, Field(min_length=1, max_length=32)]
    text: Short | None = None
    value_max: float | None = None

    @field_validator("value", "value_max")
    @classmethod
    def _possible(cls, v: float | None) -> float | None:
        return None if v is None else check_dose_value(v)

    @model_validator(mode="after")
    def _fill(self) -> "DoseIn":
        if self.value_max is not None and self.value_max < self.value:
            raise ValueError("value_max must not be below value")
        if not self.text:
            self.text = format_dose(self.value, self.unit, self.value_max)
        return self


class FrequencyIn(_In):
    """How often: `times` doses every `per_days` days (the `Frequency` record)."""

    times: Annotated[int, Field(ge=1, le=48)] | None = None
    per_days: Annotated[float, Field(gt=0, le=3650)] | None = None
    interval_days: float | None = None
    text: Short | None = None
    as_written: Short | None = None
    as_needed: bool = False

    @model_validator(mode="after")
    def _fill(self) -> "FrequencyIn":
        if self.as_needed:
            self.times = self.per_days = self.interval_days = None
            self.text = self.text or "as needed"
        elif self.times is None or self.per_days is None:
            raise ValueError("a frequency needs times and per_days (or as_needed: true)")
        else:
            self.interval_days = round(self.per_days / self.times, 6)
            self.text = canonical_frequency(self.times, self.per_days)
        self.as_written = self.as_written or self.text
        return self


class RouteIn(_In):
    """A route of administration (openFDA route vocabulary, lower case)."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    text: Short | None = None
    detail: Short | None = None

    @model_validator(mode="after")
    def _fill(self) -> "RouteIn":
        self.name = self.name.lower()
        self.text = self.text or self.name
        return self


class DurationIn(_In):
    """How long: value + unit (days, weeks, months, years, cycles, doses)."""

    value: Annotated[float, Field(gt=0, le=100_000)]
    unit: Literal["days", "weeks", "months", "years", "cycles", "doses"]
    days: Annotated[float, Field(ge=0, le=3_650_000)] | None = None
    text: Short | None = None

    @model_validator(mode="after")
    def _fill(self) -> "DurationIn":
        per = DAYS_PER.get(self.unit.removesuffix("s"))
        if self.days is None and per is not None:
            self.days = self.value * per
        self.text = self.text or f"for {format_number(self.value)} {self.unit}"
        return self


Role = Literal["proposed", "comedication", "previous", "diagnostic", "unspecified"]


class DrugIn(_In):
    """A drug of the case by its generic name (the `DrugMention` record); proposed unless said."""

    generic: Annotated[str, Field(min_length=1, max_length=200)]
    text: Short | None = None
    name_kind: Literal["generic", "brand", "synonym"] = "generic"
    role: Role = "proposed"
    role_text: Short | None = None
    negated: bool = False
    dose: DoseIn | None = None
    frequency: FrequencyIn | None = None
    route: RouteIn | None = None
    duration: DurationIn | None = None

    @model_validator(mode="after")
    def _fill(self) -> "DrugIn":
        self.generic = self.generic.strip().lower()
        self.text = self.text or self.generic
        return self


class QualifierIn(_In):
    """A qualifier of a condition (grade, differentiation, functional, resection, extent, stage, site)."""

    kind: Literal["grade", "differentiation", "functional", "resection", "extent", "stage", "site"]
    value: Annotated[str, Field(min_length=1, max_length=64)]
    text: Short | None = None

    @model_validator(mode="after")
    def _fill(self) -> "QualifierIn":
        self.text = self.text or self.value
        return self


class ConditionIn(_In):
    """A condition of the case (the `ConditionMention` record)."""

    name: Annotated[str, Field(min_length=1, max_length=300)]
    text: Annotated[str, Field(max_length=300)] | None = None
    abbreviation: Annotated[str, Field(max_length=32)] | None = None
    source: Literal["pattern", "abbreviation"] = "pattern"
    negated: bool = False
    grade: Annotated[int, Field(ge=1, le=4)] | None = None
    differentiation: Annotated[str, Field(max_length=32)] | None = None
    functional: Annotated[str, Field(max_length=32)] | None = None
    resection: Annotated[str, Field(max_length=32)] | None = None
    extent: Annotated[str, Field(max_length=32)] | None = None
    stage: Annotated[str, Field(max_length=8)] | None = None
    sites: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=20)] = []
    qualifiers: Annotated[list[QualifierIn], Field(max_length=50)] = []

    @model_validator(mode="after")
    def _fill(self) -> "ConditionIn":
        self.text = self.text or self.name
        return self


class GenotypeIn(_In):
    """A pharmacogenomic result (the `Genotype` record)."""

    gene: Annotated[str, Field(min_length=1, max_length=32)]
    allele: Annotated[str, Field(max_length=32)] | None = None
    status: Annotated[str, Field(min_length=1, max_length=64)]
    text: Short | None = None
    negated: bool = False

    @model_validator(mode="after")
    def _fill(self) -> "GenotypeIn":
        self.text = self.text or " ".join(x for x in (self.gene + (self.allele or ""), self.status) if x)
        return self


class FindingIn(_In):
    """One patient fact with its span (the `Finding` record)."""

    kind: Annotated[str, Field(min_length=1, max_length=32)]
    value: bool | float | Annotated[str, Field(max_length=500)] | None = None
    text: Long | None = None
    unit: Annotated[str, Field(max_length=32)] | None = None
    negated: bool = False

    @model_validator(mode="after")
    def _fill(self) -> "FindingIn":
        if self.text is None:
            self.text = "" if self.value is None else str(self.value)
        return self


class PatientIn(BaseModel):
    """Facts about the patient (the `PatientFacts` record)."""

    model_config = ConfigDict(extra="forbid")

    age_years: Annotated[float, Field(ge=0, le=130)] | None = None
    sex: Literal["female", "male"] | None = None
    pregnant: bool | None = None
    weight_kg: Annotated[float, Field(gt=0, le=700)] | None = None
    crcl_ml_min: Annotated[float, Field(ge=0, le=500)] | None = None
    egfr: Annotated[float, Field(ge=0, le=500)] | None = None
    esrd: bool | None = None
    dialysis: bool | None = None
    child_pugh: Literal["A", "B", "C"] | None = None
    hepatic_impairment: Literal["mild", "moderate", "severe"] | None = None
    genotypes: Annotated[list[GenotypeIn], Field(max_length=50)] = []
    findings: Annotated[list[FindingIn], Field(max_length=MAX_ITEMS)] = []


class CaseFactsIn(BaseModel):
    """Structured case facts (the `facts` object of an answer); the keys given replace what is read
    from the question text."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(max_length=100_000)] | None = None
    drugs: Annotated[list[DrugIn], Field(max_length=MAX_ITEMS)] | None = None
    conditions: Annotated[list[ConditionIn], Field(max_length=MAX_ITEMS)] | None = None
    patient: PatientIn | None = None
    negations: Annotated[list[FindingIn], Field(max_length=MAX_ITEMS)] | None = None
    abbreviations: Annotated[dict[Annotated[str, Field(max_length=32)], Annotated[str, Field(max_length=300)]],
                             Field(max_length=MAX_ITEMS)] | None = None

    def to_data(self) -> dict[str, Any]:
        """Return the facts as the JSON shape `ask` takes: only the keys the client gave, each complete."""
        return {key: getattr(self, key) if key == "text" else self.model_dump(include={key})[key]
                for key in self.model_fields_set if getattr(self, key) is not None}
