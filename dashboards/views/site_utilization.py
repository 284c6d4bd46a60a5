"""Operator Site utilization: sites against the industry benchmarks (kWh/CP/day and % time
utilised), averages, and utilisation over time. Thresholds come from
marts.site_utilization_benchmarks."""

import streamlit as st

from dashboards import charts, data, ui

f = ui.sidebar_filters("site_utilization")
ui.page_header(
    "Site utilization",
    f,
    [
        "site_utilization_monthly",
        "site_utilization_daily",
        "cp_utilization_daily (AC/DC, access filters)",
        "site_utilization_benchmarks",
    ],
)
if f is None:
    st.stop()

rules = data.benchmarks()
tot = data.utilization_totals(f)
by_site = data.utilization_by_site(f)

c = st.columns(4)
c[0].metric(
    "Average site utilisation (kWh/CP/day)",
    ui.fmt_num(tot["kwh_per_cp_day"], 1),
    border=True,
    help="Σ kWh / Σ CP-days over the selected sites and period",
)
c[1].metric(
    "Average daily utilisation (% time)",
    ui.fmt_pct(tot["time_utilised_pct"]),
    border=True,
    help="Σ occupied hours / Σ available hours of the CP-days × 100",
)
c[2].metric("Benchmark (kWh/CP/day)", (tot["kwh_tier"] or "–").capitalize(), border=True)
c[3].metric("Benchmark (% time)", (tot["time_tier"] or "–").capitalize(), border=True)

with st.expander("Industry benchmarks", expanded=False):
    st.dataframe(
        rules,
        hide_index=True,
        width="stretch",
        column_config={
            "metric": "Metric",
            "tier": "Tier",
            "comparison": "Rule",
            "threshold": "Threshold",
            "evaluation_order": "Order",
        },
    )

st.subheader(
    "Site utilisation against the benchmarks",
    help="Each dot is a site over the selected period; dashed lines are the benchmark thresholds",
)
if len(by_site):
    ui.chart(charts.benchmark_scatter(by_site, rules))
    left, right = st.columns(2)
    with left:
        st.markdown("**Average site utilisation (kWh/CP/day)**")
        ui.chart(
            charts.bars_with_benchmarks(
                by_site,
                rules,
                category="site_name",
                value="kwh_per_cp_day",
                metric="kwh_per_cp_day",
                title="kWh/CP/day",
                tier_col="kwh_tier",
            )
        )
    with right:
        st.markdown("**Average daily utilisation (% time)**")
        ui.chart(
            charts.bars_with_benchmarks(
                by_site,
                rules,
                category="site_name",
                value="time_utilised_pct",
                metric="time_utilised_pct",
                title="% time utilised",
                tier_col="time_tier",
                fmt=".2f",
            )
        )
else:
    st.info("No site has active charge points in the selection.")

st.subheader("Utilisation over time")
ot = ui.with_period_label(data.utilization_over_time(f), f)
daily = data.utilization_daily(f)
if len(ot):
    left, right = st.columns(2)
    with left:
        ui.chart(
            charts.line_with_benchmarks(
                daily,
                rules,
                x="date",
                value="kwh_per_cp_day",
                metric="kwh_per_cp_day",
                title="kWh/CP/day (daily)",
                temporal=True,
            )
        )
    with right:
        ui.chart(
            charts.line_with_benchmarks(
                daily,
                rules,
                x="date",
                value="time_utilised_pct",
                metric="time_utilised_pct",
                title="% time utilised (daily)",
                temporal=True,
                color=charts.ORANGE,
                fmt=".2f",
            )
        )

st.subheader("Sites")
st.dataframe(
    by_site[
        [
            "site_name",
            "operator_name",
            "cp_days",
            "sessions",
            "kwh",
            "kwh_per_cp_day",
            "kwh_tier",
            "occupied_hours",
            "time_utilised_pct",
            "time_tier",
        ]
    ],
    hide_index=True,
    width="stretch",
    column_config={
        "site_name": "Site",
        "operator_name": "Operator",
        "team_name": "Team",
        "cp_days": "CP-days",
        "kwh": st.column_config.NumberColumn("kWh", format="%.1f"),
        "occupied_hours": st.column_config.NumberColumn("Occupied h", format="%.1f"),
        "available_hours": st.column_config.NumberColumn("Available h", format="%.1f"),
        "sessions": "Sessions",
        "kwh_per_cp_day": st.column_config.NumberColumn("kWh/CP/day", format="%.1f"),
        "time_utilised_pct": st.column_config.NumberColumn("% time utilised", format="%.2f"),
        "kwh_tier": "kWh tier",
        "time_tier": "Time tier",
    },
)
if len(ot):
    st.markdown("**Per period**")
    st.dataframe(
        ot.drop(columns=["period"])[
            [
                "period_label",
                "cp_days",
                "kwh",
                "kwh_per_cp_day",
                "kwh_tier",
                "time_utilised_pct",
                "time_tier",
                "sessions",
            ]
        ],
        hide_index=True,
        width="stretch",
        column_config={
            "period_label": "Period",
            "cp_days": "CP-days",
            "kwh": st.column_config.NumberColumn("kWh", format="%.1f"),
            "kwh_per_cp_day": st.column_config.NumberColumn("kWh/CP/day", format="%.1f"),
            "time_utilised_pct": st.column_config.NumberColumn("% time utilised", format="%.2f"),
            "kwh_tier": "kWh tier",
            "time_tier": "Time tier",
            "sessions": "Sessions",
        },
    )
