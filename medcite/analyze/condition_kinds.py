"""The kinds of a disease the corpus defines in so many words, and what they let the label check say.

A definition sentence names a class of conditions with its abbreviation and lists its members:
"Acute coronary syndromes (ACS) include ST-segment elevation myocardial infarction (STEMI),
non-STEMI (NSTEMI), and unstable angina (UA)." Mined once per corpus version (`analyze.resources`)
into {member: [class]}, members kept by their name and by their abbreviation. Only that form is
read: a class followed by its own abbreviation in brackets, then "include(s)/including", then a
list whose first item is itself a condition ("Myelodysplastic syndromes (MDS) comprise a
heterogeneous group of disorders ..." is not a list of members).

The label check uses a class only when an indication names exactly that class, nothing narrower:
every word of one alternative of the indication's condition ("Acute Coronary Syndrome" in "Acute
Coronary Syndrome or a History of Myocardial Infarction") is a word of the class. A member of a
class the label treats is then on label; a class broader than the indication never is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from medcite.analyze.facts import is_condition_word
from medcite.analyze.label_text import IndicationUnit, terms
from medcite.records import ConditionMention

_W = r"[a-z][\w'’–-]*"
_DEFINITION = re.compile(rf"((?:{_W}\s+){{0,4}}{_W})\s*\(([a-z][a-z0-9-]{{1,9}})\)\s+(?:include|includes|including)\s+([^.;:]{{5,300}})")
_ITEMS = re.compile(r",\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+|/")
_ITEM_ABBREVIATION = re.compile(r"\(([a-z][\w-]{1,10})\)")
_STOP = frozenset("with of in for the a an and or to is are was were that which these those other all its their by on at as from who patients".split())
_ALTERNATIVES = re.compile(r",|\bor\b|\band\b|\(|\)", re.IGNORECASE)
MAX_ITEM_WORDS = 6


@dataclass
class ConditionKinds:
    """{member (lowercase name or abbreviation): [the classes the corpus lists it under]}."""

    classes: dict[str, list[str]] = field(default_factory=dict)

    def of(self, name: str) -> list[str]:
        """Return the classes the corpus lists `name` under."""
        return self.classes.get(name.lower(), [])


def _class_name(phrase: str) -> str:
    """Return a condition's own words: what follows the last function word ("... patients with
    acute coronary syndromes" -> "acute coronary syndromes")."""
    words = phrase.split()
    cut = max((i + 1 for i, w in enumerate(words) if w in _STOP), default=0)
    return " ".join(words[cut:])


def _members(items: str) -> list[str]:
    """Return the members a definition lists, by name and by abbreviation; none when its first
    item is not a condition."""
    out: list[str] = []
    for i, item in enumerate(_ITEMS.split(items)):
        short = _ITEM_ABBREVIATION.findall(item)
        name = _class_name(re.sub(r"\s*\([^()]*\)", "", item).strip())
        if i == 0 and not is_condition_word(name):
            return []
        if name and len(name.split()) <= MAX_ITEM_WORDS and is_condition_word(name):
            out.append(name)
        out += short
    return out


def mine_kinds(store) -> ConditionKinds:
    """Return the classes the corpus's definition sentences give their members (module docstring)."""
    found: dict[str, dict[str, None]] = {}
    for _, text in store.passage_texts(["label", "guideline", "research"]):
        low = text.lower()
        if ") includ" not in low:
            continue
        for m in _DEFINITION.finditer(low):
            cls = _class_name(m.group(1))
            if not is_condition_word(cls):
                continue
            for member in _members(m.group(3)):
                if member != cls:
                    found.setdefault(member, {})[cls] = None
    return ConditionKinds({member: list(classes) for member, classes in found.items()})


def _covers(cls: str, target: str) -> bool:
    """Return True when one alternative of the indication's condition has only words of the class."""
    own = set(terms(cls))
    return any(words and words <= own for words in (set(terms(part)) for part in _ALTERNATIVES.split(target)))


def class_fit(kinds: ConditionKinds | None, pairs: list[tuple[IndicationUnit, str]],
              conditions: list[ConditionMention]) -> tuple[IndicationUnit, str] | None:
    """Return the indication and the reason when a condition of the case is a member of a class an
    indication names exactly ("NSTEMI" of "acute coronary syndromes"), else None."""
    if kinds is None:
        return None
    for c in conditions:
        for name in (c.abbreviation, c.name):
            for cls in kinds.of(name) if name else []:
                unit = next((u for u, t in pairs if _covers(cls, t)), None)
                if unit is not None:
                    return unit, f"{name} is one of the {cls}, as the corpus defines them"
    return None
