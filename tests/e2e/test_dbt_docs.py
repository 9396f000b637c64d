"""What a dbt user sees of the project after `dbt parse`: no warnings, at least 95 % of
the published datasets' columns described by a full sentence (rendered doc blocks), every
input a source with a description, and lineage from every source to the exposure of
zone_alloc's downstream consumer."""
from __future__ import annotations

import json
import re

import pytest

from seg3a.core.catalogue import Catalogue
from seg3a.docs.columns import published_datasets
from tests.e2e.dbt_runner import run_dbt

pytestmark = pytest.mark.e2e
FULL_SENTENCE = re.compile(r"^[A-Z`].{20,}[.]$", re.S)


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    work = tmp_path_factory.mktemp("dbt-docs")
    result = run_dbt(["parse", "--no-partial-parse"], work / "runs", work / "seg3a.duckdb")
    assert result.ok, result.output[-3000:]
    manifest = json.loads((work / "dbt-target" / "manifest.json").read_text())
    return result.output, manifest


def test_parse_has_no_warnings(parsed):
    output, _manifest = parsed
    assert "[WARNING]" not in output and "not supported" not in output, output


def test_published_columns_are_described_by_full_sentences(parsed):
    _output, manifest = parsed
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    published = [models[name] for name in published_datasets(Catalogue())]
    columns = [c for model in published for c in model["columns"].values()]
    described = [c for c in columns if FULL_SENTENCE.match(c["description"].strip())]
    assert len(columns) >= 140
    assert len(described) / len(columns) >= 0.95, [c["name"] for c in columns if c not in described]


def test_every_source_is_described_and_feeds_the_exposure(parsed):
    _output, manifest = parsed
    sources = {key: s for key, s in manifest["sources"].items()}
    assert len(sources) >= 17
    for source in sources.values():
        assert source["description"].strip(), source["unique_id"]
    parents = manifest["parent_map"]
    exposure = next(key for key, e in manifest["exposures"].items() if e["name"] == "segment_2b_zone_routing")

    upstream, frontier = set(), [exposure]
    while frontier:
        node = frontier.pop()
        for parent in parents.get(node, []):
            if parent not in upstream:
                upstream.add(parent)
                frontier.append(parent)
    assert set(sources) <= upstream
    assert "model.seg3a.zone_alloc" in upstream
