"""Data quality per source and agency (issue 7)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
