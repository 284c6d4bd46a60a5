"""The independent pandas reference (orchestration/importer/reference.py) on tiny exports whose
utilization is worked out by hand from DESIGN.md section 5."""

from __future__ import annotations

from datetime import date

import pytest

from orchestration.importer import import_export
from orchestration.importer.reference import busiest_day, independent_site_utilization, load_raw_sessions

from .helpers import HEADER, by_id, export, mapping

# Site A, Europe/Oslo, March 2019 (31 March is 23 h long: clocks go forward 02:00 → 03:00).
ROWS = (
    "1;A;1;30.03.2019 22:00;31.03.2019 04:00;10\n"  # 5 real hours: 2 h on the 30th, 3 h on the 31st
    "2;A;1;31.03.2019 03:00;31.03.2019 05:00;2\n"  # overlaps session 1 from 03:00 to 04:00 on cp 1
    "3;A;2;15.03.2019 12:00;15.03.2019 12:00;1\n"  # empty interval: all kWh on the 15th, no time
    "4;A;2;31.03.2019 23:00;01.04.2019 01:00;4\n"  # half in March, half in April
    "5;A;2;20.03.2019 12:00;20.03.2019 11:00;99\n"  # rejected: unplug before plug-in
    "6;B;3;31.03.2019 10:00;31.03.2019 11:00;3\n"  # another site
)


@pytest.fixture
def tiny(tmp_path):
    return mapping(tmp_path), export(tmp_path, HEADER + ROWS)


def test_site_month_by_hand(tiny):
    m, src = tiny
    u = independent_site_utilization(m, src, "site-A", "2019-03")
    # kWh: session 1 → 4 + 6, session 2 → 2, session 3 → 1, session 4 → 2 of 4
    assert u["kwh"] == pytest.approx(15.0)
    # CP-days: cp-1 commissioned 30 March (its first session) → 30, 31; cp-2 on 15 March → 15..31
    assert u["cp_days"] == 2 + 17
    assert u["kwh_per_cp_day"] == pytest.approx(15.0 / 19)
    # occupied: cp-1 2 h (30th) + union 00:00-05:00 local on the 31st = 4 real hours; cp-2 1 h (31st)
    assert u["occupied_hours"] == pytest.approx(2 + 4 + 1)
    # available hours: cp-1 24 + 23 (31 March has 23 h), cp-2 16 × 24 + 23
    assert u["time_utilised_pct"] == pytest.approx(7 / ((24 + 23) + (16 * 24 + 23)) * 100)


def test_next_month_and_other_site(tiny):
    m, src = tiny
    april = independent_site_utilization(m, src, "site-A", date(2019, 4, 10))
    assert april["kwh"] == pytest.approx(2.0)
    assert april["cp_days"] == 2 * 30
    assert april["occupied_hours"] == pytest.approx(1.0)
    assert april["time_utilised_pct"] == pytest.approx(1 / (60 * 24) * 100)
    feb = independent_site_utilization(m, src, "site-A", "2019-02")
    assert feb == {"kwh": 0.0, "cp_days": 0, "kwh_per_cp_day": None, "occupied_hours": 0.0, "time_utilised_pct": None}
    b = independent_site_utilization(m, src, "site-B", "2019-03")
    assert (b["kwh"], b["cp_days"], b["occupied_hours"]) == (pytest.approx(3.0), 1, pytest.approx(1.0))
    assert b["time_utilised_pct"] == pytest.approx(1 / 23 * 100)
    with pytest.raises(KeyError):
        independent_site_utilization(m, src, "site-Z", "2019-03")


def test_busiest_day(tiny):
    m, src = tiny
    # 31 March at site A: 6 (session 1) + 2 (session 2) + 2 (session 4) = 10 kWh
    site, day, kwh = busiest_day(m, src)
    assert (site, day) == ("site-A", date(2019, 3, 31)) and kwh == pytest.approx(10.0)


def test_autumn_day_has_25_hours(tmp_path):
    m = mapping(tmp_path)
    src = export(
        tmp_path, HEADER + "1;A;1;01.10.2019 00:00;01.10.2019 00:30;1\n2;A;1;26.10.2019 23:00;27.10.2019 05:00;7\n"
    )  # 7 real hours
    u = independent_site_utilization(m, src, "site-A", "2019-10")
    assert u["cp_days"] == 31
    assert u["occupied_hours"] == pytest.approx(0.5 + 7)
    assert u["time_utilised_pct"] == pytest.approx(7.5 / (31 * 24 + 1) * 100)
    # kWh spread evenly over the real 7 hours: 1 h on the 26th, 6 h on the 27th
    assert busiest_day(m, src) == ("site-A", date(2019, 10, 27), pytest.approx(6.0))


def test_reference_agrees_with_the_importer(tiny, tmp_path):
    """Both read the raw export on their own; they must keep the same sessions and instants."""
    m, src = tiny
    summary = import_export(m, src, tmp_path / "out")
    sessions, cps, zones = load_raw_sessions(m, src)
    landed = by_id(tmp_path / "out")
    assert sorted(sessions["session_id"]) == sorted(landed) and summary["rows_rejected"] == 1
    for r in sessions.itertuples():
        rec = landed[r.session_id]
        assert r.plug.strftime("%Y-%m-%dT%H:%M:%SZ") == rec["plugged_in_at"]
        assert r.unplug.strftime("%Y-%m-%dT%H:%M:%SZ") == rec["unplugged_at"]
        assert r.kwh == rec["kwh"]
    assert sorted(cps["charge_point_id"]) == summary["charge_point_ids"]
    assert zones == {"site-A": "Europe/Oslo", "site-B": "Europe/Oslo"}
