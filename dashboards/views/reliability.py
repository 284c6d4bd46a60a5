"""Reliability and operations (the eighth page): charging-port uptime as the US NEVI rule counts it
(each port > 97 % over the trailing 365 days), the network's rapid charge points as the UK Public
Charge Point Regulations 2023 count them (average >= 99 % per calendar year), the worst ports with
their outage minutes, idle time per site and peak demand per site."""

import streamlit as st

from dashboards import charts, data, ui

f = ui.sidebar_filters("reliability")
ui.page_header(
    "Reliability and operations",
    f,
    [
        "charge_point_uptime_trailing",
        "connector_uptime_daily",
        "network_reliability_yearly",
        "site_operations_daily",
        "charge_point_operations_daily (AC/DC, access filters)",
    ],
)
if f is None:
    st.stop()

NEVI, UK = data.uptime_limits()  # the regulations' limits, as the marts apply them
NEVI_LABEL, UK_LABEL = f"NEVI {NEVI:g} %", f"UK {UK:g} %"
k = data.reliability_kpis(f)
ports = data.ports_trailing(f)

c = st.columns(4)
c[0].metric(
    f"Ports meeting NEVI (> {NEVI:g} %)",
    f"{ui.fmt_int(k['ports_meeting_nevi'])} of {ui.fmt_int(k['ports'])}",
    border=True,
    help=f"Charging ports whose uptime over the trailing 365 days is above {NEVI:g} % (23 CFR 680.116(b))",
)
c[1].metric(
    "Port uptime, trailing 365 days",
    ui.fmt_pct(k["port_uptime_pct"], 3),
    border=True,
    help="(minutes − (outage − excluded)) / minutes × 100 over the selected ports' active days; "
    "excluded = Unavailable with errorCode NoError (scheduled maintenance)",
)
rapid_label = "Rapid-charger reliability"
if ui.known(k["rapid_year"]):
    rapid_label += f" {int(k['rapid_year'])}" + ("" if k["rapid_year_complete"] is True else " (so far)")
c[2].metric(
    rapid_label,
    ui.fmt_pct(k["rapid_uptime_pct"], 3),
    border=True,
    help="Mean uptime of the rapid charge points (DC, ≥ 50 kW) of the selected operators; "
    f"the UK regulations require ≥ {UK:g} % per network and calendar year",
)
c[3].metric(
    "Idle time per session",
    f"{ui.fmt_num(k['idle_minutes_per_session'], 1)} min",
    border=True,
    help="unplugged − charging ended, averaged over the finished sessions of the period "
    f"({ui.fmt_int(k['sessions_idle_over_1h'])} of {ui.fmt_int(k['sessions'])} idle over an hour)",
)

st.subheader(
    "Uptime per charging port (NEVI)",
    help="Trailing 365 days ending on the as-of date, the days each charge point was active",
)
if len(ports):
    window = f"{ports['window_start'].iloc[0]:%d %b %Y} – {ports['as_of_date'].iloc[0]:%d %b %Y}"
    failing = int((~ports["meets_nevi_97"]).sum())
    st.caption(
        f"{window} · {failing} of {len(ports)} ports at or below {NEVI:g} % · the {min(30, len(ports))} lowest shown"
    )
    left, right = st.columns([3, 2])
    with left:
        ui.chart(charts.port_uptime_bars(ports, threshold=NEVI, label=NEVI_LABEL))
    with right:
        st.markdown("**Worst ports**")
        st.dataframe(
            ports[
                [
                    "port",
                    "site_name",
                    "charging_type",
                    "uptime_pct",
                    "outage_minutes",
                    "excluded_minutes",
                    "active_days",
                    "meets_nevi_97",
                ]
            ].head(25),
            hide_index=True,
            width="stretch",
            column_config={
                "port": "Port",
                "site_name": "Site",
                "charging_type": "AC/DC",
                "uptime_pct": st.column_config.NumberColumn("Uptime %", format="%.3f"),
                "outage_minutes": st.column_config.NumberColumn("Outage min", format="%.0f"),
                "excluded_minutes": st.column_config.NumberColumn(
                    "Excluded min", format="%.0f", help="Scheduled maintenance"
                ),
                "active_days": "Days",
                "meets_nevi_97": "Meets NEVI",
            },
        )
else:
    st.info("No charging port with status data in the selection.")

left, right = st.columns(2)
with left:
    st.subheader(
        "Rapid-charger reliability (UK)",
        help="Per operator and calendar year: mean uptime of its rapid charge points (DC, ≥ 50 kW), "
        "each the mean of its ports. Team, site and access filters do not apply.",
    )
    rr = data.rapid_reliability(f)
    if len(rr):
        ui.chart(
            charts.grouped_bars_with_threshold(
                rr,
                category="operator_name",
                group="year",
                value="average_uptime_pct",
                threshold=UK,
                label=UK_LABEL,
                title="Average uptime %",
                ok_col="meets_uk_99",
            )
        )
        st.dataframe(
            rr[
                [
                    "year",
                    "operator_name",
                    "rapid_charge_points",
                    "average_uptime_pct",
                    "meets_uk_99",
                    "lowest_uptime_pct",
                    "charge_points_below_99",
                    "first_date",
                    "last_date",
                    "is_complete_year",
                ]
            ],
            hide_index=True,
            width="stretch",
            column_config={
                "year": st.column_config.NumberColumn("Year", format="%d"),
                "operator_name": "Operator",
                "rapid_charge_points": "Rapid CPs",
                "average_uptime_pct": st.column_config.NumberColumn("Average %", format="%.3f"),
                "meets_uk_99": "Meets 99 %",
                "lowest_uptime_pct": st.column_config.NumberColumn("Lowest %", format="%.2f"),
                "charge_points_below_99": "CPs < 99 %",
                "first_date": st.column_config.DateColumn("From"),
                "last_date": st.column_config.DateColumn("To"),
                "is_complete_year": st.column_config.CheckboxColumn(
                    "Full year", help="The year is over and the data covers it from 1 January"
                ),
            },
        )
    else:
        st.caption("No rapid charge points (DC, ≥ 50 kW) in the selection.")
with right:
    st.subheader("Port uptime over time", help="Uptime of the selected ports per local day")
    ot = data.uptime_over_time(f)
    if len(ot):
        ui.chart(
            charts.line_with_thresholds(
                ot, x="date", y="uptime_pct", title="Uptime %", thresholds=[(NEVI, NEVI_LABEL), (UK, UK_LABEL)]
            )
        )
    else:
        st.caption("No port uptime in the selected period.")

st.subheader(
    "Idle time per site", help="Plugged in but not charging: unplugged − charging ended, on the sessions' plug-in dates"
)
idle = data.idle_by_site(f)
if len(idle):
    left, right = st.columns([3, 2])
    with left:
        iot = ui.with_period_label(data.idle_over_time(f), f)
        ui.chart(charts.multi_line(iot, x="period_label", y="idle_hours", series="site_name", title="Idle hours"))
    with right:
        st.dataframe(
            idle.drop(columns=["site_id"]),
            hide_index=True,
            width="stretch",
            column_config={
                "site_name": "Site",
                "sessions": "Sessions",
                "idle_hours": st.column_config.NumberColumn("Idle h", format="%.1f"),
                "idle_minutes_per_session": st.column_config.NumberColumn("Idle min / session", format="%.1f"),
                "sessions_idle_over_1h": "Idle > 1 h",
                "idle_over_1h_pct": st.column_config.NumberColumn("% idle > 1 h", format="%.1f"),
            },
        )
else:
    st.info("No finished sessions in the selection.")

st.subheader("Peak demand per site", help="Highest 15-minute demand of each day (kWh in the slot × 4), local clock")
if f.cp_level():
    st.caption(
        "Demand is the whole site's (its grid connection): the AC/DC and access filters keep the "
        "sites that have such charge points."
    )
peaks = data.peak_by_site(f)
if len(peaks):
    daily = data.peak_demand_daily(f)
    ui.chart(
        charts.heatmap(
            daily,
            x="date",
            y="site_name",
            color="peak_demand_kw",
            title="Daily peak kW",
            tooltip=["peak_slot_start:T", "installed_power_kw:Q"],
        )
    )
    st.dataframe(
        peaks.drop(columns=["site_id"]),
        hide_index=True,
        width="stretch",
        column_config={
            "site_name": "Site",
            "peak_demand_kw": st.column_config.NumberColumn("Peak kW", format="%.1f"),
            "peak_slot_start": st.column_config.DatetimeColumn("Peak slot (local)", format="YYYY-MM-DD HH:mm"),
            "average_daily_peak_kw": st.column_config.NumberColumn("Average daily peak kW", format="%.1f"),
            "installed_power_kw": st.column_config.NumberColumn("Installed kW", format="%.0f"),
            "peak_of_installed_pct": st.column_config.NumberColumn("Peak / installed %", format="%.1f"),
        },
    )
else:
    st.info("No charging in the selection.")
