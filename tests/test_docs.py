"""`make docs` writes dbt docs and GX Data Docs (every landing source's suite) into WAREHOUSE/docs."""

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.e2e  # dbt docs generate on the whole project


def test_docs_are_built_without_a_build_database(tmp_path):
    result = run_cli("docs", "--warehouse", str(tmp_path))
    assert result.returncode == 0, result.output
    dbt_index = tmp_path / "docs" / "dbt" / "index.html"
    assert dbt_index.exists() and (tmp_path / "docs" / "dbt" / "manifest.json").exists()
    site = tmp_path / "docs" / "gx" / "gx" / "uncommitted" / "data_docs" / "local_site"
    suites = sorted(p.stem for p in (site / "expectations").glob("*.html"))
    assert suites == sorted(
        f"landing_{s}"
        for s in (
            "operators",
            "teams",
            "sites",
            "charge_points",
            "sessions",
            "cdrs",
            "ocpp",
            "ratings",
            "invoices",
            "wallets",
            "ledger",
            "plans",
            "subscriptions",
            "fx_rates",
        )
    )
