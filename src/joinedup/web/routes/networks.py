"""Networks: groups of children and persons of concern, pseudonymised (issue 7)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
