"""Bounded work per request: the caps every entry point (REST API, CDS Hooks, CLI, batch review)
applies before `ask` runs, so that no single case can take a worker for long.

What a case may hold (settings; README "Security"):
- `max_question_chars` characters of case text (413): fact extraction is linear in the text, but a
  longer text is never a single case;
- `max_drugs_per_case` distinct drugs checked against their labels — the drugs proposed, or asked
  about (422): each check reads its label(s), so answer time grows with this number;
- `max_drug_mentions` drug names in the case, any role (422): co-medications are compared with
  every checked drug's label;
- `max_facts_bytes` of `facts` given as JSON and `max_bundle_entries` per FHIR Bundle (413), checked
  where those arrive (api/).

A refused case gets one line naming the limit and its setting; nothing is cut short silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from medcite.errors import MedciteError
from medcite.numbers import format_number
from medcite.records import CaseFacts
from medcite.settings import Settings, env_name


class LimitExceeded(MedciteError):
    """A request is larger than this deployment answers (HTTP 413, or 422 for what the case names)."""

    def __init__(self, message: str, status: int = 413):
        super().__init__(message)
        self.status = status


def refuse(what: str, size: int, field: str, settings: Settings, status: int = 413) -> LimitExceeded:
    """Return the LimitExceeded error saying `what` is `size`, above settings.`field`."""
    limit = getattr(settings, field)
    return LimitExceeded(f"{what} is {format_number(size)}; the limit is {format_number(limit)} "
                         f"({env_name(field)})", status)


def check_question(question: str, settings: Settings) -> None:
    """Raise LimitExceeded (413) when the case text is longer than settings.max_question_chars."""
    if len(question) > settings.max_question_chars:
        raise refuse("the case text (characters)", len(question), "max_question_chars", settings)


def check_drugs(case: CaseFacts, settings: Settings) -> None:
    """Raise LimitExceeded (422) when the case names more drugs than the label check takes."""
    from medcite.analyze.concordance import drugs_to_check

    if len(case.drugs) > settings.max_drug_mentions:
        raise refuse("the number of drug names in the case", len(case.drugs), "max_drug_mentions", settings, 422)
    checked = len(drugs_to_check(case))
    if checked > settings.max_drugs_per_case:
        raise refuse("the number of drugs to check against their labels", checked, "max_drugs_per_case", settings, 422)


def read_case(store, question: str, facts: CaseFacts | dict | None = None) -> CaseFacts:
    """Return the facts `ask` will work from: those read from the text, overridden by `facts`."""
    from medcite.analyze.facts import case_resources, extract_facts
    from medcite.compose.answer import facts_from_data

    lexicon, abbreviations = case_resources(store)
    case = extract_facts(question, lexicon, abbreviations)
    return facts_from_data(facts, question, read=case) if facts is not None else case


def bounded_ask(store, question: str, settings: Settings, facts: CaseFacts | dict | None = None,
                ask_fn: Callable[..., Any] | None = None):
    """Return `ask(store, question, settings, facts)` after checking the case against the limits of
    `settings` (LimitExceeded otherwise). The one entry to `ask` of the API, the CLI and review."""
    check_question(question, settings)
    check_drugs(read_case(store, question, facts), settings)
    if ask_fn is None:
        from medcite.compose.answer import ask as ask_fn
    return ask_fn(store, question, settings=settings, facts=facts)
