"""partnership.yaml validation: every problem at once, by key path, with how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from joinedup.config import load_config
from joinedup.errors import ConfigError


def _edit(root: Path, fn: object) -> None:
    path = root / "partnership.yaml"
    data = yaml.safe_load(path.read_text())
    fn(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _problems(root: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(root)
    return [str(p) for p in info.value.problems]


def test_mini_config_loads(mini: Path) -> None:
    cfg = load_config(mini)
    assert [s.id for s in cfg.sources] == ["police_crimes", "health_ae"]
    crimes = cfg.source("police_crimes")
    assert crimes.encoding == "cp1252"
    assert crimes.identity.dob is not None and crimes.identity.dob.formats == ["%d/%m/%Y"]
    # a bare column name is shorthand for {column: NAME}
    assert crimes.identity.forename is not None and crimes.identity.forename.column == "Forename"


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No partnership.yaml"):
        load_config(tmp_path)


def test_invalid_yaml_names_the_line(mini: Path) -> None:
    (mini / "partnership.yaml").write_text("partnership:\n  name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"line \d+, column \d+"):
        load_config(mini)


def test_unknown_and_missing_keys_are_reported_together(mini: Path) -> None:
    def change(d: dict) -> None:  # type: ignore[type-arg]
        d["partnership"]["nmae"] = "typo"
        d["sources"][0]["identity"]["date_of_birth"] = "DOB"
        del d["sources"][1]["record"]
        d["sources"][1]["format"] = "docx"

    _edit(mini, change)
    problems = _problems(mini)
    text = "\n".join(problems)
    assert "partnership.nmae: unknown key" in text
    assert "sources[0] (police_crimes).identity.date_of_birth: unknown key" in text
    assert "sources[1] (health_ae).record: required key is missing" in text
    assert "sources[1] (health_ae).format" in text
    assert len(problems) == 4


def test_cross_references_are_checked(mini: Path) -> None:
    def change(d: dict) -> None:  # type: ignore[type-arg]
        d["sources"][0]["agency"] = "fire"
        d["sources"][0]["sharing_agreement"] = "none"
        d["sources"][0]["role"]["crosswalk"] = "missing_cw"
        d["sources"][1]["file"] = "extracts/nothing_*.csv"
        d["crosswalks"]["flags"]["codes"]["XX"] = "not_a_type"
        d["agencies"].append({"id": "police", "name": "Again", "type": "police"})

    _edit(mini, change)
    text = "\n".join(_problems(mini))
    assert "sources[0] (police_crimes).agency: 'fire' is not a declared agency" in text
    assert "'none' is not a declared sharing agreement" in text
    assert "no crosswalk named 'missing_cw'" in text
    assert "sources[1] (health_ae).file: no file matches 'extracts/nothing_*.csv'" in text
    assert "crosswalks.flags" in text and "not_a_type" in text
    assert "agencies: 'police' is used more than once" in text


def test_field_spec_needs_exactly_one_origin(mini: Path) -> None:
    def change(d: dict) -> None:  # type: ignore[type-arg]
        d["sources"][0]["identity"]["dob"] = {"column": "DOB", "value": "x"}

    _edit(mini, change)
    text = "\n".join(_problems(mini))
    assert "identity.dob" in text and "exactly one of 'column', 'columns' or 'value'" in text


def test_numeric_crosswalk_codes_are_read_as_text(mini: Path) -> None:
    def change(d: dict) -> None:  # type: ignore[type-arg]
        d["crosswalks"]["sexes"] = {"list": "sex", "codes": {1: "M", 2: "F", 9: "U"}}

    _edit(mini, change)
    cfg = load_config(mini)
    assert cfg.crosswalks["sexes"].codes == {"1": "M", "2": "F", "9": "U"}


def test_every_config_key_is_documented() -> None:
    from pydantic import BaseModel

    from joinedup.config.model import PartnershipConfig

    doc = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text()
    seen: set[type] = set()
    missing: list[str] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        if model in seen:
            return
        seen.add(model)
        for name, info in model.model_fields.items():
            key = info.alias or name
            if f"`{key}`" not in doc:
                missing.append(prefix + key)
            for arg in _model_args(info.annotation):
                walk(arg, f"{prefix}{key}.")

    walk(PartnershipConfig, "")
    assert not missing, f"undocumented keys in docs/configuration.md: {missing}"


def _model_args(annotation: object) -> list[type]:
    import typing

    from pydantic import BaseModel

    out = []
    stack = [annotation]
    while stack:
        a = stack.pop()
        if isinstance(a, type) and issubclass(a, BaseModel):
            out.append(a)
        stack.extend(typing.get_args(a))
    return out
