"""The suite's scheduling log (tests/schedule_log.py): a worker's idle time at the end and
the units it ran last, from a hand-written log of two workers."""
from __future__ import annotations

from tests.schedule_log import summary, unit_of

LOG = """\
gw0\tsetup\t100.0\t101.0\ttests/e2e/test_a.py::test_one@shared
gw0\tcall\t101.0\t160.0\ttests/e2e/test_a.py::test_one@shared
gw1\tcall\t100.0\t110.0\ttests/unit/test_b.py::test_two[x@y]
gw1\tcall\t110.0\t130.0\ttests/unit/test_b.py::test_three
"""


def test_idle_at_the_end_and_late_units(tmp_path):
    path = tmp_path / "schedule.tsv"
    path.write_text(LOG)
    lines = summary(path).splitlines()
    assert lines[0] == "2 workers, 60 s from the first test to the last"
    assert lines[1] == "gw0: tests from 0 s to 60 s, busy 60 s, idle at the end 0 s"
    assert lines[2] == "    late unit shared from 0 s, 60 s"
    assert lines[3] == "gw1: tests from 0 s to 30 s, busy 30 s, idle at the end 30 s"
    assert lines[4] == "    late unit tests/unit/test_b.py::test_three from 10 s, 20 s"


def test_a_group_is_the_unit_but_not_an_at_sign_inside_a_parameter():
    assert unit_of("tests/e2e/test_f.py::test_kill[after_rename@rng/events/]@test_f") == "test_f"
    assert unit_of("tests/e2e/test_f.py::test_kill[after_rename@rng/events/]") == \
        "tests/e2e/test_f.py::test_kill[after_rename@rng/events/]"
