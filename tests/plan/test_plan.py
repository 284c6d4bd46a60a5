"""The planner (orchestration/plan.py): from the raw rows loaded since the last built plan, which
dates and keys the incremental models rebuild — or that everything (a partition could empty) or
nothing (no new data) is rebuilt. Small raw tables written by hand; no dbt."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import pytest

from orchestration import plan as planner
from orchestration.contract import SOURCES, raw_table_ddl

D = date(2025, 3, 10)
T0 = datetime(2025, 3, 10, 6)  # the first load
_clock = [T0]


def _tick() -> datetime:
    _clock[0] += timedelta(minutes=5)
    return _clock[0]


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("CREATE SCHEMA raw")
    for src in SOURCES.values():
        c.execute(raw_table_ddl(src))
    _clock[0] = T0
    _load(
        c,
        "sites",
        site_id="s1",
        operator_id="op1",
        team_id="t1",
        name="Site 1",
        latitude=59.9,
        longitude=10.7,
        time_zone="Europe/Oslo",
        updated_at=datetime(2025, 1, 1),
    )
    _cp1_version(c, updated_at=datetime(2025, 1, 1))
    for i in range(3):  # ses0 is still in progress
        _session(
            c,
            f"ses{i}",
            plugged=datetime(2025, 3, 1 + i, 10),
            updated=datetime(2025, 3, 1 + i, 12),
            state="in_progress" if i == 0 else "completed",
        )
        _load(
            c,
            "ledger",
            entry_id=f"e{i}",
            operator_id="op1",
            kind="charge",
            amount=10,
            currency="NOK",
            booked_at=datetime(2025, 3, 1 + i, 12),
            session_id=f"ses{i}",
        )
    _cdr(c, "c1", end=datetime(2025, 3, 1, 11))
    _load(c, "fx_rates", rate_date=date(2025, 3, 3), currency="NOK", rate=11.5)
    yield c
    c.close()


def _load(c, source: str, **values) -> None:
    """One raw row, loaded now (a new load each call)."""
    values["_loaded_at"] = _tick()
    cols = list(values)
    c.execute(
        f"INSERT INTO raw.{source} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})", list(values.values())
    )


def _cp1_version(c, **changes) -> None:
    """A version of charge point cp1 (the first one, with `changes`)."""
    _load(
        c,
        "charge_points",
        **{
            "charge_point_id": "cp1",
            "site_id": "s1",
            "operator_id": "op1",
            "team_id": "t1",
            "brand": "Alfen",
            "model": "Eve",
            "firmware_version": "6.3.0",
            "charging_type": "AC",
            "access": "public",
            "roaming_enabled": True,
            "commissioned_at": datetime(2025, 1, 2),
            **changes,
        },
    )


def _session(
    c,
    sid: str,
    *,
    plugged: datetime,
    updated: datetime,
    state: str = "completed",
    hours: int = 2,
    cp: str = "cp1",
    roaming: bool = False,
) -> None:
    _load(
        c,
        "sessions",
        session_id=sid,
        charge_point_id=cp,
        state=state,
        plugged_in_at=plugged,
        unplugged_at=plugged + timedelta(hours=hours) if state != "in_progress" else None,
        kwh=10.0,
        is_roaming=roaming,
        updated_at=updated,
    )


def _cdr(c, cdr_id: str, *, end: datetime, credit: bool = False, ref: str | None = None) -> None:
    _load(
        c,
        "cdrs",
        country_code="NO",
        party_id="EVW",
        id=cdr_id,
        start_date_time=end - timedelta(hours=1),
        end_date_time=end,
        location_id="s1",
        evse_uid="cp1",
        currency="NOK",
        total_cost_excl_vat=-5 if credit else 5,
        total_energy=10.0,
        credit=credit,
        credit_reference_id=ref,
    )


def _plan(c, as_of: date = D, **kw) -> planner.Plan:
    return planner.make_plan(c, as_of=as_of, project="p1:t1", **kw)


def _built(c, as_of: date = D, **kw) -> planner.Plan:
    plan = _plan(c, as_of, **kw)
    planner.finish_plan(c, plan.plan_id)
    return plan


def _set(c, table: str) -> list:
    return [r[0] if len(r) == 1 else r for r in c.execute(f"SELECT * FROM run_plan.{table} ORDER BY ALL").fetchall()]


def _dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def test_first_build_is_full_then_nothing_to_do(con):
    first = _built(con)
    assert first.mode == "full" and "first build" in first.reasons[0]
    again = _built(con)
    assert again.mode == "none" and again.previous_plan_id == first.plan_id
    assert all(n == 0 for n in again.sizes.values())


def test_a_new_day_without_data_rebuilds_the_days_between_the_logical_dates(con):
    _built(con)
    plan = _plan(con, D + timedelta(days=2))
    assert plan.mode == "incremental"
    assert _set(con, "network_dates") == _dates(D, D + timedelta(days=2))
    assert _set(con, "sessions") == []


def test_a_late_session_version_rebuilds_its_key_its_dates_and_its_ledger_entries(con):
    _built(con)
    # ses0, plugged in on 2025-03-01 and loaded in progress, is completed eight days later,
    # unplugged the next day: every date of both versions (with a day of slack) is rebuilt
    _session(con, "ses0", plugged=datetime(2025, 3, 1, 10), updated=datetime(2025, 3, 9), hours=26)
    # and a new session
    _session(con, "ses9", plugged=datetime(2025, 3, 9, 23), updated=datetime(2025, 3, 10), state="in_progress")
    plan = _plan(con)
    assert plan.mode == "incremental", plan.describe()
    assert _set(con, "sessions") == ["ses0", "ses9"]
    assert _set(con, "network_dates") == _dates(date(2025, 2, 28), date(2025, 3, 3)) + _dates(
        date(2025, 3, 8), date(2025, 3, 10)
    )
    assert _set(con, "ledger_entries") == ["e0"]  # the entries of the rebuilt sessions


def test_rows_gone_from_raw_make_a_full_rebuild(con):
    _built(con)
    con.execute("DELETE FROM raw.sessions WHERE session_id = 'ses1'")  # as a conflict moves versions out
    plan = _plan(con)
    assert (
        plan.mode == "full"
        and "raw.sessions holds 2 rows from earlier loads where the last build saw 3" in plan.reasons[0]
    )
    assert all(n == 0 for n in plan.sizes.values())


def test_a_logical_date_moved_back_is_a_full_rebuild(con):
    _built(con)
    assert _plan(con, D - timedelta(days=1)).mode == "full"


def test_a_corrected_finished_session_that_leaves_a_date_is_a_full_rebuild(con):
    _built(con)
    _session(con, "ses2", plugged=datetime(2025, 2, 27, 10), updated=datetime(2025, 3, 9))  # moved earlier
    plan = _plan(con)
    assert plan.mode == "full" and "finished session(s) corrected off a date" in plan.reasons[0]


def test_a_finished_session_that_ends_later_stays_incremental(con):
    _built(con)
    _session(con, "ses1", plugged=datetime(2025, 3, 2, 10), updated=datetime(2025, 3, 9), hours=30)
    plan = _plan(con)
    assert plan.mode == "incremental", plan.describe()
    assert _set(con, "network_dates") == _dates(date(2025, 3, 1), date(2025, 3, 4))


def test_a_firmware_upgrade_rebuilds_the_sessions_after_it_and_the_dates_from_it(con):
    _built(con)
    _cp1_version(con, firmware_version="6.4.0", updated_at=datetime(2025, 3, 2))
    plan = _plan(con)
    assert plan.mode == "incremental", plan.describe()
    assert any("1 firmware or hardware change" in r for r in plan.reasons)
    assert _set(con, "sessions") == ["ses1", "ses2"]  # plugged in after 2025-03-02 00:00
    assert _set(con, "network_dates")[0] == date(2025, 3, 1)
    assert _set(con, "network_dates")[-1] >= D


def test_other_charge_point_changes_are_full_rebuilds(con):
    _built(con)
    _cp1_version(con, access="private", updated_at=datetime(2025, 3, 2))
    plan = _plan(con)
    assert plan.mode == "full" and "a change of access" in plan.reasons[0], plan.describe()


def test_a_new_charge_point_rebuilds_the_dates_from_its_commissioning(con):
    _built(con)
    _load(
        con,
        "charge_points",
        charge_point_id="cp2",
        site_id="s1",
        operator_id="op1",
        team_id="t1",
        brand="ABB",
        model="Terra",
        firmware_version="1.0",
        charging_type="DC",
        access="public",
        roaming_enabled=False,
        commissioned_at=datetime(2025, 3, 7, 9),
        updated_at=datetime(2025, 3, 7, 9),
    )
    plan = _plan(con)
    assert plan.mode == "incremental" and any("1 new charge point" in r for r in plan.reasons), plan.describe()
    assert _set(con, "network_dates") == _dates(date(2025, 3, 6), D + timedelta(days=1))


def test_site_changes(con):
    _built(con)
    # an address change: nothing the incremental models read
    _load(
        con,
        "sites",
        site_id="s1",
        operator_id="op1",
        team_id="t1",
        name="Site 1",
        address="Elsewhere 1",
        latitude=59.9,
        longitude=10.7,
        time_zone="Europe/Oslo",
        updated_at=datetime(2025, 3, 5),
    )
    plan = _built(con)
    assert plan.mode == "incremental" and all(n == 0 for n in plan.sizes.values()), plan.describe()
    # a time zone change moves every local date of the site
    _load(
        con,
        "sites",
        site_id="s1",
        operator_id="op1",
        team_id="t1",
        name="Site 1",
        address="Elsewhere 1",
        latitude=59.9,
        longitude=10.7,
        time_zone="Europe/London",
        updated_at=datetime(2025, 3, 6),
    )
    plan = _plan(con)
    assert plan.mode == "full" and "a change of time_zone (site 's1')" in plan.reasons[0], plan.describe()


def test_a_late_credit_cdr_rebuilds_itself_and_the_cdr_it_cancels(con):
    _built(con)
    _cdr(con, "c1-CR", end=datetime(2025, 3, 1, 11), credit=True, ref="c1")
    _cdr(con, "c2", end=datetime(2025, 3, 9, 20))
    plan = _plan(con)
    assert plan.mode == "incremental", plan.describe()
    assert _set(con, "cdrs") == [("NO", "EVW", "c1"), ("NO", "EVW", "c1-CR"), ("NO", "EVW", "c2")]
    assert _set(con, "roaming_dates") == [date(2025, 3, 1), date(2025, 3, 9)]


def test_a_new_cdr_at_a_site_attributed_from_cdrs_is_a_full_rebuild(con):
    _built(con)
    _load(
        con,
        "cdrs",
        country_code="NO",
        party_id="EVW",
        id="c3",
        start_date_time=datetime(2025, 3, 9),
        end_date_time=datetime(2025, 3, 9, 1),
        location_id="unknown-site",
        evse_uid="cp1",
        currency="NOK",
        total_cost_excl_vat=5,
        total_energy=1.0,
        credit=False,
    )
    assert _plan(con).mode == "full"


def test_new_ecb_rates_rebuild_what_is_booked_from_their_date_on(con):
    _built(con)
    _load(con, "fx_rates", rate_date=date(2025, 3, 2), currency="NOK", rate=11.4)
    plan = _plan(con)
    assert plan.mode == "incremental" and any("from 2025-03-02 on" in r for r in plan.reasons), plan.describe()
    assert _set(con, "ledger_entries") == ["e1", "e2"]
    assert _set(con, "cdrs") == []  # c1 ended on 2025-03-01


def test_a_window_asked_for_rebuilds_its_days_and_keys(con):
    _built(con)
    plan = _plan(con, rebuild=(date(2025, 3, 2), date(2025, 3, 3)))
    assert plan.mode == "incremental" and "the days 2025-03-02..2025-03-03 asked for" in plan.reasons, plan.describe()
    assert _set(con, "network_dates") == _dates(date(2025, 3, 1), date(2025, 3, 4))
    assert _set(con, "ocpp_dates") == _dates(date(2025, 3, 1), date(2025, 3, 4))
    assert _set(con, "sessions") == ["ses0", "ses1", "ses2"]  # plugged in 03-01 (slack) .. 03-03
    assert _set(con, "ledger_entries") == ["e0", "e1", "e2"]  # booked in the window, or of those sessions
    assert _set(con, "cdrs") == []


def test_a_failed_build_is_planned_again_with_everything_since(con):
    first = _built(con)
    _session(con, "ses5", plugged=datetime(2025, 3, 9, 8), updated=datetime(2025, 3, 9, 10))
    failed = _plan(con)  # its dbt build fails: never finished
    _session(con, "ses6", plugged=datetime(2025, 3, 10, 8), updated=datetime(2025, 3, 10, 10))
    plan = _plan(con)
    assert failed.clean_chain and not plan.clean_chain
    assert plan.previous_plan_id == first.plan_id
    assert _set(con, "sessions") == ["ses5", "ses6"]


def test_a_changed_dbt_project_is_a_full_rebuild_changed_tests_run_everywhere(con):
    _built(con)
    plan = planner.make_plan(con, as_of=D, project="p1:t2")  # a data test added or changed
    assert plan.mode == "incremental" and "the data tests changed" in plan.reasons[-1], plan.describe()
    assert set(plan.changed_sources) == set(planner.SOURCES) and plan.as_of_changed  # nothing left out
    plan = planner.make_plan(con, as_of=D, project="p2:t2")  # a model or macro changed
    assert plan.mode == "full" and "dbt project changed" in plan.reasons[0]


def test_too_much_to_replace_is_a_full_rebuild(con, monkeypatch):
    _built(con)
    monkeypatch.setitem(planner.FULL_FLOOR, "sessions", 1)
    _session(con, "ses3", plugged=datetime(2025, 3, 9, 10), updated=datetime(2025, 3, 9, 12))
    _session(con, "ses4", plugged=datetime(2025, 3, 9, 11), updated=datetime(2025, 3, 9, 13))
    plan = _plan(con)  # 2 of 5 sessions: more than a quarter
    assert plan.mode == "full" and "a full rebuild is cheaper" in plan.reasons[0], plan.describe()


def test_hostile_ids_are_data_in_the_plan(con):
    _built(con)
    hostile = "x*/ select 1; drop table raw.sessions; --'\"\\\n/*"
    _session(con, hostile, plugged=datetime(2025, 3, 9, 8), updated=datetime(2025, 3, 9, 10))
    _load(
        con,
        "ledger",
        entry_id=hostile,
        operator_id="op1",
        kind="charge",
        amount=1,
        currency="NOK",
        booked_at=datetime(2025, 3, 9, 12),
        session_id=hostile,
    )
    plan = _plan(con)
    assert plan.mode == "incremental"
    assert _set(con, "sessions") == [hostile] and _set(con, "ledger_entries") == [hostile]
    assert con.execute("SELECT count(*) FROM raw.sessions").fetchone()[0] == 4
