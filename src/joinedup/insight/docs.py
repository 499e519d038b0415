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

## Who is counted, and why a child recorded as a suspect is a child with a concern

Each question's definition below starts with who it counts. Questions about children
share one rule, *children first*: a **child with an exploitation concern** is a person
under 18 on the date of an event on which an agency recorded an exploitation type, who is
recorded on that event in any role but witness: victim, subject of a referral or
assessment, associate, or suspect or offender. The recorded role does not decide whether
a child counts. Children exploited in county lines and other criminal exploitation are
usually recorded by the police as suspects or offenders (possession with intent to
supply, carrying a knife); statutory guidance defines criminal exploitation as coercing a
child into crime, and partnerships are clear that a child can be a victim and a
perpetrator at once and is a victim first. Counting only children recorded as victims
would leave out most of the children harmed in county lines, and label them offenders.
So such a child counts in `children_with_concern`, shown under "Recorded as suspect or
offender" (or "Both"); `children_recorded_as_suspects` shows how many were criminalised;
and, where the police recorded them as a suspect or offender, they are also in
`persons_of_concern`, marked "Under 18 (a child with a concern)", never only there.

Each question also says which period it counts: the events dated in the period asked for
(the partnership's default unless another is chosen), or all the history in the extracts
for all time; each agency's extract covers a different span of history.

## Residents and visitors: where a child lives

Figures by `authority` ("Home local authority") count a person once, in the authority
where they live: the authority of their most recent recorded home postcode. The
partnership's own authorities are those listed under `authorities:` in partnership.yaml.
A child who lives outside them and was harmed in the partnership (a child from another
area found at a trap house here, say) is counted under **"Lives outside the
partnership"**, apart from the partnership's own authorities and never dropped from the
total: their home postcode is placed in another authority by the postcode directory, or
only its district is known and no postcode of the partnership's geography is in that
district. A child with no recorded postcode is "Not known". The rule lives in the
`person_home` table (docs/data-model.md), so every question's `authority` breakdown uses
the same one.
"""


PERIODS = """\
## Periods

Every answer is for a period of whole calendar months ([insight.md](insight.md#periods)):

- **The partnership's default period**, `insight.default_period` in partnership.yaml
  (default `12 months`: the 12 whole months ending with the month of the reference date,
  November 2025 to October 2026 for a reference date of 31 October 2026), and **all
  time**. Both are stored in the release at build.
- **Any other months** asked for: `joinedup ask DIR QUESTION --from 2025-01-01 --to
  2025-12-31` (the first day of a month to the last day of one), or `?from=&to=` on a
  question's page and its JSON twin. These are counted on request from the question's
  stored unit rows, through the same disclosure control, and rounded to the nearest 5 so
  that comparing two periods cannot give a small number away.

A question's SQL dates each unit row with its `event_date` column; a row counts in a
period when that date is in it (a row without a date counts only in all time). So a
child counts in a period when an event that makes them count happened in it: for the
children-with-a-concern questions, a concern event; for `first_agency_to_record_concern`,
the first concern; for `journey_paths`, the journey's first step; for the missing
questions, the day the episode started; for `school_outcomes`, the suspension, exclusion
or term of absence; for `themes`, the month the note was written. Categories computed
over a unit's whole history (the number of missing episodes in `missing_children`, the
children linked to a person of concern in `persons_of_concern`) stay whole-history
figures; only who is counted follows the period. `network_groups` and `network_members`
have no date (a network is drawn from all the history): they answer for all time
whatever the period, and say so.

Every dated question has a monthly (`month`) and a quarterly (`quarter`) series among
its breakdowns. A month or quarter is marked incomplete when it runs past the reference
date, when the chosen period covers only part of it, or when an extract the question
draws on does not cover all of it. Each answer lists the history each of its sources
holds ("police crimes data from April 2023 to October 2026"): agencies send different
spans of history, so a long period rests on fewer sources in its early months.

Any two breakdowns can be crossed (`--by A --by B`, `?by=a&by=b`), for any period: the
crossed table's margins are the one-way tables of each breakdown exactly as published,
and its cells are protected around them so that no hidden count can be worked out by
differencing the crossed table, the one-way tables and the total.
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
    return f"{INTRO}\n{PERIODS}\n{index}\n\n{body}"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(questions_markdown())
