"""Documents generated from the configuration (issue 19): the ISA schedule, DPIA annex and
record of processing activities list every source, field, basis and purpose."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from joinedup.cli import cli
from joinedup.config import load_config
from joinedup.config.purposes import load_purposes, purpose_label
from joinedup.insight.questions import load_questions
from joinedup.pipeline.governance_docs import documents, to_html, to_markdown


def test_documents_list_every_source_field_basis_and_purpose(synth_small: Path) -> None:
    cfg = load_config(synth_small, check_files=False)
    docs = documents(cfg, load_questions(synth_small))
    isa = to_markdown("ISA", docs["isa-schedule"])
    ropa = to_markdown("ROPA", docs["ropa"])
    for s in cfg.sources:
        assert f"({s.id})" in isa and s.id in ropa
        for path, spec in s.field_specs().items():
            assert f"| {path} |" in isa, path
            if spec.column:
                assert spec.column.replace("|", "\\|") in isa
    for a in cfg.sharing_agreements:
        assert a.lawful_basis and a.lawful_basis in isa and a.lawful_basis in ropa
        for p in a.purposes:
            assert p in isa
        assert f"| Retention | {a.retention_years} years |" in isa
    for a in cfg.agencies:
        assert a.name in isa and a.name in ropa
    for p in load_purposes():
        assert p.label in isa and p.label in ropa
    for q in load_questions(synth_small):
        assert f"({q.id}) | " in isa
    assert "Strategic needs assessment" in isa and purpose_label("disruption") in isa
    page = to_html("ISA", docs["isa-schedule"])
    assert page.startswith('<!DOCTYPE html><html lang="en-GB">') and '<th scope="col">' in page


def test_permitted_purposes_and_controls_follow_the_configuration(synth_small: Path) -> None:
    cfg = load_config(synth_small, check_files=False)
    agreements = [
        a.model_copy(update={"permitted_purposes": ["disruption"]}) if i == 0 else a
        for i, a in enumerate(cfg.sharing_agreements)
    ]
    cfg = cfg.model_copy(update={"sharing_agreements": agreements})
    isa = to_markdown("ISA", documents(cfg, [])["isa-schedule"])
    assert "| Permitted purposes (enforced) | Disruption |" in isa
    assert "all purposes (no permitted_purposes set)" in isa
    dpia = to_markdown("DPIA", documents(cfg, [])["dpia-annex"])
    assert "counts below 5 at the strategic tier and below 10 at the community tier" in dpia


def test_build_writes_them_and_the_command_prints_pdfs(synth_built: Path, tmp_path: Path) -> None:
    folder = synth_built / "governance"
    for stem in ("isa-schedule", "dpia-annex", "ropa"):
        assert (folder / f"{stem}.md").is_file() and (folder / f"{stem}.html").is_file()
    root = tmp_path / "p"
    shutil.copytree(synth_built, root)
    result = CliRunner().invoke(cli, ["governance-docs", str(root)])
    assert result.exit_code == 0, result.output
    pdf = (root / "governance" / "isa-schedule.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"/StructTreeRoot" in pdf
