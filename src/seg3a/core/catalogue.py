"""Dataset dictionaries and artefact registries (spec 01 §2): path templates, formats,
schema anchors, roles, licences. The only place that turns dataset ids into paths."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from . import yaml_io
from .paths import contracts_root as default_contracts_root

SEGMENTS = ("1A", "1B", "2A", "2B", "3A")
UPSTREAM_ORDER = ("1A", "1B", "2A", "2B")
_TOKEN = re.compile(r"\{([a-z_]+)\}")
_PHYSICAL_RUN_PREFIXES = ("data/", "logs/", "reports/")
_PHYSICAL_EXTERNAL_PREFIXES = ("config/", "reference/")


class CatalogueError(Exception):
    """A catalogue file is missing, unparsable or lacks an entry (callers map to their code)."""

    def __init__(self, message: str, catalogue_id: str, dataset_id: str | None = None) -> None:
        super().__init__(message)
        self.catalogue_id = catalogue_id
        self.dataset_id = dataset_id


@dataclass(frozen=True)
class Tokens:
    """Values substituted into path templates."""

    seed: int
    parameter_hash: str
    manifest_fingerprint: str
    run_id: str = ""
    utc_day: str = ""

    def as_map(self) -> dict[str, str]:
        return {
            "seed": str(self.seed),
            "parameter_hash": self.parameter_hash,
            "manifest_fingerprint": self.manifest_fingerprint,
            "run_id": self.run_id,
            "utc_day": self.utc_day,
        }


def dictionary_file(root: Path, segment: str) -> Path:
    return root / "dictionaries" / f"dataset_dictionary.layer1.{segment}.yaml"


def registry_file(root: Path, segment: str) -> Path:
    return root / "registries" / f"artefact_registry_{segment}.yaml"


def _load_yaml_mapping(path: Path, catalogue_id: str) -> dict:
    try:
        data = yaml_io.load(path.read_bytes())
    except FileNotFoundError as exc:
        raise CatalogueError(f"catalogue file missing: {path.name}", catalogue_id) from exc
    except yaml.YAMLError as exc:
        raise CatalogueError(f"catalogue file unparsable: {path.name}: {exc}", catalogue_id) from exc
    if not isinstance(data, dict):
        raise CatalogueError(f"catalogue file is not a mapping: {path.name}", catalogue_id)
    return data


def _dictionary_index(doc: Mapping, catalogue_id: str) -> dict[str, dict]:
    """Entries of every top-level list section, keyed by `id` (01 §4.2)."""
    index: dict[str, dict] = {}
    for section in doc.values():
        if not isinstance(section, list):
            continue
        for entry in section:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                raise CatalogueError(f"dictionary entry without id in {catalogue_id}", catalogue_id)
            for key in ("path", "schema_ref"):
                if not isinstance(entry.get(key), str):
                    raise CatalogueError(
                        f"dictionary entry {entry['id']} lacks `{key}`", catalogue_id, entry["id"]
                    )
            index[entry["id"]] = entry
    return index


def _registry_index(doc: Mapping, catalogue_id: str) -> dict[str, dict]:
    index: dict[str, dict] = {}
    subsegments = doc.get("subsegments")
    if not isinstance(subsegments, list):
        raise CatalogueError(f"registry {catalogue_id} lacks `subsegments`", catalogue_id)
    for sub in subsegments:
        for art in (sub or {}).get("artifacts") or []:
            if not isinstance(art, dict) or not isinstance(art.get("name"), str):
                raise CatalogueError(f"registry artefact without name in {catalogue_id}", catalogue_id)
            index[art["name"]] = art
    return index


class Catalogue:
    """All five dictionaries and registries, loaded once."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_contracts_root()
        self.dictionaries: dict[str, dict] = {}
        self.dictionary_entries: dict[str, dict[str, dict]] = {}
        self.registries: dict[str, dict] = {}
        self.registry_entries: dict[str, dict[str, dict]] = {}
        for seg in SEGMENTS:
            dict_id = f"dictionary_{seg}"
            doc = _load_yaml_mapping(dictionary_file(self.root, seg), dict_id)
            self.dictionaries[seg] = doc
            self.dictionary_entries[seg] = _dictionary_index(doc, dict_id)
            reg_id = f"registry_{seg}"
            reg = _load_yaml_mapping(registry_file(self.root, seg), reg_id)
            self.registries[seg] = reg
            self.registry_entries[seg] = _registry_index(reg, reg_id)

    # -- lookups -----------------------------------------------------------------
    def entry(self, dataset_id: str) -> dict:
        """The 3A dictionary entry (the authority 3A renders from)."""
        try:
            return self.dictionary_entries["3A"][dataset_id]
        except KeyError:
            raise CatalogueError(
                f"dataset `{dataset_id}` is not in the 3A dictionary", "dictionary_3A", dataset_id
            ) from None

    def has_entry(self, dataset_id: str) -> bool:
        return dataset_id in self.dictionary_entries["3A"]

    def upstream_entry(self, dataset_id: str) -> tuple[str, dict] | None:
        """First hit among the upstream dictionaries in order 1A, 1B, 2A, 2B."""
        for seg in UPSTREAM_ORDER:
            hit = self.dictionary_entries[seg].get(dataset_id)
            if hit is not None:
                return seg, hit
        return None

    def registry_entry(self, name: str) -> dict | None:
        """Registry artefact by name: the 3A registry first, then upstream owners."""
        for seg in ("3A", *UPSTREAM_ORDER):
            hit = self.registry_entries[seg].get(name)
            if hit is not None:
                return hit
        return None

    def version(self, kind: str, segment: str) -> str:
        doc = self.dictionaries[segment] if kind == "dictionary" else self.registries[segment]
        value = doc.get("version")
        return "unknown" if value is None else str(value)

    def files(self) -> list[Path]:
        return [dictionary_file(self.root, s) for s in SEGMENTS] + [registry_file(self.root, s) for s in SEGMENTS]

    # -- rendering ---------------------------------------------------------------
    def template(self, dataset_id: str) -> str:
        return self.entry(dataset_id)["path"]

    def render(self, dataset_id: str, tokens: Tokens | Mapping[str, Any]) -> str:
        """The catalogue path: tokens substituted as plain text, everything else verbatim."""
        return render_template(self.template(dataset_id), tokens)

    def resolve(
        self,
        dataset_id: str,
        tokens: Tokens | Mapping[str, Any] | None,
        run_root: Path | None,
        external_roots: list[Path],
        *,
        must_exist: bool = False,
    ) -> Path:
        """Physical location of a dataset (01 §2.1). Returns the first candidate that
        exists; with must_exist=False, the first candidate when none does."""
        rel = self.render(dataset_id, tokens or {})
        return resolve_physical(rel, run_root, external_roots, must_exist=must_exist)


def render_template(template: str, tokens: Tokens | Mapping[str, Any]) -> str:
    values = tokens.as_map() if isinstance(tokens, Tokens) else {k: str(v) for k, v in tokens.items()}

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in values or values[name] == "":
            raise CatalogueError(f"no value for token {{{name}}} in {template}", "dictionary_3A")
        return values[name]

    return _TOKEN.sub(substitute, template)


def resolve_physical(rel: str, run_root: Path | None, external_roots: list[Path], *, must_exist: bool = False) -> Path:
    rel_fs = rel.rstrip("/")
    if rel.startswith(_PHYSICAL_RUN_PREFIXES):
        if run_root is None:
            raise CatalogueError(f"run-scoped path without a run root: {rel}", "dictionary_3A")
        return Path(run_root) / rel_fs
    if rel.startswith(_PHYSICAL_EXTERNAL_PREFIXES):
        candidates = ([Path(run_root) / "reference" / rel_fs] if run_root is not None else []) + [
            Path(root) / rel_fs for root in external_roots
        ]
    elif rel.startswith("artefacts/"):
        candidates = [Path(root) / rel_fs for root in external_roots]
    else:
        raise CatalogueError(f"path template with an unknown root: {rel}", "dictionary_3A")
    for candidate in candidates:
        if candidate.exists():
            return candidate
    if must_exist or not candidates:
        raise FileNotFoundError(f"not found in any root: {rel}")
    # Nothing exists yet: the default home is the first external root.
    return candidates[1] if run_root is not None and len(candidates) > 1 else candidates[0]


def partition_tokens(template: str) -> list[str]:
    """Placeholder-bearing `key={key}` tokens in template order (01 §2.1)."""
    return _TOKEN.findall(template)
