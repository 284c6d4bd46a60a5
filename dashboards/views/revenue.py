"""Operator Revenue: revenue over time (bars) with running revenue (line); Operators, Paying
teams and Plans tables."""

import streamlit as st

from dashboards import charts, data, ui

f = ui.sidebar_filters("revenue")
ui.page_header(
    "Revenue",
    f,
    [
        "revenue_monthly",
        "revenue_operators",
        "revenue_paying_teams",
        "revenue_plans",
        "fct_ledger_entries (site, AC/DC, access filters)",
    ],
)
if f is None:
    st.stop()

cur = ui.money_label(f)
month = ui.month_label(data.current_month())
k = data.revenue_kpis(f)
over_time = ui.with_period_label(data.revenue_over_time(f), f)

c = st.columns(4)
c[0].metric(f"Revenue, selected period ({cur})", ui.fmt_money(k["period_revenue"], cur))
c[1].metric(f"Revenue {month} ({cur})", ui.fmt_money(k["current_month_revenue"], cur), help="The as-of month")
c[2].metric("Paying teams", ui.fmt_int(k["paying_teams"]), help="Teams with revenue in the selected period")
c[3].metric(
    "Running revenue at period end",
    ui.fmt_money(over_time["running_revenue"].iloc[-1] if len(over_time) else None, cur),
    help="Accumulated since the first month with revenue",
)
if not f.currency:
    st.caption(
        "All currencies, converted to EUR at the ECB rate of each booking date. "
        "Pick a currency in the sidebar to see amounts as booked."
    )

st.subheader(
    "Revenue over time",
    help="Bars: revenue booked per period (UTC). Line: running revenue, "
    "accumulated month by month from the first month with revenue.",
)
if len(over_time):
    ui.chart(
        charts.bars_with_line(
            over_time,
            x="period_label",
            bar="revenue",
            line="running_revenue",
            bar_title=f"Revenue ({cur})",
            line_title=f"Running revenue ({cur})",
        )
    )
else:
    st.info("No revenue in the selected period.")

labels = {
    "operator_name": "Operator",
    "parent_operator_name": "Parent operator",
    "currency": "Currency",
    "team_name": "Team",
    "revenue_current_month": f"{month}",
    "revenue_past_months": "Past months",
    "total_revenue": "Total",
    "revenue_selected_period": "Selected period",
    "revenue_current_month_eur": f"{month} (EUR)",
    "revenue_past_months_eur": "Past months (EUR)",
    "total_revenue_eur": "Total (EUR)",
    "revenue_selected_period_eur": "Selected period (EUR)",
}
cfg = ui.columns(labels, money=tuple(c for c in labels if c.startswith(("revenue_", "total_"))))

# One currency: amounts as booked. All currencies: each row in its own currency, plus EUR totals.
native = ["revenue_current_month", "revenue_past_months", "total_revenue", "revenue_selected_period"]
shown = native if f.currency else native[:3] + ["total_revenue_eur", "revenue_selected_period_eur"]

st.subheader(
    "Operators",
    help="Revenue per operator and booking currency: the as-of month, the months "
    "before it, all months, and the selected period",
)
ops = data.revenue_operators_table(f)
st.dataframe(
    ops[["operator_name", "parent_operator_name", "currency", *shown]],
    hide_index=True,
    width="stretch",
    column_config=cfg,
)

st.subheader("Paying teams", help="Teams with revenue: the as-of month, all months and the selected period")
pt = data.revenue_paying_teams_table(f)
st.dataframe(
    pt[["team_name", "operator_name", "currency", *[c for c in shown if c != "revenue_past_months"]]],
    hide_index=True,
    width="stretch",
    column_config=cfg,
)

st.subheader("Plans", help=f"Subscriptions of each plan, all time and active in {month}")
plans = data.revenue_plans_table(f)
st.dataframe(
    plans.drop(columns=["plan_id", "operator_id"]),
    hide_index=True,
    width="stretch",
    column_config={
        "plan_name": "Plan",
        "operator_name": "Operator",
        "subscriptions": "Subscriptions",
        "active_subscriptions_this_month": f"Active in {month}",
        "price": st.column_config.NumberColumn("Price", format="%.2f"),
        "currency": "Currency",
        "billing_period": "Billing period",
    },
)
st.caption(
    "The Plans table follows the operator, plan and currency filters (subscriptions are not "
    "tied to a paying team, site or charge point, nor to the date range)."
)
