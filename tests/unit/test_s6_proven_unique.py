"""int_s6__checks_evaluated takes the verdict of a uniqueness test of a whole published
file ("key K occurs once in dataset D") from the key-ordered checked write of those very
bytes in the same process (seg3a.core.proven.KEY_ORDER, remembered by S3/S4's
`stage_checked`), and runs the query otherwise: when the file changed after the write
(same size), when the dataset holds a second file, and in another process (`dbt test`).
Real DuckDB and real Parquet; the queries run are counted by a function the query calls."""
from __future__ import annotations

import json
import multiprocessing

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seg3a.core.proven import KEY_ORDER
from seg3a.states.s3_publish import write_part_file
from seg3a.states.s6_validation import _run_queries

KEY = ["merchant_id", "tzid"]
SCHEMA = pa.schema([("merchant_id", pa.uint64()), ("tzid", pa.string())])
DATASET = "s3_zone_shares"


def _table(merchants: list[int]) -> pa.Table:
    return pa.table({"merchant_id": pa.array(merchants, pa.uint64()), "tzid": ["Europe/Paris"] * len(merchants)})


def _write_plain(path, merchants: list[int]) -> None:
    """A file whose size depends only on the row count: no compression, dictionary or
    statistics, so [1, 2, 3] and [1, 1, 3] are files of the same size."""
    pq.write_table(_table(merchants), path, compression="none", use_dictionary=False, write_statistics=False)


def _session(partition) -> tuple[duckdb.DuckDBPyConnection, list[int]]:
    """A connection with the dataset's location macro and a query counter."""
    runs: list[int] = []
    con = duckdb.connect()
    con.execute(f"create macro seg3a_loc__{DATASET}() as '{partition.as_posix()}'")
    con.create_function("counted", lambda: runs.append(1) or 0, [], "INTEGER", side_effects=True)
    return con, runs


def _rows() -> list[dict]:
    """One uniqueness test of the whole file, declared so, as int_s6__check_queries renders it."""
    query = (f"select 'S3_DUPLICATE_TRIPLET' as issue_code, merchant_id, null as legal_country_iso, tzid, "
             f"'duplicate_s3_triplet' as message, 'rows=' || count(*) as details, 1 as affected_count "
             f"from read_parquet(seg3a_loc__{DATASET}() || '/*.parquet', hive_partitioning = false) "
             f"where counted() = 0 group by merchant_id, tzid having count(*) > 1")
    return [{"test_name": "chk_s3_triplets_unique", "check_id": "CHK_S3_DOMAIN_ALIGNMENT", "query": query,
             "shared_inputs": "{}", "proven_unique": json.dumps({"dataset": DATASET, "key": KEY})}]


def _issues(parts) -> int:
    return sum(part.num_rows for part in parts)


@pytest.fixture
def published(tmp_path):
    """A partition whose file the checked write streamed in key order and remembered."""
    partition = tmp_path / "s3_zone_shares" / "seed=1"
    partition.mkdir(parents=True)
    path = partition / "part-00000.parquet"
    with duckdb.connect() as con:
        relation = con.from_arrow(_table([1, 2, 3]))
        write_part_file(relation, KEY, path, SCHEMA)
    assert KEY_ORDER.remember(tuple(KEY), path) is not None
    return partition, path


def test_untouched_bytes_take_the_write_proof(published):
    partition, _ = published
    con, runs = _session(partition)
    parts, broken = _run_queries(con, _rows())
    assert (broken, _issues(parts), len(runs)) == ([], 0, 0)


def test_an_undeclared_test_runs_its_query(published):
    partition, _ = published
    con, runs = _session(partition)
    rows = [{**_rows()[0], "proven_unique": ""}]
    parts, broken = _run_queries(con, rows)
    assert (broken, _issues(parts)) == ([], 0) and len(runs) > 0


def test_a_file_changed_after_the_write_runs_the_query_and_finds_the_duplicate(tmp_path):
    partition = tmp_path / "s3_zone_shares" / "seed=1"
    partition.mkdir(parents=True)
    path = partition / "part-00000.parquet"
    _write_plain(path, [1, 2, 3])
    KEY_ORDER.remember(tuple(KEY), path)
    before = path.stat().st_size
    changed = tmp_path / "changed.parquet"
    _write_plain(changed, [1, 1, 3])
    path.write_bytes(changed.read_bytes())  # same name, same size, a duplicated key
    assert path.stat().st_size == before
    con, runs = _session(partition)
    parts, broken = _run_queries(con, _rows())
    assert broken == [] and len(runs) > 0
    assert _issues(parts) == 1 and parts[0].column("details").to_pylist() == ["rows=2"]


def test_a_second_file_in_the_partition_runs_the_query(published):
    partition, _ = published
    _write_plain(partition / "part-00001.parquet", [2])
    con, runs = _session(partition)
    parts, broken = _run_queries(con, _rows())
    assert broken == [] and len(runs) > 0
    assert parts[0].column("merchant_id").to_pylist() == [2]


def test_a_test_with_another_key_runs_the_query(published):
    partition, _ = published
    con, runs = _session(partition)
    rows = [{**_rows()[0], "proven_unique": json.dumps({"dataset": DATASET, "key": ["merchant_id"]})}]
    parts, broken = _run_queries(con, rows)
    assert (broken, _issues(parts)) == ([], 0) and len(runs) > 0


def _queries_run_in_child(partition: str, queue) -> None:
    from pathlib import Path
    con, runs = _session(Path(partition))
    parts, broken = _run_queries(con, _rows())
    queue.put((len(runs), _issues(parts), broken))


def test_another_process_runs_the_query(published):
    partition, _ = published
    con, runs = _session(partition)
    assert _issues(_run_queries(con, _rows())[0]) == 0 and len(runs) == 0  # proven here
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_queries_run_in_child, args=(str(partition), queue))
    child.start()
    found = queue.get(timeout=120)
    child.join()
    assert found[0] > 0 and found[1:] == (0, [])


def _declared_tests() -> dict[str, tuple[str, dict]]:
    """{test name: (generic test, arguments)} of every S6 test declaring seg3a_unique_key_of."""
    import yaml
    from pathlib import Path
    found = {}
    for path in sorted((Path(__file__).resolve().parents[2] / "models" / "segment3a" / "s6_validation").glob("*.yml")):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            for column_or_model in [model, *model.get("columns", [])]:
                for test in column_or_model.get("data_tests", column_or_model.get("tests", [])) or []:
                    (generic, spec), = test.items()
                    if isinstance(spec, dict) and "seg3a_unique_key_of" in spec.get("config", {}).get("meta", {}):
                        found[spec["name"]] = (generic, spec["config"]["meta"]["seg3a_unique_key_of"],
                                               spec.get("arguments", {}))
    return found


def test_declared_tests_are_whole_file_uniqueness_tests_on_the_key_the_write_proves():
    """A declared test must say exactly "key K once in the file" on the key its dataset's
    checked write streams in order, or the memo would answer another question (or never
    be found)."""
    from seg3a.states.s3_draws import SHARE_KEY
    from seg3a.states.s4_integerise import PAIR
    written_in_order = {"s3_zone_shares": list(SHARE_KEY), "s4_zone_counts": [*PAIR, "tzid"]}
    declared = _declared_tests()
    assert set(declared) == {"chk_s3_triplets_unique", "chk_s4_triplets_unique"}
    for name, (generic, dataset, arguments) in declared.items():
        assert generic == "expect_combination_to_be_unique", name
        assert "row_condition" not in arguments, name
        assert arguments["combination"] == written_in_order[dataset], name
