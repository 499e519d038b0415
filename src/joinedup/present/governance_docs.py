"""The governance documents as accessible PDFs (issue 19).

The documents themselves (the ISA schedule, the DPIA annex and the record of processing
activities) are generated from the configuration by
:mod:`joinedup.pipeline.governance_docs` at every build, as Markdown and HTML; this
module prints each HTML document as a tagged PDF (headings, tables with header cells,
the document's language) with :func:`joinedup.present.pdf.html_to_pdf`.
"""

from __future__ import annotations

from pathlib import Path

from joinedup.config import load_config
from joinedup.insight.questions import load_questions
from joinedup.pipeline.governance_docs import DOCUMENTS, GOVERNANCE_DIR, write_documents
from joinedup.present.pdf import html_to_pdf

__all__ = ["write_governance_pdfs"]


def write_governance_pdfs(partnership_dir: Path, *, pdf: bool = True) -> list[Path]:
    """Write every document into ``DIR/governance/`` as Markdown, HTML and (with ``pdf``)
    a tagged PDF; the paths written."""
    base = Path(partnership_dir)
    config = load_config(base, check_files=False)
    written = write_documents(base, config, load_questions(base))
    if pdf:
        folder = base / GOVERNANCE_DIR
        for stem in DOCUMENTS:
            page = (folder / f"{stem}.html").read_text(encoding="utf-8")
            written.append(html_to_pdf(page, folder / f"{stem}.pdf"))
    return written
