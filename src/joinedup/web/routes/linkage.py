"""The linkage report and the review queue of uncertain pairs (issues 4 and 7)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
