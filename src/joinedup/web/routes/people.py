"""Cohorts and person timelines at the operational tier, audited (issue 7)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
