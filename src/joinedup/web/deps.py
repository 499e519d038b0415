"""Dependencies shared by the routes: the app's settings and the viewer's tier.

Authorisation arrives in a later issue. Its seam is :func:`get_tier`: today every
visitor gets the strategic tier (disclosure-controlled aggregates only); later it will
read the signed-in user's role and agency.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from joinedup.disclosure import ReleaseLike, Tier

__all__ = ["SettingsDep", "TierDep", "WebSettings", "get_settings", "get_tier"]


@dataclass(frozen=True)
class WebSettings:
    partnership_dir: Path
    open_release: Callable[[Path], ReleaseLike] | None = None


def get_settings(request: Request) -> WebSettings:
    settings = request.app.state.settings
    assert isinstance(settings, WebSettings)
    return settings


def get_tier() -> Tier:
    """The tier of the current visitor: strategic until authorisation lands."""
    return Tier.STRATEGIC


SettingsDep = Annotated[WebSettings, Depends(get_settings)]
TierDep = Annotated[Tier, Depends(get_tier)]
