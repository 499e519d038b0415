"""Questions: every question's answer with chart, table, breakdown and caveats (issue 7)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
