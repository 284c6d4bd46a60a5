"""The operator dashboards (the seven of the reference, and Reliability and operations), read from
the published serving database.

    streamlit run dashboards/app.py --server.address 127.0.0.1 --server.port 8501 --server.headless true
    streamlit run dashboards/app.py -- --serving-db /path/to/serving.duckdb

The database: ``--serving-db`` (after ``--``), else ``$SERVING_DB``, else
``$WAREHOUSE_DIR/serving.duckdb`` (default ``warehouse/serving.duckdb``). See docs/dashboards.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts dashboards/ on the path, not the repo root
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from dashboards import data  # noqa: E402

VIEWS = Path(__file__).resolve().parent / "views"
PAGES = [  # (file, title, icon, url path)
    ("charge_points.py", "Charge points", ":material/ev_station:", "charge-points"),
    ("revenue.py", "Revenue", ":material/payments:", "revenue"),
    ("team_revenue.py", "Team revenue", ":material/groups:", "team-revenue"),
    ("invoices.py", "Invoices", ":material/receipt_long:", "invoices"),
    ("roaming.py", "Roaming charges", ":material/public:", "roaming-charges"),
    ("failed_charges.py", "Failed charges", ":material/error:", "failed-charges"),
    ("site_utilization.py", "Site utilization", ":material/speed:", "site-utilization"),
    ("reliability.py", "Reliability and operations", ":material/health_and_safety:", "reliability"),
]

st.set_page_config(page_title="Operator dashboards", page_icon=":material/ev_station:", layout="wide")

pages = [
    st.Page(VIEWS / file, title=title, icon=icon, url_path=url, default=(i == 0))
    for i, (file, title, icon, url) in enumerate(PAGES)
]
page = st.navigation(pages, position="sidebar")

path = data.serving_path()
if data.file_identity(path) is None:
    st.title("Operator dashboards")
    st.error(
        f"No published warehouse found at `{path}`.\n\n"
        "Run `make run` to build the warehouse and publish `warehouse/serving.duckdb`, "
        "or point `SERVING_DB` (or `WAREHOUSE_DIR`) at a published one."
    )
    st.stop()

try:
    page.run()
except data.ServingMissing as exc:
    st.error(f"The published warehouse disappeared from `{exc.path}`. Run `make run` to publish it again.")
except data.ServingError as exc:
    st.error(str(exc))

with st.sidebar:
    st.divider()
    try:
        info = data.publish_info()
    except (data.ServingError, data.ServingMissing):
        info = None
    if info:
        published = pd.Timestamp(info["published_at"]).strftime("%Y-%m-%d %H:%M")
        st.caption(
            f"Data as of **{pd.Timestamp(info['as_of_date']).date()}** · published "
            f"{published} UTC · run `{str(info['run_id'])[:8]}`"
        )
    st.caption(f"`{path}` (read-only)")
    if st.button("Refresh data", key="refresh", help="Re-reads serving.duckdb if a newer run was published"):
        st.rerun()
