"""Generate ``docs/questions.md`` from the default pack: ``python -m joinedup.insight.docs``."""

from __future__ import annotations

import sys

from joinedup.insight.questions import Question, load_questions

__all__ = ["questions_markdown"]

INTRO = """\
# The default questions

joinedup answers these questions at every build, from the release (see
[insight.md](insight.md) for how questions work and how to add your own, and
[data-model.md](data-model.md) for the tables their SQL reads). Ask one with

```bash
joinedup questions DIR                       # the list, with headline figures
joinedup ask DIR children_with_concern --by exploitation_type
```

Every answer goes through disclosure control for the tier asking
([disclosure.md](disclosure.md)). This page is generated from
`src/joinedup/insight/questions/*.yaml`; a test keeps them in step.
"""


def _one(q: Question) -> str:
    s = q.spec
    lines = [f"## `{s.id}`", "", f"**{s.question}**", "", " ".join(s.definition.split()), ""]
    lines.append(f"- Unit: {s.unit}")
    if s.breakdowns:
        by = "; ".join(f"`{k}` ({v})" for k, v in s.breakdowns.items())
        lines.append(f"- Breakdowns (`--by`): {by}")
    if s.split:
        lines.append(f"- Always split by: `{s.split}` ({s.split_label or s.split})")
    for v in s.values:
        lines.append(f"- Value: {v.label} (`{v.column}`)")
    if s.rate:
        lines.append(f"- Rate: {s.rate.label}, with a 95% confidence interval")
    lines.append(f"- Tiers: {', '.join(s.tiers)}")
    if s.depends_on:
        lines.append(f"- Depends on: {', '.join(a.replace('_', ' ') for a in s.depends_on)}")
    if s.caveats:
        lines += ["", "Caveats:", ""]
        lines += [f"- {' '.join(c.split())}" for c in s.caveats]
    return "\n".join(lines) + "\n"


def questions_markdown() -> str:
    """The page: every default question with its definition, breakdowns and caveats."""
    questions = load_questions(None)
    index = "\n".join(f"- [`{q.id}`](#{q.id}): {q.spec.question}" for q in questions)
    body = "\n".join(_one(q) for q in questions)
    return f"{INTRO}\n{index}\n\n{body}"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(questions_markdown())
