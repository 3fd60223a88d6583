"""The one formatter of numbers that become words: doses, lab values, limits.

Why one: a dose that goes through `%g` loses digits (2,400,000 -> "2.4e+06", which a reader — human
or the fact extractor — takes for "06"). Every place that turns a stored number into display text
(CDS Hooks cards, the case text built from FHIR, facts given as data, error messages) calls
`format_number` / `format_dose`, so the card, the markdown and the web page print the same string.

Impossible values are refused where they are parsed (`check_dose_value`): a dose is a finite
number from MIN_DOSE_VALUE to MAX_DOSE_VALUE.
"""

from __future__ import annotations

import math

# 100 million: above any real single dose in any unit the parser knows (penicillin G benzathine is
# 2,400,000 units; interferon alfa 30,000,000 IU), far below float nonsense like 1e308.
MAX_DOSE_VALUE = 100_000_000.0
MIN_DOSE_VALUE = 0.000001  # a millionth of the unit (1 pg of a mcg dose): smaller is a typo
MAX_DECIMALS = 4


def format_number(value: float) -> str:
    """Return `value` with thousands separators and at most 4 decimals, never in exponent form:
    2400000 -> "2,400,000", 0.5 -> "0.5", 1250.0 -> "1,250", 0.00025 -> "0.00025"."""
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    decimals = MAX_DECIMALS
    if 0 < abs(value) < 1:  # small values keep 4 significant digits (0.00025 mg stays 0.00025)
        decimals = min(12, max(MAX_DECIMALS, 3 - math.floor(math.log10(abs(value)))))
    text = f"{value:,.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_dose(value: float, unit: str | None, value_max: float | None = None) -> str:
    """Return a dose as words: "60 mg", "2,400,000 units", "4 to 8 mg" (a range)."""
    amount = format_number(value) if value_max is None else f"{format_number(value)} to {format_number(value_max)}"
    return f"{amount} {unit}".strip() if unit else amount


def check_dose_value(value: float, what: str = "dose") -> float:
    """Return `value` as a float when it is a possible dose; raise ValueError saying why not."""
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a number above 0, got {value!r}")
    if value < MIN_DOSE_VALUE:
        raise ValueError(f"{what} {value!r} is below the smallest possible dose ({format_number(MIN_DOSE_VALUE)})")
    if value > MAX_DOSE_VALUE:
        raise ValueError(f"{what} {format_number(value) if value < 1e15 else repr(value)} is above the largest "
                         f"possible dose ({format_number(MAX_DOSE_VALUE)})")
    return value
