"""Sources and releases: upload an extract, build with live progress, compare (issue 7)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
