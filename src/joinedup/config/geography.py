"""The ``geography`` section of partnership.yaml: reference files as partnerships get them.

Three files, each optional, each with its columns named in the configuration (the
defaults are the column names joinedup has always read, so a plain path still works):

- ``postcodes``: a postcode directory, e.g. a cut of the ONS Postcode Directory (ONSPD)
  with its own column names (``pcds``, ``lsoa21``, ``osward``, ``oslaua``, ``lat``,
  ``long``);
- ``areas``: the areas (authorities, wards, small areas) as a CSV with code, name, type,
  parent and centroid, or as GeoJSON boundaries whose properties hold them;
- ``population``: residents in long form, one row per area, sex, single year of age and
  (where available) ethnic group.

``boundaries`` optionally adds shapes (GeoJSON) to areas given as a CSV, and
``gazetteer`` (issue 14) lists reference places that recorded places are matched to.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = [
    "AREA_TYPES",
    "AreaColumns",
    "AreasFile",
    "BoundariesFile",
    "GazetteerColumns",
    "GazetteerFile",
    "Geography",
    "PopulationColumns",
    "PopulationFile",
    "PostcodeColumns",
    "PostcodeDirectory",
]

AreaType = Literal["authority", "ward", "small_area"]
AREA_TYPES: tuple[str, ...] = ("authority", "ward", "small_area")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _path_alone(data: Any) -> Any:
    """A bare path is the file with the default column names."""
    return {"file": data} if isinstance(data, str) else data


class PostcodeColumns(_Strict):
    """Columns of the postcode directory. ``ward`` and ``authority`` are optional: without
    them a postcode's ward and authority come from its small area's parents in ``areas``."""

    postcode: str = "postcode"
    small_area: str | None = "small_area"
    ward: str | None = None
    authority: str | None = None
    lat: str | None = "lat"
    lon: str | None = "lon"


class PostcodeDirectory(_Strict):
    file: str
    columns: PostcodeColumns = PostcodeColumns()

    @model_validator(mode="before")
    @classmethod
    def _from_path(cls, data: Any) -> Any:
        return _path_alone(data)

    @model_validator(mode="after")
    def _places_somewhere(self) -> PostcodeDirectory:
        c = self.columns
        if c.small_area is None and c.ward is None and c.authority is None:
            raise ValueError(
                "columns must name at least one of 'small_area', 'ward' and 'authority': "
                "a postcode directory places each postcode in an area"
            )
        return self


class AreaColumns(_Strict):
    """Columns (CSV) or feature properties (GeoJSON) of the areas file."""

    code: str = "code"
    name: str | None = "name"
    type: str = "type"
    parent: str | None = "parent"
    lat: str | None = "lat"
    lon: str | None = "lon"


class AreasFile(_Strict):
    file: str
    format: Literal["csv", "geojson"] | None = None  # default: by the file's extension
    columns: AreaColumns = AreaColumns()
    # the file's own words for area types -> ours; "" leaves such areas out (e.g. regions)
    types: dict[str, AreaType | Literal[""]] = {}

    @model_validator(mode="before")
    @classmethod
    def _from_path(cls, data: Any) -> Any:
        return _path_alone(data)

    @property
    def kind(self) -> str:
        if self.format is not None:
            return self.format
        return "geojson" if self.file.lower().endswith((".geojson", ".json")) else "csv"


class BoundariesFile(_Strict):
    """GeoJSON shapes for areas listed in a CSV: each feature's ``code`` property (named
    here) is an area's code."""

    file: str
    code: str = "code"

    @model_validator(mode="before")
    @classmethod
    def _from_path(cls, data: Any) -> Any:
        return _path_alone(data)


class PopulationColumns(_Strict):
    """Columns of the population file (long form: one row per area, sex, age and group)."""

    area: str = "area_code"
    age: str = "age"
    sex: str = "sex"
    ethnicity: str | None = "ethnicity_group"
    count: str = "population"


class PopulationFile(_Strict):
    file: str
    columns: PopulationColumns = PopulationColumns()
    # the file's sex codes -> F or M; "" leaves such rows out (e.g. "All persons" totals)
    sex_codes: dict[str, Literal["F", "M", ""]] = {}
    # the file's ethnic groups -> the groups people are counted in (White, Mixed, ...)
    ethnicity_groups: dict[str, str] = {}

    @model_validator(mode="before")
    @classmethod
    def _from_path(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {**data}
            for key in ("sex_codes", "ethnicity_groups"):
                codes = data.get(key)
                if isinstance(codes, dict):  # YAML reads 1, 2 as numbers
                    data[key] = {str(k): v for k, v in codes.items()}
        return _path_alone(data)


class GazetteerColumns(_Strict):
    """Columns of the gazetteer (issue 14): each entry's own id, name and full postcode;
    optionally its place type (a taxonomy code) and other names (``;`` between them)."""

    id: str = "id"
    name: str = "name"
    postcode: str = "postcode"
    type: str | None = None
    aliases: str | None = None


class GazetteerFile(_Strict):
    """Reference places (premises, landmarks): a place recorded with a name (or an alias)
    and postcode that an entry has is that entry, whoever recorded it."""

    file: str
    columns: GazetteerColumns = GazetteerColumns()

    @model_validator(mode="before")
    @classmethod
    def _from_path(cls, data: Any) -> Any:
        return _path_alone(data)


class Geography(_Strict):
    areas: AreasFile | None = None
    boundaries: BoundariesFile | None = None
    postcodes: PostcodeDirectory | None = None
    population: PopulationFile | None = None
    gazetteer: GazetteerFile | None = None

    def files(self) -> dict[str, str]:
        """Key (e.g. ``geography.postcodes``) -> the file it names, for every file given."""
        return {
            f"geography.{key}": part.file
            for key in ("areas", "boundaries", "postcodes", "population", "gazetteer")
            if (part := getattr(self, key)) is not None
        }
