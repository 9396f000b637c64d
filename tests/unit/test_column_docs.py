"""The column docs of the published datasets are generated from the contracts and cannot
drift: the committed doc blocks are what the generator gives, every published model's
YAML refers to its block for every column, and table contracts list the same columns."""
from __future__ import annotations

import re

import pytest

from seg3a.core.catalogue import Catalogue
from seg3a.core.paths import project_root
from seg3a.docs import columns

FULL_SENTENCE = re.compile(r"^[A-Z`].{20,}[.]$", re.S)


@pytest.fixture(scope="module")
def docs():
    return columns.column_docs()


def test_the_committed_doc_blocks_are_what_the_contracts_give(docs):
    assert (project_root() / columns.DOCS_FILE).read_text() == columns.render(docs), \
        "run `seg3a docs columns`"


def test_every_column_of_every_published_model_is_documented(docs):
    published = columns.published_datasets(Catalogue())
    assert {"zone_alloc", "s1_escalation_queue", "s6_issue_table_3A", "validation_bundle_3A"} <= set(published)
    documented = {(d.dataset, d.column) for d in docs}
    for dataset_id in published:
        declared = columns.model_columns(dataset_id)
        assert declared, f"{dataset_id}: no columns in its YAML"
        assert {(dataset_id, c) for c in declared} <= documented


def test_the_yaml_refers_to_the_generated_blocks(docs):
    text = "".join(p.read_text() for p in (project_root() / columns.MODELS_DIR).rglob("*.yml"))
    for doc in docs:
        assert f'description: "{doc.reference}"' in text, doc.block


def test_every_description_is_a_full_sentence_with_contract_facts(docs):
    for doc in docs:
        assert FULL_SENTENCE.match(doc.text), doc
        assert "Contract: " in doc.text or "status row" in doc.text or "Not a field of the contract" in doc.text


@pytest.mark.parametrize("dataset_id", ["s1_escalation_queue", "s2_country_zone_priors", "s3_zone_shares",
                                        "s4_zone_counts", "zone_alloc", "s6_issue_table_3A"])
def test_table_models_declare_exactly_the_contract_columns(dataset_id):
    catalogue = Catalogue()
    entry = catalogue.dictionary_entries["3A"][dataset_id]
    contract = columns.ContractFields(catalogue.root / "schemas").fields(entry["schema_ref"])
    assert columns.model_columns(dataset_id) == list(contract)


def test_contract_facts_follow_the_schema():
    field = {"type": "int64", "required": True, "minimum": 0}
    assert columns.contract_facts(field) == "Contract: int64, never null, at least 0."
    assert columns.contract_facts({"type": "string", "enum": ["PASS", "FAIL"]}) == \
        "Contract: string, may be null, one of `PASS`, `FAIL`."
