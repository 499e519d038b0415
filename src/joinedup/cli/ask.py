"""Questions and answers: ``questions`` lists them, ``ask`` prints one answer (audited,
as the web audits a download of the same table)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from joinedup.cli._common import DIR, TIER, handle_errors

__all__ = ["ask", "questions"]


@click.command()
@DIR
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@TIER
@handle_errors
def questions(directory: Path, fmt: str, tier: str) -> None:
    """List the questions answered in DIR's current release, with their headline figure.

    \b
    Examples:
      joinedup questions ./demo
      joinedup questions ./demo --format json
    """
    from joinedup.disclosure import Tier
    from joinedup.views.questions import current_questions

    listing = current_questions(directory, Tier(tier))
    if fmt == "json":
        click.echo(json.dumps(listing, indent=1, ensure_ascii=False))
        return
    click.echo(f"Release {listing['release_id']}, {tier} tier:")
    for q in listing["questions"]:
        head = q["headline"] if q["available"] else "(not at this tier)"
        by = ", ".join(q["breakdowns"]) or "-"
        click.echo(f"  {q['id']}: {head} {q['unit']}")
        click.echo(f"      {q['question']}")
        click.echo(f"      --by {by}")


@click.command()
@DIR
@click.argument("question")
@click.option(
    "--by",
    "by",
    metavar="FIELD",
    multiple=True,
    help="Break the answer down by FIELD; give it twice to cross two breakdowns.",
)
@click.option(
    "--from",
    "start",
    metavar="YYYY-MM-DD",
    help="First day of the period (the first of a month). Default: the partnership's period.",
)
@click.option(
    "--to",
    "end",
    metavar="YYYY-MM-DD",
    help="Last day of the period (the last of a month).",
)
@click.option(
    "--period",
    type=click.Choice(["default", "all"]),
    default=None,
    help="A standard period: the partnership's default, or all time.",
)
@TIER
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@handle_errors
def ask(
    directory: Path,
    question: str,
    by: tuple[str, ...],
    start: str | None,
    end: str | None,
    period: str | None,
    tier: str,
    fmt: str,
) -> None:
    """Print one question's answer from DIR's current release, through disclosure control.

    Counts from 1 to the tier's threshold are shown as "c". CSV output is safe to open
    in a spreadsheet (no cell runs as a formula). Without --from/--to or --period the
    answer is for the partnership's default period (insight.default_period).

    \b
    Examples:
      joinedup ask ./demo children_with_concern --by exploitation_type
      joinedup ask ./demo disproportionality --by ethnicity --format csv > rates.csv
      joinedup ask ./demo children_with_concern --by exploitation_type --by authority \\
        --from 2025-01-01 --to 2025-12-31
      joinedup ask ./demo missing_episodes_rhi --by quarter --period all
    """
    from joinedup.access import audit_output
    from joinedup.disclosure import Tier
    from joinedup.views import answer_csv, answer_rows, current_answer

    answer = current_answer(
        directory, question, by=by, tier=Tier(tier), start=start, end=end, period=period
    )
    q = answer["question"]
    when = answer["period"]
    # recorded before a figure is printed: nothing leaves without its entry
    audit_output(
        directory,
        command="ask",
        target=str(q["id"]),
        tier=str(answer["tier"]),
        fmt=fmt,
        output="stdout",
        release_id=str(answer["release_id"]),
        sources=[str(s) for s in q["sources"]],
        detail={
            "question": str(q["id"]),
            "by": ",".join(answer["by"]) or "none",
            "period": f"{when['from'] or 'start'}..{when['to'] or 'end'}",
        },
    )
    if fmt == "json":
        click.echo(json.dumps(answer, indent=1, ensure_ascii=False))
        return
    if fmt == "csv":
        click.echo(answer_csv(answer), nl=False)
        return
    click.echo(q["question"])
    click.echo(f"Period: {when['label']}")
    labels, rows = answer_rows(answer)
    text = [[_cell(x) for x in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) for i, h in enumerate(labels)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(labels, widths, strict=True)).rstrip())
    for r in text:
        click.echo("  ".join(x.ljust(w) for x, w in zip(r, widths, strict=True)).rstrip())
    click.echo("")
    click.echo(f"Definition: {q['definition']}")
    if when.get("note"):
        click.echo(f"Period: {when['note']}")
    for h in answer.get("history", []):
        click.echo(f"History: {h['text']}")
    for caveat in q["caveats"]:
        click.echo(f"Caveat: {caveat}")
    click.echo(answer["disclosure"]["footnote"])
    if answer.get("scope") and answer["scope"].get("note"):
        click.echo(answer["scope"]["note"])


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)
