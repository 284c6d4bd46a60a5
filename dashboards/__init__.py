"""Streamlit operator dashboards over the published marts (see docs/dashboards.md)."""
