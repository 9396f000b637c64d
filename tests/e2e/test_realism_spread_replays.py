"""Replays of a built run's draws (seg3a.realism.spread) on a real dbt build: the run's
own fingerprint reproduces its published S3 shares and S4 counts bit for bit, anything
else is refused, and another fingerprint redraws the run as a build at another engine
commit would."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from seg3a.realism import score, spread
from seg3a.states.s3_concentration import SiteCountConcentration
from tests.e2e.conftest import two_runs  # noqa: F401  (session fixture)


@pytest.fixture(scope="module")
def replay(two_runs):  # noqa: F811
    runs_root, _databases, run_id, _newer = two_runs
    run = spread.RunReplay.open(runs_root / run_id, score.load_population()["table"])
    yield run
    run.close()


def test_the_runs_own_fingerprint_reproduces_its_published_draws(replay):
    replay.check_reproduces_run()
    own = replay.world(replay.fingerprint)["s3_zone_shares"].column("share_drawn").to_numpy()
    assert np.array_equal(own, replay.rows["share_drawn"])


def test_another_fingerprint_redraws_and_keeps_every_pair_whole(replay):
    other = spread.replay_fingerprint(replay.fingerprint, 0)
    world = replay.world(other)
    shares = world["s3_zone_shares"].column("share_drawn").to_numpy()
    assert not np.array_equal(shares, replay.rows["share_drawn"])
    counts = world["s4_zone_counts"].column("zone_site_count").to_numpy()
    per_pair = np.bincount(replay.pair, weights=counts)
    assert np.array_equal(per_pair, replay.rows["site_count"][replay.first].astype(float))
    values = replay.replay(other)
    assert values == replay.replay(other)                       # same fingerprint, same figures
    assert values["run"]["CONS.s4"] == 0 and values["run"]["CONS.zone_alloc"] == 0
    assert values["run"]["S3-std.median"] != values["truth"]["S3-std.median"]


def test_a_replay_that_does_not_reproduce_the_run_is_refused(replay):
    from python_udfs.rng import Dispersion

    other_policy = dataclasses.replace(replay.dispersion, concentration_scale=replay.dispersion.concentration_scale * 2)
    assert isinstance(other_policy, Dispersion)
    with pytest.raises(spread.ReplayMismatch, match="share_drawn"):
        dataclasses.replace(replay, dispersion=other_policy).check_reproduces_run()
    # The build scaled each pair's shapes by its site-count factor: a replay without it differs.
    assert replay.concentration.enabled
    with pytest.raises(spread.ReplayMismatch, match="share_drawn"):
        dataclasses.replace(replay, concentration=SiteCountConcentration()).check_reproduces_run()
    rows = dict(replay.rows)
    rows["zone_site_count"] = rows["zone_site_count"].copy()
    rows["zone_site_count"][0] += 1
    with pytest.raises(spread.ReplayMismatch, match="zone_site_count"):
        dataclasses.replace(replay, rows=rows).check_reproduces_run()


def test_measure_records_every_replay_of_the_run(two_runs):  # noqa: F811
    runs_root, _databases, run_id, _newer = two_runs
    measured = spread.measure([runs_root / run_id], replays=3)
    (seed, entry), = measured["seeds"].items()
    assert seed == "42" and [r["index"] for r in entry["replays"]] == [0, 1, 2]
    assert len({r["manifest_fingerprint"] for r in entry["replays"]}) == 3
    assert entry["fixed"]["truth"]["S2-top1.median"] is not None
