"""The web app: server-rendered pages, each with a ``.json`` twin.

Pages show only what ``joinedup.views`` returns for the visitor's tier; the web app
never queries a release itself.
"""

from __future__ import annotations

from joinedup.web.app import create_app, serve

__all__ = ["create_app", "serve"]
