"""Operator Charge points: Teams and Sites tables, the three splits, and charge points,
sessions, ratings and kWh over time."""

import streamlit as st

from dashboards import charts, data, ui

f = ui.sidebar_filters("charge_points")
ui.page_header(
    "Charge points",
    f,
    [
        "cp_team_summary",
        "cp_site_summary",
        "cp_status_splits",
        "cp_counts_monthly",
        "cp_activity_monthly",
        "cp_ratings_monthly",
    ],
)
if f is None:
    st.stop()

month = ui.month_label(data.current_month())
splits = data.cp_splits(f)
counts = ui.with_period_label(data.cp_counts_over_time(f), f)
activity = ui.with_period_label(data.cp_activity_over_time(f), f)
ratings = ui.with_period_label(data.cp_ratings_over_time(f), f)


def split_value(split: str, value: str) -> int:
    s = splits[(splits["split"] == split) & (splits["value"] == value)]["charge_points"]
    return int(s.sum())


total_cps = int(splits[splits["split"] == "Active"]["charge_points"].sum())
c = st.columns(6)
c[0].metric("Charge points", ui.fmt_int(total_cps), help="Current registry (cp_status_splits)")
c[1].metric("Active", ui.fmt_int(split_value("Active", "Active")), help="Active on the as-of date")
c[2].metric("Roaming-enabled", ui.fmt_int(split_value("Roaming", "Roaming")))
c[3].metric(
    "Completed sessions",
    ui.fmt_int(activity["completed_sessions"].sum()),
    help="Completed sessions plugged in during the selected period",
)
c[4].metric(
    "kWh charged", ui.fmt_num(activity["kwh"].sum(), 0), help="Energy in the selected period (split by local day)"
)
rating_totals = data.cp_ratings_totals(f)
c[5].metric(
    "Average rating",
    f"{ui.fmt_num(rating_totals['average_stars'], 2)} ★" if rating_totals["ratings"] else "–",
    help=f"{ui.fmt_int(rating_totals['ratings'])} ratings in the selected period",
)

st.subheader("Splits", help="Charge points as registered now; active = on the as-of date")
sc = st.columns(3)
for col, (split, title, colors) in zip(
    sc,
    (
        ("Roaming", "Roaming / non-roaming", {"Roaming": charts.BLUE, "Non-roaming": charts.GREY}),
        ("Active", "Active / inactive", {"Active": charts.GREEN, "Inactive": charts.RED}),
        ("Access", "Public / private", {"Public": charts.BLUE, "Private": charts.ORANGE}),
    ),
):
    df = splits[splits["split"] == split]
    with col:
        st.markdown(f"**{title}**")
        if df["charge_points"].sum():
            ui.chart(charts.donut(df, category="value", value="charge_points", colors=colors))
        else:
            st.caption(f"{title}: no charge points")

left, right = st.columns(2)
with left:
    st.subheader(
        "Charge points",
        help="New charge points commissioned per period (bars) and the total active at the end of each period (line)",
    )
    ui.chart(
        charts.bars_with_line(
            counts,
            x="period_label",
            bar="new_charge_points",
            line="total_charge_points",
            bar_title="New charge points",
            line_title="Total charge points",
            fmt=",.0f",
            integer=True,
        )
    )
with right:
    st.subheader(
        "Charge sessions",
        help="Completed sessions per period (bars) and accumulated total since the first session (line)",
    )
    ui.chart(
        charts.bars_with_line(
            activity,
            x="period_label",
            bar="completed_sessions",
            line="running_completed_sessions",
            bar_title="Completed sessions",
            line_title="Accumulated total",
            fmt=",.0f",
            integer=True,
        )
    )
left, right = st.columns(2)
with left:
    st.subheader("kWh charged")
    ui.chart(charts.bars(activity, x="period_label", y="kwh", title="kWh", color=charts.GREEN, fmt=",.1f"))
with right:
    st.subheader("Charge ratings", help="Average stars (1–5) of the ratings given in each period")
    if len(ratings):
        ui.chart(
            charts.line(
                ratings,
                x="period_label",
                y="average_stars",
                title="Average stars",
                color=charts.ORANGE,
                y_domain=(0, 5),
            )
        )
    else:
        st.caption("No ratings in the selected period.")

st.subheader("Teams", help=f"Charge points now and finished sessions plugged in during {month}")
teams = data.cp_teams_table(f)
st.dataframe(
    teams.drop(columns=["team_id", "operator_id"]),
    hide_index=True,
    width="stretch",
    height="auto",
    column_config={
        "team_name": "Team",
        "operator_name": "Operator",
        "charge_points": "Charge points",
        "active_charge_points": "Active",
        "sessions_this_month": f"Sessions ({month})",
        "completed_sessions_this_month": f"Completed ({month})",
        "total_sessions": "Sessions (all time)",
    },
)
st.subheader("Sites", help=f"Charge points now and finished sessions plugged in during {month}")
sites = data.cp_sites_table(f)
st.dataframe(
    sites.drop(columns=["site_id", "operator_id", "team_id", "country_code", "completed_sessions_this_month"]),
    hide_index=True,
    width="stretch",
    column_config={
        "site_name": "Site",
        "city": "City",
        "country_code": "Country",
        "operator_name": "Operator",
        "team_name": "Team",
        "charge_points": "Charge points",
        "active_charge_points": "Active",
        "sessions_this_month": f"Sessions ({month})",
        "completed_sessions_this_month": f"Completed ({month})",
        "total_sessions": "Sessions (all time)",
    },
)
st.caption(
    f"Tables and splits show the registry now and the sessions of {month} (the as-of month); "
    "the date range applies to the charts and the metrics above."
)
