"""The shared definitions: data files, loader, crosswalks, tables and docs/taxonomy.md."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import joinedup.taxonomy as taxonomy_pkg
from joinedup.errors import ConfigError
from joinedup.taxonomy import (
    TABLE_COLUMNS,
    Entry,
    available_versions,
    compile_crosswalk,
    current_version,
    load_crosswalk_csv,
    load_taxonomy,
    normalise_local_code,
    split_targets,
    taxonomy_tables,
    validate_crosswalk,
    write_crosswalk_csv,
)
from joinedup.taxonomy.docs import render_markdown

ROOT = Path(__file__).resolve().parents[1]

# Copied from docs/internal/conventions.md: other modules rely on these exact codes.
CONVENTIONS = {
    "exploitation_type": {
        "cse",
        "cce",
        "county_lines",
        "cuckooing",
        "online",
        "trafficking",
        "labour",
        "domestic_servitude",
        "organ_harvesting",
        "financial",
        "radicalisation",
        "other",
        "type_not_stated",
    },
    "event_type": {
        "contact",
        "referral",
        "assessment",
        "strategy_discussion",
        "missing_episode",
        "return_home_interview",
        "crime",
        "incident",
        "arrest",
        "stop_search",
        "intelligence",
        "nrm_referral",
        "ae_attendance",
        "suspension",
        "permanent_exclusion",
        "absence",
        "youth_justice_outcome",
        "support_episode",
        "safeguarding_concern",
        "screening",
        # issue 21: interventions
        "support_programme",
        "disruption",
        "safety_planning",
        "step_down",
        # issue 18: what a multi-agency panel decided and did
        "panel_discussion",
        "panel_action",
    },
    "role": {"subject", "victim", "person_of_concern", "associate", "witness"},
    "place_type": {
        "home",
        "other_residential",
        "school",
        "park",
        "takeaway",
        "shop",
        "hotel",
        "transport",
        "street",
        "licensed_premises",
        "leisure",
        "online",
        "other",
        "unknown",
    },
    "sex": {"F", "M", "U"},
    "ethnicity": set(
        "WBRI WIRI WIRT WOTH WROM MWBC MWBA MWAS MOTH AIND APKN ABAN AOTH BCRB BAFR BOTH "
        "CHNE OOTH REFU NOBT".split()
    ),
    "group_type": {"county_line", "organised_group", "peer_group"},
    "tier": {"operational", "strategic", "community"},
}
PARENTS = {
    "county_lines": "cce",
    "cuckooing": "cce",
    "labour": "trafficking",
    "domestic_servitude": "trafficking",
    "organ_harvesting": "trafficking",
}
REPORT_GROUPS = {
    "CSE": {"cse"},
    "CCE and county lines": {"cce", "county_lines", "cuckooing"},
    "Online": {"online"},
    "Trafficking and modern slavery": {
        "trafficking",
        "labour",
        "domestic_servitude",
        "organ_harvesting",
    },
    "Other": {"financial", "radicalisation", "other"},
    "Type not stated": {"type_not_stated"},
}
ETHNICITY_GROUPS = {
    "White": {"WBRI", "WIRI", "WIRT", "WOTH", "WROM"},
    "Mixed": {"MWBC", "MWBA", "MWAS", "MOTH"},
    "Asian": {"AIND", "APKN", "ABAN", "AOTH"},
    "Black": {"BCRB", "BAFR", "BOTH"},
    "Chinese or other": {"CHNE", "OOTH"},
    "Not known": {"REFU", "NOBT"},
}


@pytest.fixture(scope="module")
def tax():
    return load_taxonomy()


# --- loading -----------------------------------------------------------------------------


def test_every_list_loads_with_labelled_entries(tax):
    assert tax.version == "2026.1" == current_version()
    assert set(tax.list_names()) == set(CONVENTIONS) | {
        "context",
        "cin_factor",
        "nrm_type",
        "cin_referral_source",
        "home_office_offence",
        "dfe_exclusion_reason",
        "violence_type",  # issue 21: youth violence, and the offence crosswalk onto it
        "home_office_violence",
    }
    for name in tax.list_names():
        assert tax.codes(name), name
        for code, entry in tax.lists[name].items():
            assert entry.code == code
            assert entry.label.strip(), (name, code)
            assert entry.verified or entry.note, f"{name} {code}: unverified needs a note"


def test_load_is_cached_and_versions_are_listed(tax):
    assert load_taxonomy() is tax
    assert load_taxonomy("2026.1") is tax
    assert "2026.1" in available_versions()


def test_unknown_version_lists_available_versions():
    with pytest.raises(ConfigError) as info:
        load_taxonomy("1999.9")
    message = str(info.value)
    assert "'1999.9'" in message
    assert "2026.1" in message
    assert "taxonomy_version" in message


@pytest.mark.parametrize("name", sorted(CONVENTIONS))
def test_fixed_lists_hold_exactly_the_conventions_codes(tax, name):
    assert tax.codes(name) == CONVENTIONS[name]
    assert tax.info[name].fixed


def test_exploitation_parents_exist_and_match_conventions(tax):
    parents = {c: e.parent for c, e in tax.lists["exploitation_type"].items() if e.parent}
    assert parents == PARENTS
    assert all(p in tax.codes("exploitation_type") for p in parents.values())
    assert tax.parent("cse") is None
    assert tax.ancestors("county_lines") == ("county_lines", "cce")


def test_report_groups_are_the_five_named(tax):
    assert tax.report_groups == tuple(REPORT_GROUPS)
    for group, codes in REPORT_GROUPS.items():
        for code in codes:
            assert tax.report_group(code) == group


def test_exploitation_types_and_contexts_have_definitions_and_sources(tax):
    for name in ("exploitation_type", "context"):
        for code, entry in tax.lists[name].items():
            assert entry.definition and len(entry.definition) > 40, (name, code)
            assert entry.source, (name, code)
    assert (
        "Working Together to Safeguard Children 2023"
        in tax.entry("exploitation_type", "cse").source
    )
    assert (
        "Working Together to Safeguard Children 2023"
        in tax.entry("exploitation_type", "cce").source
    )
    assert "Modern Slavery Act 2015" in tax.entry("exploitation_type", "trafficking").source
    contexts = tax.codes("context")
    assert {"peer_group", "school", "neighbourhood", "online", "organised_crime_group"} <= contexts
    assert {"gang", "intimate_relationship"} <= contexts


def test_every_ethnicity_code_has_its_census_group(tax):
    assert tax.ethnicity_groups == tuple(ETHNICITY_GROUPS)
    for group, codes in ETHNICITY_GROUPS.items():
        for code in codes:
            assert tax.ethnicity_group(code) == group
    assert tax.label("ethnicity", "WBRI") == "White - British"
    assert tax.label("ethnicity", "MWBC") == "White and Black Caribbean"
    assert tax.label("ethnicity", "REFU") == "Refused"
    assert tax.label("ethnicity", "NOBT") == "Information not yet obtained"


def test_cin_factors_for_exploitation_have_the_right_meaning_and_mapping(tax):
    cin = tax.crosswalk("cin_factor")
    assert tax.label("cin_factor", "10A") == "Going or being missing"
    assert cin["10A"] == ()
    assert tax.entry("cin_factor", "10A").flags == ("missing",)
    assert tax.label("cin_factor", "11A") == "Child sexual exploitation"
    assert cin["11A"] == ("cse",)
    assert tax.label("cin_factor", "12A") == "Trafficking"
    assert cin["12A"] == ("trafficking",)
    assert tax.label("cin_factor", "13A") == "Gangs"
    assert cin["13A"] == ("cce",)
    assert tax.label("cin_factor", "24A") == "Child criminal exploitation"
    assert cin["24A"] == ("cce",)
    for code in ("10A", "11A", "12A", "13A", "24A"):
        assert tax.entry("cin_factor", code).verified
    mapped = {code for code, targets in cin.items() if targets}
    assert mapped == {"11A", "12A", "13A", "24A"}
    assert {"1A", "1B", "1C", "6C", "7A", "9A", "16A", "19A", "20", "21", "22A", "23A"} <= set(cin)


def test_nrm_types_map_as_agreed(tax):
    nrm = tax.crosswalk("nrm_type")
    assert nrm["sexual"] == ("cse",)
    assert nrm["criminal"] == ("cce",)
    assert nrm["labour"] == ("labour",)
    assert nrm["domestic_servitude"] == ("domestic_servitude",)
    assert nrm["organ_harvesting"] == ("organ_harvesting",)
    for targets in nrm.values():
        assert set(targets) <= tax.codes("exploitation_type")


def test_unknown_names_raise_config_errors_that_list_valid_choices(tax):
    with pytest.raises(ConfigError, match="Use one of: .*exploitation_type"):
        tax.codes("exploitation")
    with pytest.raises(ConfigError, match="Use one of: F, M, U"):
        tax.label("sex", "X")
    with pytest.raises(ConfigError, match="cin_factor, cin_referral_source, .*, nrm_type"):
        tax.crosswalk("police")


def test_taxonomy_cannot_be_changed_in_place(tax):
    with pytest.raises(TypeError):
        tax.lists["sex"]["X"] = Entry(code="X", label="x")  # type: ignore[index]
    with pytest.raises(TypeError):
        tax.lists["new"] = {}  # type: ignore[index]


def test_canonical_matches_codes_case_insensitively(tax):
    assert tax.canonical("sex", " f ") == "F"
    assert tax.canonical("exploitation_type", "CSE") == "cse"
    assert tax.canonical("ethnicity", "mwbc") == "MWBC"
    assert tax.canonical("sex", "female") is None


# --- crosswalks --------------------------------------------------------------------------


def test_a_sound_crosswalk_has_no_problems(tax):
    codes = {"CSE": "cse", "CL": "county_lines;cce", "Misper": "", "ccE": ["CCE"]}
    assert validate_crosswalk(tax, "exploitation_type", codes) == []


def test_unknown_target_codes_are_reported_with_the_valid_codes(tax):
    problems = validate_crosswalk(tax, "exploitation_type", {"CSE": "cse", "XX": "sexual"})
    assert len(problems) == 1
    assert "'XX'" in problems[0] and "'sexual'" in problems[0]
    assert "use one of: cse, cce, county_lines" in problems[0]


def test_unknown_list_names_are_reported_with_the_valid_lists(tax):
    problems = validate_crosswalk(tax, "exploitation", {"CSE": "cse"})
    assert len(problems) == 1
    assert "'exploitation'" in problems[0]
    assert "exploitation_type" in problems[0] and "place_type" in problems[0]


def test_several_codes_only_for_lists_that_take_several(tax):
    problems = validate_crosswalk(tax, "sex", {"X": "F;M"})
    assert len(problems) == 1
    assert "takes one code per value" in problems[0]


def test_duplicate_local_codes_that_map_differently_are_reported(tax):
    problems = validate_crosswalk(tax, "exploitation_type", {"CSE": "cse", " cse ": "cce"})
    assert len(problems) == 1
    assert "ignores case and spacing" in problems[0]
    assert validate_crosswalk(tax, "exploitation_type", {"CSE": "cse", " cse ": "CSE"}) == []


def test_undeclared_local_codes_say_how_to_declare_them(tax):
    problems = validate_crosswalk(tax, "exploitation_type", {"HATE": "local_hate"})
    assert len(problems) == 1
    assert "taxonomy_extensions.exploitation_type" in problems[0]


def test_compiled_crosswalk_matches_local_codes_loosely(tax):
    walk = compile_crosswalk(
        tax, "exploitation_type", {"County Lines": "county_lines; CCE", "NFA": ""}
    )
    assert walk.lookup("  county   LINES\t") == ("county_lines", "cce")
    assert walk.lookup("nfa") == ()
    assert walk.lookup("unknown") is None
    assert "COUNTY LINES" in walk and len(walk) == 2
    with pytest.raises(ConfigError, match="police_flags is not valid"):
        compile_crosswalk(tax, "exploitation_type", {"A": "nope"}, where="police_flags")


def test_split_targets_and_normalise():
    assert split_targets(" county_lines ;cce; ") == ("county_lines", "cce")
    assert split_targets(["cse", " "]) == ("cse",)
    assert split_targets("") == ()
    assert normalise_local_code("  Child \t Sexual  EXPLOITATION ") == "child sexual exploitation"


def test_csv_crosswalk_round_trip(tmp_path, tax):
    codes = {"CSE": "cse", "County lines, drugs": "county_lines;cce", "NFA": ""}
    path = tmp_path / "flags.csv"
    write_crosswalk_csv(path, codes)
    assert path.read_text(encoding="utf-8").splitlines()[0] == "local_code,code"
    assert load_crosswalk_csv(path) == codes
    assert validate_crosswalk(tax, "exploitation_type", load_crosswalk_csv(path)) == []


def test_csv_crosswalk_accepts_bom_extra_columns_and_header_case(tmp_path):
    path = tmp_path / "flags.csv"
    path.write_text(
        "\ufeffLocal_Code , Code ,description\r\n CSE ,cse,Child sexual\r\n\r\n",
        encoding="utf-8",
    )
    assert load_crosswalk_csv(path) == {"CSE": "cse"}


def test_csv_crosswalk_without_the_columns_says_which_are_needed(tmp_path):
    path = tmp_path / "flags.csv"
    path.write_text("local,taxonomy\nCSE,cse\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_crosswalk_csv(path)
    message = str(info.value)
    assert str(path) in message and "row 1" in message
    assert "local_code, code" in message


def test_csv_crosswalk_conflicting_rows_are_named(tmp_path):
    path = tmp_path / "flags.csv"
    path.write_text("local_code,code\nCSE,cse\ncce,cce\n cse ,cce\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="rows 2 and 4, column local_code"):
        load_crosswalk_csv(path)


def test_csv_crosswalk_missing_file_says_where_to_look(tmp_path):
    with pytest.raises(ConfigError, match="file: path in partnership.yaml"):
        load_crosswalk_csv(tmp_path / "missing.csv")


_LOCAL_CHARS = st.sampled_from(list("abcXYZ019 -/&,\"'\t"))
_LOCAL_CODES = st.text(_LOCAL_CHARS, min_size=1, max_size=12).filter(
    lambda s: normalise_local_code(s) != ""
)
_TARGETS = st.lists(
    st.sampled_from(sorted(CONVENTIONS["exploitation_type"])), min_size=0, max_size=2
).map(";".join)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(_LOCAL_CODES, _TARGETS, min_size=1, max_size=8),
    st.randoms(use_true_random=False),
)
def test_csv_round_trip_matches_local_codes_whatever_their_case_and_spacing(codes, rnd):
    tax = load_taxonomy()
    unique: dict[str, str] = {}
    for local in codes:  # keep one spelling per normalised code
        unique.setdefault(normalise_local_code(local), local)
    codes = {local: codes[local] for local in unique.values()}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "walk.csv"
        write_crosswalk_csv(path, codes)
        loaded = load_crosswalk_csv(path)
    assert loaded == {local.strip(): target for local, target in codes.items()}
    walk = compile_crosswalk(tax, "exploitation_type", loaded)
    for local, target in codes.items():
        variant = "".join(c.upper() if rnd.random() < 0.5 else c.lower() for c in local)
        variant = " " * rnd.randint(0, 2) + variant.replace(" ", "  ") + "\t" * rnd.randint(0, 1)
        assert walk.lookup(variant) == split_targets(target)


# --- local extensions --------------------------------------------------------------------


def test_local_exploitation_type_rolls_up_to_its_shared_parent(tax):
    extended = tax.with_local_codes(
        "exploitation_type",
        {"local_hate_crime": Entry(code="local_hate_crime", label="Hate crime", parent="other")},
    )
    assert "local_hate_crime" in extended.codes("exploitation_type")
    assert "local_hate_crime" not in extended.core_codes("exploitation_type")
    assert extended.report_group("local_hate_crime") == "Other"
    assert extended.core_code("local_hate_crime") == "other"
    assert validate_crosswalk(extended, "exploitation_type", {"HATE": "local_hate_crime"}) == []
    assert "local_hate_crime" not in tax.codes("exploitation_type")  # shared copy unchanged


def test_local_codes_must_be_prefixed_parented_and_on_extensible_lists(tax):
    with pytest.raises(ConfigError, match="start it with 'local_'"):
        tax.with_local_codes("context", {"Hate": Entry(code="Hate", label="x")})
    with pytest.raises(ConfigError, match="set parent to one of: cse"):
        tax.with_local_codes("exploitation_type", {"local_x": Entry(code="local_x", label="x")})
    with pytest.raises(ConfigError, match="does not take local codes"):
        tax.with_local_codes("sex", {"local_x": Entry(code="local_x", label="x")})


# --- tables and docs ---------------------------------------------------------------------


def test_taxonomy_tables_hold_every_code_and_builtin_mapping(tax):
    tables = taxonomy_tables(tax)
    assert set(tables) == set(TABLE_COLUMNS)
    for name, rows in tables.items():
        assert rows, name
        for row in rows:
            assert tuple(row) == TABLE_COLUMNS[name]
    assert len(tables["taxonomy_code"]) == sum(len(e) for e in tax.lists.values())
    county = next(r for r in tables["taxonomy_code"] if r["code"] == "county_lines")
    assert county["parent"] == "cce" and county["report_group"] == "CCE and county lines"
    assert {
        "version": "2026.1",
        "crosswalk": "cin_factor",
        "from_list": "cin_factor",
        "from_code": "24A",
        "to_list": "exploitation_type",
        "to_code": "cce",
    } in tables["taxonomy_crosswalk"]


def test_docs_are_generated_from_the_data_and_up_to_date(tax):
    text = (ROOT / "docs" / "taxonomy.md").read_text(encoding="utf-8")
    assert text == render_markdown(tax), (
        "docs/taxonomy.md is out of date: run "
        ".venv/bin/python -m joinedup.taxonomy.docs > docs/taxonomy.md"
    )


def test_docs_list_every_code_of_every_list(tax):
    text = (ROOT / "docs" / "taxonomy.md").read_text(encoding="utf-8")
    for name in tax.list_names():
        assert f"`{name}`" in text
        for code, entry in tax.lists[name].items():
            assert f"| `{code}` | {entry.label.replace('|', chr(92) + '|')} |" in text, (name, code)
    for heading in ("## Crosswalks", "## Local extensions", "local_code,code"):
        assert heading in text


def test_public_names_are_sorted():
    assert taxonomy_pkg.__all__ == sorted(taxonomy_pkg.__all__)
    for name in taxonomy_pkg.__all__:
        assert hasattr(taxonomy_pkg, name)
