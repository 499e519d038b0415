"""Places: a map of small areas, hotspots, place types and time windows (issue 7)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
