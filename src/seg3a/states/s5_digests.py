"""The routing universe hash and its five components (spec 04 §1.3), in one place for
the producer (S5) and the validator (S6).

`zone_alloc_parquet_digest` hashes the output of the Parquet writer profile (PWP) over
the zone_alloc frame with `routing_universe_hash` masked to 64 zeros. A digest of
writer output is only reproducible with the same writer, version and settings, so both
states call `masked_zone_alloc_digest` here, which uses exactly the options of the
`seg3a_publish_partition` post-hook that writes the published file (a unit test keeps
the two strings equal).
"""
from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Union

import duckdb

from ..core.catalogue import Tokens
from ..core.digests import sha256_file, sha256_hexcat, sha256_parquet
from ..core.proven import KEY_ORDER
from .s3_tables import key_order

# The options of the `seg3a_publish_partition` COPY (macros/seg3a_publish_partition.sql).
PWP_OPTIONS = "format parquet, compression zstd, row_group_size 122880"
PWP_FILE = "part-00000.parquet"
Z64 = "0" * 64
WRITER_SORT = ("merchant_id", "legal_country_iso", "tzid")
DIGEST_RULE = "mask_routing_universe_hash"
UNIVERSE_NOTES = "zone_alloc_parquet_digest computed with routing_universe_hash masked to hex-zero"
COMPONENT_ORDER = ("zone_alpha_digest", "theta_digest", "zone_floor_digest", "day_effect_digest",
                   "zone_alloc_parquet_digest")

# A zone_alloc frame: a relation of the caller's connection, a table or view name, or a
# Parquet file / partition directory.
Source = Union[duckdb.DuckDBPyRelation, str, Path]


@dataclass(frozen=True)
class ComponentDigests:
    """The five components, in the order H_hexcat takes them."""

    zone_alpha_digest: str
    theta_digest: str
    zone_floor_digest: str
    day_effect_digest: str
    zone_alloc_parquet_digest: str

    @property
    def routing_universe_hash(self) -> str:
        return sha256_hexcat(*(getattr(self, name) for name in COMPONENT_ORDER))

    def as_dict(self) -> dict[str, str]:
        return {**asdict(self), "routing_universe_hash": self.routing_universe_hash}


def _copy_sql(source_sql: str, target: Path, routing_universe_hash: str | None, in_writer_sort: bool) -> str:
    """COPY of the frame in writer sort with the PWP options; `routing_universe_hash`, when
    given, is written into every row (Z64 masks the frame). A source already in writer
    sort is written in its own order (a select keeps the order of its single source):
    sorting the wide rows again is most of the cost of the write."""
    projection = "*" if routing_universe_hash is None else \
        f"* replace ('{_sql_text(routing_universe_hash)}' as routing_universe_hash)"
    order = "" if in_writer_sort else f" order by {', '.join(WRITER_SORT)}"
    return f"copy (select {projection} from {source_sql}{order}) to '{_sql_text(Path(target).as_posix())}' ({PWP_OPTIONS})"


def _in_writer_sort(conn: duckdb.DuckDBPyConnection, source_sql: str) -> bool:
    """True when the rows of `source_sql`, in the order they are stored (the order the
    COPY writes them in), are in writer sort with no key null: a narrow streaming pass
    instead of a wide sort. The pass reads batches in stored order on purpose: a window
    such as `lag() over ()` has no defined order over a parallel scan (over 14 files it
    was seen to report breaks in rows stored in order), so it could also take rows
    stored out of order for sorted ones, and the COPY would then write them unsorted."""
    return key_order(conn.sql(f"select * from {source_sql}"), list(WRITER_SORT))[0]


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


def parquet_scan(path: Path) -> str:
    """The file's own columns: without `hive_partitioning = false` DuckDB would replace
    `seed` by the `seed=` token of the path, as BIGINT instead of the stored UBIGINT."""
    path = Path(path)
    pattern = path.as_posix() if path.is_file() else f"{path.as_posix()}/**/*.parquet"
    return f"read_parquet('{_sql_text(pattern)}', hive_partitioning = false)"


def write_pwp(conn: duckdb.DuckDBPyConnection, source: Source, target: Path, *, masked: bool = False,
              proven_in_writer_sort: bool = False) -> None:
    """Write one PWP file of `source` (masked or as it is) to `target`. A relation is the
    S5 frame, whose rows come in writer sort (int_s5__zone_alloc_masked); a file or table
    is sorted unless it is read in writer sort already (`proven_in_writer_sort`: its
    bytes were proven so in this process, see `remember_in_writer_sort`)."""
    routing_universe_hash = Z64 if masked else None
    if isinstance(source, duckdb.DuckDBPyRelation):
        source.query("zone_alloc_source",
                     _copy_sql("zone_alloc_source", target, routing_universe_hash, in_writer_sort=True))
        return
    source_sql = parquet_scan(source) if isinstance(source, Path) else source
    conn.execute(_copy_sql(source_sql, target, routing_universe_hash,
                           in_writer_sort=proven_in_writer_sort or _in_writer_sort(conn, source_sql)))


def write_pwp_from_masked(conn: duckdb.DuckDBPyConnection, masked_file: Path, routing_universe_hash: str,
                          target: Path) -> None:
    """Write the final frame to `target` from the PWP file of the masked frame: the same
    rows in the same order, with `routing_universe_hash` written into every row. That
    file was written from the frame in writer sort, and a scan of one file keeps its
    order, so nothing is sorted; reading it back saves evaluating the frame (the S4 x S1
    join and its sort) a second time."""
    conn.execute(_copy_sql(parquet_scan(masked_file), target, routing_universe_hash, in_writer_sort=True))


def masked_zone_alloc_digest(conn: duckdb.DuckDBPyConnection, source: Source, scratch: Path | None = None,
                             *, keep: bool = False) -> str:
    """H_pq of a fresh directory holding one PWP file of the zone_alloc frame with
    `routing_universe_hash` set to Z64 (04 §1.3). The directory is deleted afterwards;
    with `keep` (S5's digest of its own frame) only once S5 has written the final frame
    from it (`kept_masked_frame`). A Parquet source whose bytes were already masked and
    rewritten in this process gives the digest found then, without the rewrite
    (`_MASKED_BY_CONTENT`)."""
    content = _content_key(source) if isinstance(source, Path) else None
    with _MASKED_LOCK:
        known = _MASKED_BY_CONTENT.get(content) if content is not None else None
    if known is not None:
        return known
    if scratch is not None:
        Path(scratch).mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="_tmp.masked.", dir=scratch))
    try:
        write_pwp(conn, source, workdir / PWP_FILE, masked=True, proven_in_writer_sort=_proven_in_writer_sort(content))
        digest = sha256_parquet(workdir)[0]
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    if keep:
        _keep_masked_frame(digest, workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    if content is not None:
        with _MASKED_LOCK:
            _MASKED_BY_CONTENT[content] = digest
            while len(_MASKED_BY_CONTENT) > _MASKED_REMEMBERED:
                _MASKED_BY_CONTENT.pop(next(iter(_MASKED_BY_CONTENT)))
    return digest


# The masked digest is a function of the Parquet bytes read (the same writer, version and
# options every time), so S5's replay check and S6's recomputation, which both mask the
# published zone_alloc, need the rewrite only once per content: keyed by the SHA-256 of
# every file the scan reads, never by names or times, so a changed byte is a new key.
_MASKED_BY_CONTENT: dict[tuple, str] = {}
_MASKED_LOCK = threading.Lock()
_MASKED_REMEMBERED = 16


# Parquet files whose rows were proven in writer sort in this process (core.proven's
# KEY_ORDER with the writer sort as the key): S5's check of the staged zone_alloc proves
# its keys strictly increasing in the contract's sort keys (the writer sort) by a pass
# over the same bytes that the replay check then reads back from the published partition
# (the stage, renamed). The replay's own order pass would prove the same again; a changed
# byte is another key.
def remember_in_writer_sort(path: Path, sha256_checked: str) -> None:
    """Remember that the file at `path`, whose bytes hashed to `sha256_checked` when its
    rows were proven in writer sort, is in writer sort: only if it still holds them."""
    KEY_ORDER.remember(WRITER_SORT, path, sha256_checked)


def _proven_in_writer_sort(content: tuple | None) -> bool:
    """A scan of exactly one file whose bytes were proven in writer sort in this process."""
    return content is not None and len(content) == 1 and KEY_ORDER.holds(WRITER_SORT, content[0][1])


# Masked frames S5 wrote for its digest, kept (digest -> directory) until S5 writes the
# final frame from them: that frame is the same rows with the hash written in, so reading
# the masked file back replaces a second evaluation of the frame. Taken only while the
# file still hashes to the digest it was kept under; a few at most, all removed at exit.
_KEPT_FRAMES: dict[str, Path] = {}
_KEPT_LOCK = threading.Lock()
_KEPT_REMEMBERED = 2


def _keep_masked_frame(digest: str, workdir: Path) -> None:
    with _KEPT_LOCK:
        previous = _KEPT_FRAMES.pop(digest, None)
        _KEPT_FRAMES[digest] = workdir
        evicted = [previous] if previous is not None else []
        while len(_KEPT_FRAMES) > _KEPT_REMEMBERED:
            evicted.append(_KEPT_FRAMES.pop(next(iter(_KEPT_FRAMES))))
    for directory in evicted:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def kept_masked_frame(digest: str):
    """The masked frame's file kept under `digest` by `masked_zone_alloc_digest(...,
    keep=True)` in this process, if it is still there and its bytes still hash to
    `digest`, else None. Handed out once: its directory is deleted on leaving."""
    with _KEPT_LOCK:
        workdir = _KEPT_FRAMES.pop(digest, None)
    try:
        masked_file = workdir / PWP_FILE if workdir is not None else None
        if masked_file is not None and not (masked_file.is_file() and sha256_file(masked_file) == digest):
            masked_file = None
        yield masked_file
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


@atexit.register
def _remove_kept_frames() -> None:
    with _KEPT_LOCK:
        leftovers = list(_KEPT_FRAMES.values())
        _KEPT_FRAMES.clear()
    for directory in leftovers:
        shutil.rmtree(directory, ignore_errors=True)


def _content_key(source: Path) -> tuple[tuple[str, str], ...]:
    """(relative path, SHA-256) of every file `parquet_scan(source)` can read."""
    source = Path(source)
    if source.is_file():
        return (("", sha256_file(source)),)
    return tuple((path.relative_to(source).as_posix(), sha256_file(path))
                 for path in sorted(source.rglob("*.parquet")) if path.is_file())


def component_digests(
    conn: duckdb.DuckDBPyConnection,
    zone_alloc: Source,
    *,
    s2_partition: Path,
    mixture_policy: Path,
    floor_policy: Path,
    day_effect_policy: Path,
    scratch: Path | None = None,
    keep_masked: bool = False,
) -> ComponentDigests:
    """The five components of 04 §1.3: H_pq of the S2 partition, H_file of the three
    policy files, and the masked zone_alloc digest of `zone_alloc` (its file kept for
    `kept_masked_frame` with `keep_masked`)."""
    return ComponentDigests(
        zone_alpha_digest=sha256_parquet(Path(s2_partition))[0],
        theta_digest=sha256_file(Path(mixture_policy)),
        zone_floor_digest=sha256_file(Path(floor_policy)),
        day_effect_digest=sha256_file(Path(day_effect_policy)),
        zone_alloc_parquet_digest=masked_zone_alloc_digest(conn, zone_alloc, scratch, keep=keep_masked),
    )


def component_digests_for_run(ctx, conn: duckdb.DuckDBPyConnection, zone_alloc: Source,
                              scratch: Path | None = None, keep_masked: bool = False) -> ComponentDigests:
    """`component_digests` with every file located through the run's catalogue."""
    return component_digests(
        conn, zone_alloc,
        s2_partition=ctx.path("s2_country_zone_priors"),
        mixture_policy=ctx.path("zone_mixture_policy"),
        floor_policy=ctx.path("zone_floor_policy"),
        day_effect_policy=ctx.path("day_effect_policy_v1"),
        scratch=scratch,
        keep_masked=keep_masked,
    )


def universe_hash_document(tokens: Tokens, digests: ComponentDigests) -> dict[str, Any]:
    """The zone_alloc_universe_hash object of 04 §1.4 (stored as CJ)."""
    return {
        "manifest_fingerprint": tokens.manifest_fingerprint,
        "parameter_hash": tokens.parameter_hash,
        **digests.as_dict(),
        "notes": UNIVERSE_NOTES,
    }
