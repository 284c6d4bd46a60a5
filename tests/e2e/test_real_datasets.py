"""The three real datasets of ../shared/datasets, imported with the shipped mappings, run through
the whole pipeline (CLI → Dagster → dbt → publish), and the published figures compared with
figures computed independently from the raw export files with plain pandas
(orchestration/importer/reference.py shares no code with the importer or the warehouse)."""

from pathlib import Path

import pytest

from orchestration.importer import import_export
from orchestration.importer.reference import busiest_day, independent_site_utilization, load_raw_sessions
from tests.conftest import read_serving, run_cli

pytestmark = pytest.mark.e2e  # the whole job on a landing zone

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
CASES = {
    "norway_residential": DATASETS / "norway_residential" / "sessions.csv",
    "workplace_charging": DATASETS / "workplace_charging" / "sessions.csv",
    "epfl_dc_fast": DATASETS / "epfl_dc_fast" / "sessions.xlsx",
}
AS_OF = "2023-07-31"  # after the last session of every dataset


@pytest.fixture(scope="module")
def serving(tmp_path_factory) -> Path:
    assert DATASETS.is_dir(), f"{DATASETS} is missing: shared/ must sit beside the repository"
    root = tmp_path_factory.mktemp("real")
    for name, export in CASES.items():
        import_export(MAPPINGS / f"{name}.yml", export, root / "landing")
    result = run_cli("run", "--landing", str(root / "landing"), "--warehouse", str(root / "wh"), "--as-of", AS_OF)
    assert result.returncode == 0, result.output
    return root / "wh" / "serving.duckdb"


def busiest_month(name: str) -> tuple[str, str]:
    """The (site, month) with the most kWh by plug-in month, from the raw export."""
    sessions, _, _ = load_raw_sessions(MAPPINGS / f"{name}.yml", CASES[name])
    sessions = sessions.assign(month=sessions["plug"].dt.strftime("%Y-%m"))
    top = sessions.groupby(["site_id", "month"])["kwh"].sum().sort_values(ascending=False)
    return top.index[0]


@pytest.mark.parametrize("name", CASES)
def test_sessions_and_kwh_per_site(serving, name):
    sessions, _, _ = load_raw_sessions(MAPPINGS / f"{name}.yml", CASES[name])
    expected = sessions.groupby("site_id").agg(n=("session_id", "size"), kwh=("kwh", "sum"))
    got = {
        site: (n, kwh)
        for site, n, kwh in read_serving(
            serving,
            """
        SELECT site_id, count(*), sum(kwh) FROM marts.fct_charge_sessions
        WHERE site_id IN (SELECT unnest(?)) GROUP BY site_id""",
            [list(expected.index)],
        )
    }
    assert set(got) == set(expected.index)
    for site, row in expected.iterrows():
        assert got[site][0] == row["n"], site
        assert got[site][1] == pytest.approx(row["kwh"], abs=1e-6), site


@pytest.mark.parametrize("name", CASES)
def test_site_utilization_of_the_busiest_month(serving, name):
    site, month = busiest_month(name)
    expected = independent_site_utilization(MAPPINGS / f"{name}.yml", CASES[name], site, month)
    rows = read_serving(
        serving,
        """
        SELECT kwh, cp_days, kwh_per_cp_day, occupied_hours, time_utilised_pct
        FROM marts.site_utilization_monthly WHERE site_id = ? AND month = CAST(? AS DATE)""",
        [site, f"{month}-01"],
    )
    assert len(rows) == 1
    kwh, cp_days, kwh_cp_day, occupied, pct = rows[0]
    print(
        f"\n{name} {site} {month}: published kWh/CP/day {kwh_cp_day:.4f} time {pct:.4f} % — "
        f"independent {expected['kwh_per_cp_day']:.4f} / {expected['time_utilised_pct']:.4f} %"
    )
    assert cp_days == expected["cp_days"]
    assert kwh == pytest.approx(expected["kwh"], abs=1e-6)
    assert kwh_cp_day == pytest.approx(expected["kwh_per_cp_day"], rel=1e-9)
    assert occupied == pytest.approx(expected["occupied_hours"], abs=1e-6)
    assert pct == pytest.approx(expected["time_utilised_pct"], rel=1e-9)


@pytest.mark.parametrize("name", CASES)
def test_busiest_day(serving, name):
    site, day, kwh = busiest_day(MAPPINGS / f"{name}.yml", CASES[name])
    sites = sorted(load_raw_sessions(MAPPINGS / f"{name}.yml", CASES[name])[2])
    got = read_serving(
        serving,
        """
        SELECT site_id, date, kwh FROM marts.site_utilization_daily WHERE site_id IN (SELECT unnest(?))
        ORDER BY kwh DESC, site_id, date LIMIT 1""",
        [sites],
    )
    assert got[0][0] == site and got[0][1] == day
    assert got[0][2] == pytest.approx(kwh, abs=1e-6)
