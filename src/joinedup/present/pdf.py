"""HTML to PDF with headless Chromium (Playwright), the same engine the browser tests use.

Shared by the outputs that print (``joinedup.report``'s board report, the web app's
downloads and meeting packs): none of them imports another, so the printing lives here.
Chromium prints a page's own print stylesheet (``@page``, page breaks, running headings)
exactly as a browser shows it, and is present on locked-down machines where other PDF
engines are not (Chrome or Edge will do). The PDF is *tagged* by default: Chromium writes
the document's structure (headings, lists, tables with their header cells, figures with
their alternative text, the ``lang`` of the page) as a PDF structure tree, which is what
screen readers and PDF/UA checkers read, and the headings become the PDF's outline
(bookmarks).

The browser is found in this order: ``JOINEDUP_CHROMIUM`` (a path), then ``chromium``,
``chromium-browser``, ``google-chrome`` or ``msedge`` on the PATH, then a browser
Playwright installed itself.

Playwright is an optional dependency: ``pip install 'joinedup[pdf]'``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from joinedup.errors import JoinedupError

__all__ = [
    "CHROMIUM_ARGS",
    "PAGE_FOOTER",
    "PdfError",
    "chromium_executable",
    "html_to_pdf",
    "html_to_pdf_bytes",
    "launch_chromium",
]

#: Flags for a quiet, offline headless Chromium (no sandbox: it runs as a batch tool,
#: on our own local files only).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "msedge")

#: The running footer: "Page N of M", centred. Chromium draws it outside the page's
#: structure tree, as an artifact (it is not read out as part of the text).
PAGE_FOOTER = (
    '<div style="font-size:8px;width:100%;text-align:center;color:#444">'
    'Page <span class="pageNumber"></span> of <span class="totalPages"></span>'
    "</div>"
)


class PdfError(JoinedupError):
    """The PDF could not be made (no browser, or the browser failed)."""


def chromium_executable() -> str | None:
    """The Chromium-family browser to use, or None for Playwright's own."""
    env = os.environ.get("JOINEDUP_CHROMIUM")
    if env:
        if not Path(env).is_file():
            raise PdfError(f"JOINEDUP_CHROMIUM is {env}, which is not a file; fix or unset it.")
        return env
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def launch_chromium(playwright: Any) -> Any:
    """Launch headless Chromium through a started Playwright (``sync_playwright()``)."""
    exe = chromium_executable()
    try:
        return playwright.chromium.launch(
            executable_path=exe, args=list(CHROMIUM_ARGS), headless=True
        )
    except Exception as exc:  # Playwright raises its own Error types
        raise PdfError(
            f"Could not start Chromium ({type(exc).__name__}). Install Chromium (Debian: "
            "`apt-get install chromium`) or set JOINEDUP_CHROMIUM to a Chrome or Edge binary."
        ) from exc


def html_to_pdf_bytes(
    html: str,
    *,
    timeout_s: float = 60.0,
    tagged: bool = True,
    outline: bool = True,
    footer: str = PAGE_FOOTER,
) -> bytes:
    """Print a self-contained HTML document as an A4 PDF and return its bytes.

    ``tagged`` writes the structure tree (PDF/UA's headings, tables, figures and
    language); ``outline`` turns the headings into bookmarks. The HTML should carry
    ``<html lang="...">`` and a ``<title>``: they become the PDF's language and title.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise PdfError(
            "Making a PDF needs Playwright: pip install 'joinedup[pdf]' (it uses the "
            "Chromium already on this machine)."
        ) from None
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page()
            page.set_default_timeout(timeout_s * 1000)
            page.set_content(html, wait_until="load")
            page.emulate_media(media="print")
            data: bytes = page.pdf(
                format="A4",
                print_background=True,
                prefer_css_page_size=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=footer,
                margin={"top": "15mm", "bottom": "18mm", "left": "15mm", "right": "15mm"},
                tagged=tagged,
                outline=outline,
            )
        except PdfError:
            raise
        except Exception as exc:  # Playwright's own errors: timeouts, a crashed page
            raise PdfError(
                f"Chromium could not print the PDF ({type(exc).__name__}); try again, and if "
                "it keeps failing, check that Chromium runs on this machine."
            ) from exc
        finally:
            browser.close()
    return data


def html_to_pdf(
    html: str,
    out: Path,
    *,
    timeout_s: float = 60.0,
    tagged: bool = True,
    outline: bool = True,
) -> Path:
    """Print a self-contained HTML document to ``out`` as an A4 PDF (tagged by default)."""
    out = Path(out)
    data = html_to_pdf_bytes(html, timeout_s=timeout_s, tagged=tagged, outline=outline)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out
