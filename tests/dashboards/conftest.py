"""Fixtures for the dashboard tests: a small published warehouse (warehouse_fixture.py) and an
AppTest of the Streamlit app pointed at it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dashboards.warehouse_fixture import build_serving

PROJECT = Path(__file__).resolve().parents[2]
APP = PROJECT / "dashboards" / "app.py"
PAGES = {  # page key -> file under dashboards/ (as AppTest.switch_page wants it) and URL path
    "charge_points": ("views/charge_points.py", ""),  # the default page, served at /
    "revenue": ("views/revenue.py", "revenue"),
    "team_revenue": ("views/team_revenue.py", "team-revenue"),
    "invoices": ("views/invoices.py", "invoices"),
    "roaming": ("views/roaming.py", "roaming-charges"),
    "failed_charges": ("views/failed_charges.py", "failed-charges"),
    "site_utilization": ("views/site_utilization.py", "site-utilization"),
    "reliability": ("views/reliability.py", "reliability"),
}


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives the running app in headless Chromium (Playwright)")


@pytest.fixture(scope="session")
def serving_tables(tmp_path_factory):
    """(path of a published fixture serving.duckdb, {mart: DataFrame it holds})."""
    path = tmp_path_factory.mktemp("warehouse") / "serving.duckdb"
    tables = build_serving(path)
    return path, tables


@pytest.fixture
def serving(serving_tables, monkeypatch):
    path, _ = serving_tables
    monkeypatch.setenv("SERVING_DB", str(path))
    return path


@pytest.fixture
def app(serving):
    """An AppTest of dashboards/app.py reading the fixture warehouse; call .run() yourself."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(APP), default_timeout=30)
