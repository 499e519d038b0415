"""Data quality: per source and field, measured at every build and reported.

Field counts (filled, valid, formula-like, unmapped codes) come from the mapping stage;
this stage turns them, with the canonical tables, into measures in six dimensions
(:mod:`joinedup.quality.measures`), ranked advice per agency
(:mod:`joinedup.quality.advice`), a comparison with the previous release, and
``quality.json`` + ``quality.html`` in the release folder.
"""

from __future__ import annotations

from joinedup.quality.advice import FIELD_WEIGHTS, Advice, advise
from joinedup.quality.measures import AGE_RANGES, date_coverage_sql, measures_sql
from joinedup.quality.report import REPORT_HTML, REPORT_JSON, quality_report, render_html
from joinedup.quality.stage import compare_sql, run_quality, source_age_ranges

__all__ = [
    "AGE_RANGES",
    "FIELD_WEIGHTS",
    "REPORT_HTML",
    "REPORT_JSON",
    "Advice",
    "advise",
    "compare_sql",
    "date_coverage_sql",
    "measures_sql",
    "quality_report",
    "render_html",
    "run_quality",
    "source_age_ranges",
]
