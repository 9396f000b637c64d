"""S0's checks of the upstream bytes and rows it seals, after the HashGates passed and
before anything is published (spec 05 §1–§5, spec README "Egress attestation").

1. **Egress attestation**: the `outlet_catalogue` partition is exactly the one 1A's
   `egress_checksums.json` attests (file list, SHA-256 and size of each file,
   `composite_sha256_hex`); the 2A cache manifest and legality report equal the evidence
   copies the 2A index lists with a digest, when it lists them. Failure: reason
   `egress_unattested`.
2. **Upstream data validation**, vectorised in DuckDB over the sealed Parquet: every
   column of `outlet_catalogue` and `site_timezones` against its table anchor (Parquet
   types and column order, nulls, ranges, patterns, enums), the primary key, path↔embed
   equality of the identity columns, and the invariants of 05 §1/§2 (rows per pair =
   `final_country_outlet_count`, `site_order` exactly 1..n, per-merchant constants and
   totals, `site_id`, the single-site rules, home and legal countries in the sealed
   `iso3166_canonical_2024` (05 §1, §10.1); `site_timezones` keys = outlet keys). The
   JSON artefacts (cache manifest, legality report) are validated against their anchors
   with path↔embed equality. Failure: reason `egress_invalid`.

Every failure is `E3A_S0_001_UPSTREAM_GATE_FAILED` with `upstream_segment` = the owner
of the dataset (the upstream PASS bundle vouched for bytes that do not conform), and a
context naming `dataset`, `column`, `check`, `violation_count` and `example_keys`.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import duckdb
import pyarrow.parquet as pq

from ..core import duck, yaml_io
from ..core.digests import list_files, sha256_concat
from ..core.schemas import SchemaPacks, arrow_type_matches
from .s3_tables import all_equal_proof, bound_proof, finite_proof, key_order, no_row_proof, not_null_proof

EXAMPLES = 3
DATA_FILE = re.compile(r"part-[0-9]{5}\.parquet")
OWNER = {"outlet_catalogue": "1A", "site_timezones": "2A", "tz_timetable_cache": "2A", "s4_legality_report": "2A"}
TZ_CACHE_MANIFEST = "tz_timetable_cache.json"
EVIDENCE_2A = {
    "tz_timetable_cache": "evidence/s3/tz_timetable_cache.manifest.json",
    "s4_legality_report": "evidence/s4/seed={seed}/s4_legality_report.json",
}


@dataclass(eq=False)
class UpstreamRefusal(Exception):
    """One refused upstream artefact: which dataset, column and check, how many rows or
    files, and up to three example keys."""

    dataset: str
    reason: str  # egress_unattested | egress_invalid
    check: str
    message: str
    column: str | None = None
    violation_count: int = 1
    example_keys: list = field(default_factory=list)

    @property
    def upstream_segment(self) -> str:
        return OWNER[self.dataset]

    def context(self) -> dict[str, Any]:
        return {"upstream_segment": self.upstream_segment, "reason": self.reason, "dataset": self.dataset,
                "column": self.column, "check": self.check, "violation_count": self.violation_count,
                "example_keys": self.example_keys}

    def __str__(self) -> str:
        where = f"{self.dataset}.{self.column}" if self.column else self.dataset
        examples = f"; e.g. {self.example_keys}" if self.example_keys else ""
        return f"{where}: {self.check}: {self.message} ({self.violation_count} violation(s){examples})"


# --------------------------------------------------------------------------- egress attestation
def _file_digests(root: Path, relpaths: list[str]) -> dict[str, tuple[str, int]]:
    return {rel: sha256_concat(root, [rel]) for rel in relpaths}


def attest_outlet_partition(partition: Path, checksums: Path, seed: int, fingerprint: str) -> str:
    """Compare the outlet partition with 1A's egress_checksums.json; returns the composite."""
    def refuse(check: str, message: str, examples: list | None = None, count: int = 1) -> UpstreamRefusal:
        return UpstreamRefusal("outlet_catalogue", "egress_unattested", check, message,
                               violation_count=count, example_keys=examples or [])

    try:
        doc = yaml_io.load_json(checksums.read_bytes())
    except FileNotFoundError:
        raise refuse("egress_checksums", "the 1A bundle holds no egress_checksums.json") from None
    except yaml_io.DocumentError as exc:
        raise refuse("egress_checksums", f"egress_checksums.json unreadable: {exc}") from None
    files = doc.get("files") if isinstance(doc, dict) else None
    if (not isinstance(files, list) or doc.get("dataset_id") != "outlet_catalogue"
            or not all(isinstance(f, dict) and {"path", "sha256_hex", "size_bytes"} <= set(f) for f in files)):
        raise refuse("egress_checksums", "egress_checksums.json does not attest outlet_catalogue files")
    if doc.get("seed") != seed or doc.get("manifest_fingerprint") != fingerprint:
        raise refuse("egress_checksums", "egress_checksums.json names another seed or manifest_fingerprint",
                     [{"seed": doc.get("seed"), "manifest_fingerprint": doc.get("manifest_fingerprint")}])
    attested = {f["path"]: (f["sha256_hex"], f["size_bytes"]) for f in files}
    on_disk = list_files(partition)
    links = sorted(p.relative_to(partition).as_posix() for p in partition.rglob("*") if p.is_symlink())
    if links:
        raise refuse("file_list", "symlinks are refused in the outlet partition", links[:EXAMPLES], len(links))
    unlisted, absent = sorted(set(on_disk) - set(attested)), sorted(set(attested) - set(on_disk))
    if unlisted or absent:
        raise refuse("file_list", f"files not attested: {unlisted[:EXAMPLES]}; attested but absent: {absent[:EXAMPLES]}",
                     (unlisted + absent)[:EXAMPLES], len(unlisted) + len(absent))
    observed = _file_digests(partition, on_disk)
    differing = [rel for rel in on_disk if observed[rel] != attested[rel]]
    if differing:
        raise refuse("file_digest", "file SHA-256 or size differs from the attestation",
                     [{"path": rel, "attested_sha256_hex": attested[rel][0], "observed_sha256_hex": observed[rel][0],
                       "attested_size_bytes": attested[rel][1], "observed_size_bytes": observed[rel][1]}
                      for rel in differing[:EXAMPLES]], len(differing))
    composite = sha256_concat(partition, on_disk)[0]
    if doc.get("composite_sha256_hex") != composite:
        raise refuse("composite", "composite_sha256_hex differs from the files' composite digest",
                     [{"attested": doc.get("composite_sha256_hex"), "observed": composite}])
    return composite


def attest_2a_evidence(dataset: str, sealed_file: Path, bundle: Path, seed: int) -> None:
    """A 2A artefact equals the evidence copy the 2A index lists with a digest (05 §5.4);
    nothing to compare when the index lists no such copy (verifiers may rely on no member
    name, so its absence is not a failure)."""
    index = yaml_io.load_json((bundle / "index.json").read_bytes())
    listed = {row["path"]: row["sha256_hex"] for row in index["files"]}
    evidence = EVIDENCE_2A[dataset].format(seed=seed)
    if evidence not in listed:
        return
    observed = hashlib.sha256(sealed_file.read_bytes()).hexdigest()
    if observed != listed[evidence]:
        raise UpstreamRefusal(dataset, "egress_unattested", "file_digest",
                              f"{sealed_file.name} differs from the 2A evidence copy {evidence}",
                              example_keys=[{"path": evidence, "attested_sha256_hex": listed[evidence],
                                             "observed_sha256_hex": observed}])


# --------------------------------------------------------------------------- table validation
def _sql_literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class RowCheck:
    """A predicate true on a violating row of the dataset's view `t`.

    `distinct_of`: the columns the predicate reads, when its verdict depends on their
    values only; it is then tried on their distinct value tuples first (patterns, enums,
    country codes, site ids), far fewer than the rows. `proof`: an aggregate over the
    view that is true only when no row violates (a bound against the column's min or
    max, a path token against both, `count(column)` against `count(*)`: the
    `seg3a.states.s3_tables` proofs), cheaper than a filtered count; without one the
    filtered count itself is the proof."""
    column: str | None
    check: str
    predicate: str
    message: str
    distinct_of: tuple[str, ...] = ()
    proof: str | None = None

    def zero_proof(self) -> str:
        return self.proof or no_row_proof(self.predicate)


def column_checks(column: dict, token: Any = None) -> list[RowCheck]:
    """The row predicates of one column spec of a table anchor. A column that must equal
    a path `token` (itself valid) is pattern-checked only where it differs from it: a
    64-character regex on every row of a large catalogue costs about a second."""
    name, ctype = column["name"], column["type"]
    col = _ident(name)
    checks = []
    if not column.get("nullable", False):
        checks.append(RowCheck(name, "null", f"{col} is null", "null in a non-nullable column",
                               proof=not_null_proof(col)))
    if ctype == "float64":
        checks.append(RowCheck(name, "non_finite", f"not isfinite({col})", "non-finite value",
                               proof=finite_proof(col)))
    for keyword, operator in (("minimum", "<"), ("exclusiveMinimum", "<="), ("maximum", ">"),
                              ("exclusiveMaximum", ">=")):
        if keyword in column:
            checks.append(RowCheck(name, keyword, f"{col} {operator} {column[keyword]!r}",
                                   f"{keyword} {column[keyword]} violated",
                                   proof=bound_proof(col, keyword, repr(column[keyword]))))
    if "pattern" in column:
        mismatch = f"not regexp_matches({col}, {_sql_literal(column['pattern'])})"
        if token is None:
            checks.append(RowCheck(name, "pattern", mismatch, f"does not match {column['pattern']}",
                                   distinct_of=(name,)))
        else:  # a CASE, not an AND: DuckDB evaluates both sides of an AND in an aggregate filter
            mismatch = f"case when {col} <> {_sql_literal(token)} then {mismatch} else false end"
            checks.append(RowCheck(name, "pattern", mismatch, f"does not match {column['pattern']}",
                                   proof=all_equal_proof(col, _sql_literal(token))))
    if "minLength" in column:
        checks.append(RowCheck(name, "minLength", f"length({col}) < {column['minLength']}", "too short"))
    if "maxLength" in column:
        checks.append(RowCheck(name, "maxLength", f"length({col}) > {column['maxLength']}", "too long"))
    if "enum" in column:
        allowed = ", ".join(_sql_literal(v) for v in column["enum"])
        checks.append(RowCheck(name, "enum", f"{col} not in ({allowed})", f"not one of {column['enum']}",
                               distinct_of=(name,)))
    return checks


class TableValidator:
    """Validates one sealed Parquet partition in a DuckDB connection, through a view."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, packs: SchemaPacks, dataset: str, anchor: str,
                 partition: Path) -> None:
        self.conn, self.dataset, self.partition = conn, dataset, partition
        self.columns = packs.table_columns(anchor)
        self.key = packs.table_spec(anchor)["primary_key"]
        self.view = f"upstream_{dataset}"

    def refuse(self, check: str, message: str, column: str | None = None, count: int = 1,
               examples: list | None = None) -> UpstreamRefusal:
        return UpstreamRefusal(self.dataset, "egress_invalid", check, message, column, count, examples or [])

    def files(self) -> list[Path]:
        """The partition's data files: only `part-NNNNN.parquet` (05 §0 "Data folders")."""
        names = list_files(self.partition)
        others = [n for n in names if not DATA_FILE.fullmatch(n)]
        if others:
            raise self.refuse("data_folder", "the data folder holds files other than part-NNNNN.parquet",
                              count=len(others), examples=others[:EXAMPLES])
        return [self.partition / n for n in names]

    def check_file_schemas(self, files: list[Path]) -> None:
        """Every file has exactly the anchor's columns, in order, with the contract types."""
        expected = [c["name"] for c in self.columns]
        for path in files:
            try:
                schema = pq.read_schema(path)
            except Exception as exc:  # noqa: BLE001 - any unreadable file is refused the same way
                raise self.refuse("unreadable", f"{path.name} is not readable Parquet: {exc}",
                                  examples=[path.name]) from None
            if schema.names != expected:
                raise self.refuse("columns", f"{path.name} has columns {schema.names}, the contract {expected}",
                                  examples=[path.name])
            for column in self.columns:
                actual = schema.field(column["name"]).type
                if not arrow_type_matches(column["type"], actual):
                    raise self.refuse("type", f"Parquet type {actual} is not the contract type {column['type']}",
                                      column["name"], examples=[path.name])

    def load(self) -> None:
        """A view over the files (not a table: at 1.3 M outlet rows a table cost 0.7 CPU s
        and 460 MiB more than the scans the checks repeat)."""
        files = self.files()
        self.check_file_schemas(files)
        listing = ", ".join(_sql_literal(p.as_posix()) for p in files)
        self.conn.execute(f"create or replace temp view {self.view} as "
                          f"select * from read_parquet([{listing}], hive_partitioning = false)")

    def examples(self, predicate: str, columns: list[str]) -> list[dict]:
        shown = ", ".join(_ident(c) for c in dict.fromkeys([*self.key, *columns]))
        order = ", ".join(_ident(c) for c in self.key)
        rows = self.conn.execute(f"select {shown} from {self.view} as t where {predicate} "
                                 f"order by {order} limit {EXAMPLES}").fetchall()
        names = list(dict.fromkeys([*self.key, *columns]))
        return [dict(zip(names, _plain(row))) for row in rows]

    def run_row_checks(self, checks: list[RowCheck]) -> None:
        """All predicates in one scan, except those screened on distinct values; the
        first failing check (contract order) is refused."""
        if not checks:
            return
        totals = iter(self.scanned_violations([c for c in checks if not c.distinct_of]))
        for check in checks:
            count = self.violations_screened_on_distinct_values(check) if check.distinct_of else next(totals)
            if count:
                shown = [check.column] if check.column else []
                raise self.refuse(check.check, check.message, check.column, int(count),
                                  self.examples(f"coalesce({check.predicate}, false)", shown))

    def scanned_violations(self, checks: list[RowCheck]) -> list[int]:
        """Violating rows of each check, from one scan that first tries to prove them
        all zero by each check's proof: a min, max or count per column costs about half
        the filtered count per check (1.3 CPU s for the catalogue's column rules at 1M
        pairs). Only when a proof fails are the rows counted, exactly as before."""
        if not checks:
            return []
        proven = self.conn.execute(f"select {', '.join(c.zero_proof() for c in checks)} "
                                   f"from {self.view} as t").fetchone()
        if all(value is True for value in proven):
            return [0] * len(checks)
        counts = ", ".join(f"count(*) filter (where coalesce({c.predicate}, false))" for c in checks)
        return list(self.conn.execute(f"select {counts} from {self.view} as t").fetchone())

    def violations_screened_on_distinct_values(self, check: RowCheck) -> int:
        """Rows failing a check whose verdict depends on the values of `distinct_of`
        only. A regex on every row cost 80 % of the row checks' CPU (13 M catalogue rows
        at 1M pairs, 133 M at 10M), `lpad` for the site ids 1.1 CPU s; the distinct
        values (countries, tzids, site ids and orders) are far fewer, so they are
        tested first and the rows are counted only when one fails. (A column equal to
        its path token is proven by its min and max in the scan instead.)"""
        columns = ", ".join(_ident(c) for c in check.distinct_of)
        # an aggregate filter, not a WHERE: DuckDB would push a WHERE below the DISTINCT
        failing = self.conn.execute(f"select count(*) filter (where coalesce({check.predicate}, false)) "
                                    f"from (select distinct {columns} from {self.view}) as t").fetchone()[0]
        if not failing:
            return 0
        return self.conn.execute(f"select count(*) from {self.view} as t "
                                 f"where coalesce({check.predicate}, false)").fetchone()[0]

    def run_group_check(self, check: str, message: str, sql: str, column: str | None = None) -> None:
        """`sql` selects one row per violating group (keys first); refused when any."""
        result = self.conn.execute(f"select *, count(*) over () as violation_count from ({sql}) "
                                   f"order by all limit {EXAMPLES}")
        names = [d[0] for d in result.description][:-1]
        rows = result.fetchall()
        if rows:
            raise self.refuse(check, message, column, int(rows[0][-1]),
                              [dict(zip(names, _plain(r[:-1]))) for r in rows])

    def check_columns_and_key(self, identity: dict[str, Any], key_proven_unique: bool = False) -> None:
        """Column rules, path tokens, primary key (unless `key_proven_unique`)."""
        checks = [check for column in self.columns for check in column_checks(column, identity.get(column["name"]))]
        checks += [RowCheck(name, "path_embed", f"{_ident(name)} <> {_sql_literal(value)}",
                            f"differs from the path token {value}", proof=all_equal_proof(_ident(name), _sql_literal(value)))
                   for name, value in identity.items()]
        self.run_row_checks(checks)
        if not key_proven_unique:
            self.check_primary_key()

    def keys_match(self, other: "TableValidator") -> bool:
        """True when this table's keys equal those of `other`, a table already validated
        with the same key, row by row and with as many rows. The two key sets are then
        equal (each row of one is paired with one equal row of the other, whatever
        order the scans pair them in), and this key is unique because the other's is:
        one positional pass over the key columns instead of an order pass and a
        grouped comparison of the two tables. False says nothing; the caller then
        makes those checks."""
        if other.key != self.key:
            return False
        keys = ", ".join(_ident(c) for c in self.key)
        differs = " or ".join(f"a.{_ident(c)} is distinct from b.{_ident(c)}" for c in self.key)
        return self.conn.execute(f"select count(*) filter (where {differs}) = 0 from (select {keys} from "
                                 f"{other.view}) as a positional join (select {keys} from {self.view}) as b").fetchone()[0]

    def check_primary_key(self) -> None:
        """Keys strictly increasing in file order are unique: one streaming pass over the
        key columns proves it without grouping (a grouped count over the 133 M catalogue
        rows of a 10M-pair world ran out of a 2 GB DuckDB limit). Only files out of key
        order pay for the grouped count, which finds the duplicates and their examples."""
        if key_order(self.conn.view(self.view), self.key)[1]:
            return
        keys = ", ".join(_ident(c) for c in self.key)
        self.run_group_check("primary_key", f"({', '.join(self.key)}) repeated",
                             f"select {keys}, count(*) as row_count from {self.view} group by all having count(*) > 1")


def _plain(row: tuple) -> list:
    return [v if isinstance(v, (str, int, float, bool)) or v is None else str(v) for v in row]


def country_checks(iso_table: str) -> list[RowCheck]:
    """05 §1 "FK to iso3166", §10.1: every home and legal country is a code of the sealed
    ISO table (a well-formed code outside it, e.g. `ZZ` or `XK`, would otherwise be
    published by nothing before S1 refused it)."""
    return [RowCheck(column, "foreign_key", f"{column} not in (select country_iso from {iso_table})",
                     "not a country_iso of iso3166_canonical_2024", distinct_of=(column,))
            for column in ("home_country_iso", "legal_country_iso")]


def validate_outlet_catalogue(table: TableValidator, seed: int, fingerprint: str, iso_table: str) -> None:
    """05 §1: columns, key, path↔embed, then the country codes and the catalogue's invariants."""
    table.check_columns_and_key({"manifest_fingerprint": fingerprint, "global_seed": seed})
    v = table.view
    table.run_row_checks([
        *country_checks(iso_table),
        RowCheck("site_id", "site_id_format", "site_id <> lpad(site_order::varchar, 6, '0')",
                 "site_id is not site_order zero-padded to 6 digits", distinct_of=("site_id", "site_order")),
        RowCheck("single_vs_multi_flag", "multi_site_rule", "single_vs_multi_flag and raw_nb_outlet_draw < 2",
                 "a multi-site row has raw_nb_outlet_draw < 2"),
        RowCheck("single_vs_multi_flag", "single_site_rule",
                 "not single_vs_multi_flag and (raw_nb_outlet_draw <> 1 or final_country_outlet_count <> 1 "
                 "or site_order <> 1 or legal_country_iso <> home_country_iso)",
                 "a single-site row needs N = n = site_order = 1 and legal country = home country"),
    ])
    pairs = f"{v}_pairs"
    table.conn.execute(f"create or replace temp table {pairs} as "
                       f"select merchant_id, legal_country_iso, count(*) as row_count, "
                       f"min(final_country_outlet_count) as n_min, max(final_country_outlet_count) as n_max, "
                       f"min(site_order) as site_order_min, max(site_order) as site_order_max, "
                       f"max(raw_nb_outlet_draw) as raw_nb_outlet_draw from {v} group by all")
    table.run_group_check("pair_count_constant", "final_country_outlet_count differs within a pair",
                          f"select * exclude (raw_nb_outlet_draw) from {pairs} where n_min <> n_max",
                          "final_country_outlet_count")
    table.run_group_check("rows_per_pair", "rows per pair differ from final_country_outlet_count",
                          f"select merchant_id, legal_country_iso, row_count, n_max as final_country_outlet_count "
                          f"from {pairs} where row_count <> n_max", "final_country_outlet_count")
    table.run_group_check("site_order_sequence", "site_order does not run 1..n",
                          f"select merchant_id, legal_country_iso, site_order_min, site_order_max, row_count "
                          f"from {pairs} where site_order_min <> 1 or site_order_max <> row_count", "site_order")
    constants = ("raw_nb_outlet_draw", "home_country_iso", "single_vs_multi_flag")
    spread = ", ".join(f"min({c}) as {c}_min, max({c}) as {c}_max" for c in constants)
    differs = " or ".join(f"{c}_min <> {c}_max" for c in constants)
    table.run_group_check("merchant_constant", f"{', '.join(constants)} differs within a merchant",
                          f"select merchant_id, {spread} from {v} group by all having {differs}")
    table.run_group_check("merchant_total", "final_country_outlet_count summed over a merchant's pairs differs "
                          "from raw_nb_outlet_draw",
                          f"select merchant_id, sum(n_max) as pairs_total, max(raw_nb_outlet_draw) as "
                          f"raw_nb_outlet_draw from {pairs} group by all having sum(n_max) <> max(raw_nb_outlet_draw)",
                          "raw_nb_outlet_draw")


def validate_site_timezones(table: TableValidator, outlets: TableValidator | None, seed: int,
                            fingerprint: str) -> None:
    """05 §2: columns, key, path↔embed, override/nudge rules, one created_utc, keys = outlet keys."""
    # The outlet catalogue passed all of its checks, its key unique among them: keys equal
    # to its keys row by row are unique and the same set (checked below otherwise).
    keys_match = outlets is not None and table.keys_match(outlets)
    table.check_columns_and_key({"seed": seed, "manifest_fingerprint": fingerprint}, key_proven_unique=keys_match)
    v = table.view
    table.run_row_checks([
        RowCheck("override_scope", "override_scope_rule",
                 "(tzid_source = 'override') <> (override_scope is not null)",
                 "override_scope must be set exactly when tzid_source is override"),
        RowCheck("nudge_lat_deg", "nudge_pair", "(nudge_lat_deg is null) <> (nudge_lon_deg is null)",
                 "nudge_lat_deg and nudge_lon_deg must be both null or both set"),
    ])
    table.run_group_check("created_utc_constant", "created_utc differs between rows",
                          f"select count(distinct created_utc) as created_utc_values from {v} "
                          f"having count(distinct created_utc) > 1", "created_utc")
    if outlets is not None and not keys_match:
        # Both keys are unique and the outlet pairs hold site_order 1..n (checked), so the
        # key sets are equal exactly when every pair has the same row count with
        # site_order running from 1 to that count in both tables.
        zone_pairs = (f"select merchant_id, legal_country_iso, count(*) as row_count, min(site_order) as "
                      f"site_order_min, max(site_order) as site_order_max from {v} group by all")
        table.run_group_check("key_set", "the key set differs from the outlet_catalogue key set",
                              f"select merchant_id, legal_country_iso, o.row_count as outlet_rows, "
                              f"z.row_count as site_timezones_rows from {outlets.view}_pairs as o "
                              f"full join ({zone_pairs}) as z using (merchant_id, legal_country_iso) "
                              f"where o.row_count is distinct from z.row_count or z.site_order_min <> 1 "
                              f"or z.site_order_max <> z.row_count")


def validate_json_artefact(packs: SchemaPacks, dataset: str, anchor: str, path: Path,
                           identity: dict[str, Any]) -> None:
    def refuse(check: str, message: str, column: str | None = None, count: int = 1) -> UpstreamRefusal:
        return UpstreamRefusal(dataset, "egress_invalid", check, message, column, count, [path.name])

    try:
        doc = yaml_io.load_json(path.read_bytes())
    except yaml_io.DocumentError as exc:
        raise refuse("unreadable", str(exc)) from None
    violations = packs.validate_json(anchor, doc)
    if violations:
        raise refuse("schema", str(violations[0]), violations[0].path, len(violations))
    for name, value in identity.items():
        if doc.get(name) != value:
            raise refuse("path_embed", f"{name} {doc.get(name)!r} differs from the path token {value!r}", name)


# --------------------------------------------------------------------------- entry point
@dataclass(frozen=True)
class UpstreamInputs:
    """Where S0 finds the artefacts it checks (None: an optional input that is absent)."""
    outlet_catalogue: Path
    iso3166: Path  # the sealed iso3166_canonical_2024 table the country codes must be in
    egress_checksums: Path
    bundle_2a: Path
    site_timezones: Path | None
    tz_timetable_cache: Path | None
    s4_legality_report: Path | None


def check_upstream(inputs: UpstreamInputs, packs: SchemaPacks, anchors: Callable[[str], str], seed: int,
                   fingerprint: str) -> str:
    """Attest, then validate; returns the attested outlet composite. Raises UpstreamRefusal."""
    composite = attest_upstream(inputs, seed, fingerprint)
    validate_upstream(inputs, packs, anchors, seed, fingerprint)
    return composite


def attest_upstream(inputs: UpstreamInputs, seed: int, fingerprint: str) -> str:
    """The bytes the upstream bundles attest: the outlet partition, the 2A evidence copies."""
    composite = attest_outlet_partition(inputs.outlet_catalogue, inputs.egress_checksums, seed, fingerprint)
    if inputs.tz_timetable_cache is not None:
        attest_2a_evidence("tz_timetable_cache", _cache_manifest(inputs.tz_timetable_cache), inputs.bundle_2a, seed)
    if inputs.s4_legality_report is not None:
        attest_2a_evidence("s4_legality_report", inputs.s4_legality_report, inputs.bundle_2a, seed)
    return composite


def validate_upstream(inputs: UpstreamInputs, packs: SchemaPacks, anchors: Callable[[str], str], seed: int,
                      fingerprint: str) -> None:
    """Every upstream artefact against its contract (05 §1-§4)."""
    if inputs.tz_timetable_cache is not None:
        validate_json_artefact(packs, "tz_timetable_cache", anchors("tz_timetable_cache"),
                               _cache_manifest(inputs.tz_timetable_cache), {"manifest_fingerprint": fingerprint})
    if inputs.s4_legality_report is not None:
        validate_json_artefact(packs, "s4_legality_report", anchors("s4_legality_report"),
                               inputs.s4_legality_report, {"manifest_fingerprint": fingerprint, "seed": seed})
    conn = duck.connect(spatial=False)  # bounded by SEG3A_DUCKDB_*: the catalogue of a 10M-pair world is 130M rows
    try:
        iso_table = "upstream_iso3166"
        conn.execute(f"create temp table {iso_table} as select country_iso from "
                     f"read_parquet({_sql_literal(inputs.iso3166.as_posix())})")
        outlets = TableValidator(conn, packs, "outlet_catalogue", anchors("outlet_catalogue"),
                                 inputs.outlet_catalogue)
        outlets.load()
        validate_outlet_catalogue(outlets, seed, fingerprint, iso_table)
        if inputs.site_timezones is not None:
            zones = TableValidator(conn, packs, "site_timezones", anchors("site_timezones"), inputs.site_timezones)
            zones.load()
            validate_site_timezones(zones, outlets, seed, fingerprint)
    finally:
        conn.close()


def _cache_manifest(cache: Path) -> Path:
    return cache / TZ_CACHE_MANIFEST if cache.is_dir() else cache
