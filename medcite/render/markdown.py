"""An Answer as terminal markdown: bottom line, the three tiers ("From the Guidelines", "From the FDA
Drug Label", "From the Research"), the label-check table, monitoring, effect sizes, references.

Sentences are printed as the answer holds them, each followed by its citation numbers.
"""

from __future__ import annotations

from medcite.compose.templates import INTENT_WORDS
from medcite.records import Answer, IndicationStatus, LabelCheck, RegimenStatus, Sentence

_STATUS = {
    IndicationStatus.ON_LABEL: "on label", IndicationStatus.OFF_LABEL: "OFF LABEL", IndicationStatus.NOT_INDICATED: "NOT indicated",
    IndicationStatus.UNCLEAR: "unclear", IndicationStatus.NO_LABEL: "no label held",
    RegimenStatus.MATCHES: "matches", RegimenStatus.MISMATCH: "MISMATCH", RegimenStatus.NOT_STATED: "not checked",
    RegimenStatus.NOT_PRESCRIBED: "—",
}


def _cites(numbers: list[int]) -> str:
    return " " + "".join(f"[{n}]" for n in numbers) if numbers else ""


def _sentence(s: Sentence) -> str:
    """A list item is shown under its lead-in ("... including: Somatostatin analogues.") or heading."""
    if s.context and s.context.rstrip().endswith(":"):
        return f"- {s.context} {s.text}{_cites(s.citations)}"
    if s.context:
        return f"- **{s.context}** — {s.text}{_cites(s.citations)}"
    return f"- {s.text}{_cites(s.citations)}"


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "/").replace("\n", " ")


def label_table(checks: list[LabelCheck]) -> list[str]:
    """Return the markdown lines of the label-check table (one row per drug)."""
    if not checks:
        return []
    lines = ["| drug | label | indication | dose | frequency | route | alerts |", "|---|---|---|---|---|---|---|"]
    for c in checks:
        label = c.label.get("title") if c.label else "none held"

        def dv(v) -> str:
            out = _STATUS.get(v.status, v.status)
            if v.status == RegimenStatus.NOT_PRESCRIBED:
                return out
            if v.status == RegimenStatus.MISMATCH and v.prescribed:
                out += f" (prescribed {v.prescribed})"
            return out + _cites(v.citations)

        alerts = "; ".join(f"{a.kind.replace('_', ' ')}: {a.trigger}{_cites(a.citations)}" for a in c.alerts) or "—"
        lines.append(
            f"| {_cell(c.drug)} | {_cell(label)} | {_STATUS.get(c.indication.status, c.indication.status)}{_cites(c.indication.citations)}"
            f" | {dv(c.dose)} | {dv(c.frequency)} | {dv(c.route)} | {_cell(alerts)} |"
        )
    return lines


def _composer_lines(answer: Answer) -> list[str]:
    """Return the line saying who wrote the prose when an LLM was asked for (and what was kept)."""
    c = answer.composer or {}
    if c.get("requested") != "llm":
        return []
    if c.get("used") != "llm":
        return [f"_Extractive answer: the LLM composer was not used ({c.get('fallback')})._"]
    t = answer.verification.get("llm", {})
    return [f"_Written by {c.get('model') or 'the LLM'}: {t.get('generated', 0)} sentences generated, {t.get('kept', 0)} kept, "
            f"{t.get('replaced', 0)} replaced by the quote they paraphrased, {t.get('dropped', 0)} dropped._"]


def render_markdown(answer: Answer) -> str:
    """Return the answer as markdown text."""
    out: list[str] = ["## Bottom line", ""]
    out += [_sentence(s) for s in answer.bottom_line] or ["- No cited evidence was found for this case."]
    for section in answer.sections:
        out += ["", f"## {section.heading}", ""]
        if section.tier == "label" and answer.label_checks:
            out += label_table(answer.label_checks) + [""]
        if section.note:
            out.append(f"_{section.note}_")
            if section.sentences:
                out.append("")
        out += [_sentence(s) for s in section.sentences]
    if answer.effect_sizes:
        out += ["", "## Effect sizes", "", "| measure | value | 95% CI | p | source |", "|---|---|---|---|---|"]
        for e in answer.effect_sizes:
            ci = f"{e['ci_low']}–{e['ci_high']}" if e.get("ci_low") else ""
            value = f"{e['value']}{' ' + e['unit'] if e.get('unit') and e['unit'] != '%' else e.get('unit') or ''}"
            out.append(f"| {e['kind']} | {value} | {ci} | {e.get('p') or ''} |{_cites(e.get('citations', []))} |")
    out += ["", "## References", ""]
    for r in answer.references:
        bits = [r.title, r.section, r.source_kind or r.tier, r.date or "", r.source_id]
        line = f"{r.n}. " + " — ".join(b for b in bits if b)
        if r.evidence:
            line += f" [{r.evidence}]"
        if r.url:
            line += f" <{r.url}>"
        out.append(line)
    v = answer.verification
    out += ["", f"_Verified: {v.get('sentences', 0)} sentences kept, {v.get('dropped', 0)} dropped; "
                f"corpus version {answer.corpus_version}, settings {answer.settings_hash}._"]
    out += _composer_lines(answer)
    u = answer.understanding
    if u is not None:
        about = ", ".join(f"{s.name} ({s.kind.replace('_', ' ')})" for s in u.subjects) or "no subject recognised"
        out.append(f"_Read as: {INTENT_WORDS.get(u.intent, u.intent)} — {about}; {answer.status}._")
    return "\n".join(out) + "\n"
