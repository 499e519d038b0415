"""`joinedup questions` and `joinedup ask`: formats, disclosure control, tiers, errors,
CSV that is safe in a spreadsheet, and `joinedup check` validating a partnership's own
questions."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from click.testing import CliRunner

from joinedup.cli import cli
from joinedup.views.answers import answer_csv, csv_safe, wilson_interval


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_help_has_examples() -> None:
    for name in ("questions", "ask"):
        code, out, _ = run(name, "--help")
        assert code == 0 and "Example" in out


def test_questions_lists_the_pack(synth_insight: Path) -> None:
    code, out, _ = run("questions", str(synth_insight), "--format", "json")
    assert code == 0
    listing = json.loads(out)
    ids = {q["id"] for q in listing["questions"]}
    assert {"children_with_concern", "places_of_concern", "disproportionality"} <= ids
    for q in listing["questions"]:
        assert q["headline"] == "c" or isinstance(q["headline"], int)
    code, out, _ = run("questions", str(synth_insight))
    assert code == 0 and "children_with_concern:" in out and "--by exploitation_type" in out


def test_ask_json_is_protected(synth_insight: Path) -> None:
    code, out, _ = run(
        "ask", str(synth_insight), "children_with_concern", "--by", "ward", "--format", "json"
    )
    assert code == 0
    answer = json.loads(out)
    assert answer["tier"] == "strategic" and answer["breakdown"] == "ward"
    counts = [r["count"] for r in answer["rows"]]
    assert all(c == "c" or c == 0 or c > 5 for c in counts)
    assert "c" in counts  # 400 people over 17 wards: some wards are small
    assert answer["rows"][-1]["category"] == "Total" and isinstance(
        answer["rows"][-1]["count"], int
    )


def test_ask_table_and_csv(synth_insight: Path) -> None:
    code, out, _ = run("ask", str(synth_insight), "disproportionality", "--by", "sex")
    assert code == 0
    assert "Per 10,000 children living in the area" in out and "Caveat:" in out
    code, out, _ = run(
        "ask", str(synth_insight), "disproportionality", "--by", "sex", "--format", "csv"
    )
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:2] == ["Sex", "Children"]
    assert rows[-1][0] == "Total"
    total = rows[-1]
    rate, low, high = float(total[3]), float(total[4]), float(total[5])
    assert low < rate < high
    assert abs(rate - int(total[1]) / float(total[2]) * 10_000) < 0.01


def test_ask_errors(synth_insight: Path) -> None:
    code, _, err = run("ask", str(synth_insight), "no_such_question")
    assert code == 1 and "There is no question 'no_such_question'" in err
    code, _, err = run("ask", str(synth_insight), "children_with_concern", "--by", "shoe_size")
    assert code == 1 and "no breakdown 'shoe_size'" in err and "exploitation_type" in err
    code, _, err = run("ask", str(synth_insight), "children_with_concern", "--tier", "community")
    assert code == 1 and "not available at the community tier" in err
    code, _, err = run("ask", str(synth_insight), "themes", "--tier", "community")
    assert code == 1 and "brightpath_support" in err  # its agreement excludes community
    code, _, _ = run("ask", str(synth_insight), "themes", "--tier", "secret")
    assert code == 2


def test_ask_without_release(mini: Path) -> None:
    code, _, err = run("ask", str(mini), "children_with_concern")
    assert code == 1 and "joinedup build" in err


def test_csv_neutralises_formulas() -> None:
    assert csv_safe('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    for bad in ("+1", "-1+2", "@SUM(A1)", "\tx", "\rx", "|cmd"):
        assert csv_safe(bad).startswith("'")
    assert csv_safe(-3) == -3 and csv_safe("Golden Grill") == "Golden Grill"
    answer = {
        "columns": [{"key": "category", "label": "Place"}, {"key": "count", "label": "Children"}],
        "rows": [{"category": "=cmd|' /C calc'!A0", "count": 7}, {"category": "Total", "count": 7}],
    }
    out = answer_csv(answer)
    assert "\n'=cmd" in out and not re.search(r"(^|,|\n)=", out)


def test_wilson_interval() -> None:
    lo, hi = wilson_interval(10, 100)
    assert round(lo, 4) == 0.0552 and round(hi, 4) == 0.1744
    assert wilson_interval(0, 50)[0] == 0.0


BAD_QUESTION = """\
id: bad_question
question: How many?
definition: Nothing much.
unit: children
sql: SELECT person_id AS unit_id FROM persons
breakdowns:
  colour: Colour
"""

GOOD_QUESTION = """\
id: our_question
question: How many children are in the release?
definition: Every person under 18.
unit: children
sql: SELECT person_id AS unit_id, sex FROM person WHERE age < 18
breakdowns:
  sex: Sex
"""


def test_check_validates_partnership_questions(mini: Path) -> None:
    (mini / "questions").mkdir()
    (mini / "questions" / "our_question.yaml").write_text(GOOD_QUESTION, encoding="utf-8")
    code, out, _ = run("check", str(mini))
    assert code == 0 and "1 of the partnership's own are valid" in out
    (mini / "questions" / "bad_question.yaml").write_text(BAD_QUESTION, encoding="utf-8")
    (mini / "questions" / "dup.yaml").write_text("id: [not, a, name]\n", encoding="utf-8")
    code, _, err = run("check", str(mini))
    assert code == 1
    assert "questions/bad_question.yaml: sql" in err and "docs/data-model.md" in err
    assert "questions/dup.yaml: id" in err
    # a partnership question is answered at build and can be asked
    (mini / "questions" / "bad_question.yaml").unlink()
    (mini / "questions" / "dup.yaml").unlink()
    code, out, _ = run("build", str(mini))
    assert code == 0, out
    code, out, _ = run("ask", str(mini), "our_question", "--by", "sex", "--format", "json")
    assert code == 0
    answer = json.loads(out)
    assert answer["question"]["origin"] == "partnership"


# --- periods and crossed answers (issue 14) ---------------------------------------------


def _rows(out: str) -> dict[tuple[str, ...], object]:
    answer = json.loads(out)
    keys = [c["key"] for c in answer["columns"] if c["key"].startswith("category")]
    return {tuple(r[k] for k in keys): r["count"] for r in answer["rows"]}


def test_ask_by_twice_gives_a_cross_with_the_one_way_margins(synth_insight: Path) -> None:
    base = ["ask", str(synth_insight), "children_with_concern", "--format", "json"]
    for when in ([], ["--period", "all"], ["--from", "2025-01-01", "--to", "2025-12-31"]):
        code, out, err = run(*base, "--by", "exploitation_type", "--by", "authority", *when)
        assert code == 0, err
        cross = json.loads(out)
        assert cross["by"] == ["exploitation_type", "authority"]
        cells = _rows(out)
        by_type = _rows(run(*base, "--by", "exploitation_type", *when)[1])
        by_area = _rows(run(*base, "--by", "authority", *when)[1])
        # the margins are exactly what the one-way answers publish for the same period
        for (t,), n in by_type.items():
            assert cells[(t, "Total")] == n
        for (a,), n in by_area.items():
            assert cells[("Total", a)] == n
        assert all(v == "c" or v == 0 or v >= 5 for v in cells.values())  # 5: rounded
    assert cross["period"]["from"] == "2025-01-01" and cross["period"]["stored"] is False
    code, out, _ = run(*base, "--by", "exploitation_type", "--by", "authority", "--format", "table")
    assert code == 0 and "Period: " in out


def test_ask_default_period_is_the_partnership_default(synth_insight: Path) -> None:
    code, out, _ = run("ask", str(synth_insight), "concern_events", "--format", "json")
    default = json.loads(out)
    assert default["period"]["key"] == "default" and default["period"]["from"] == "2025-11-01"
    code, out, _ = run(
        "ask", str(synth_insight), "concern_events", "--period", "all", "--format", "json"
    )
    whole = json.loads(out)
    assert whole["rows"][-1]["count"] > default["rows"][-1]["count"]  # older events left out
    assert any("data from" in h["text"] for h in whole["history"])


def test_ask_period_errors_name_the_options(synth_insight: Path) -> None:
    ask = ["ask", str(synth_insight), "children_with_concern"]
    code, _, err = run(*ask, "--from", "2025-12-01", "--to", "2025-01-31")
    assert code == 1 and "--from 2025-12-01 is later than --to 2025-01-31" in err
    code, _, err = run(*ask, "--from", "2025-02-30")
    assert code == 1 and "--from '2025-02-30' is not a date" in err and "YYYY-MM-DD" in err
    code, _, err = run(*ask, "--to", "yesterday")
    assert code == 1 and "--to 'yesterday' is not a date" in err
    code, _, err = run(*ask, "--from", "2025-01-15")
    assert code == 1 and "not the first day of a month" in err and "2025-01-01" in err
    code, _, err = run(*ask, "--by", "sex", "--by", "sex")
    assert code == 1 and "given twice" in err
    code, _, err = run(*ask, "--period", "all", "--from", "2025-01-01")
    assert code == 1 and "not both" in err
