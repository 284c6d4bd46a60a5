"""Operator Team revenue: revenue of paying teams by kind over time with the running revenue;
Teams (current month) and Paying teams tables."""

import streamlit as st

from dashboards import charts, data, ui

f = ui.sidebar_filters("team_revenue")
ui.page_header(
    "Team revenue",
    f,
    ["team_revenue_monthly", "team_revenue_teams", "revenue_paying_teams", "revenue_monthly (kinds in EUR)"],
)
if f is None:
    st.stop()

cur = ui.money_label(f)
month = ui.month_label(data.current_month())
KIND_LABELS = {
    "fees": "Fees",
    "charges": "Charges",
    "subscriptions": "Subscriptions",
    "write_offs": "Write-offs",
    "intercompany_transfers": "Inter-company transfers",
    "tax_refunds": "Tax refunds",
}
ot = ui.with_period_label(data.team_revenue_over_time(f), f)
teams = data.team_revenue_teams_table(f)

c = st.columns(4)
c[0].metric(f"Team revenue, selected period ({cur})", ui.fmt_money(ot["total_revenue"].sum(), cur))
tm_col = "revenue_current_month" if f.currency else "revenue_current_month_eur"
c[1].metric(f"Team revenue {month} ({cur})", ui.fmt_money(teams[tm_col].sum(), cur))
c[2].metric(
    "Paying teams",
    ui.fmt_int(teams.loc[teams["has_revenue"], "team_id"].nunique()),
    help="Teams with ledger revenue (all time)",
)
c[3].metric("Running revenue at period end", ui.fmt_money(ot["running_revenue"].iloc[-1] if len(ot) else None, cur))
if not f.currency:
    st.caption("All currencies, converted to EUR at the ECB rate of each booking date.")

st.subheader(
    "Revenue over time",
    help="Paying teams' revenue per period by kind (stacked; write-offs "
    "below zero) and the running revenue (dashed line, right axis).",
)
if len(ot):
    long = ot.melt(id_vars=["period_label"], value_vars=list(KIND_LABELS), var_name="kind", value_name="amount")
    long["order"] = long["kind"].map({k: i for i, k in enumerate(KIND_LABELS)})
    long["kind"] = long["kind"].map(KIND_LABELS)
    ui.chart(
        charts.stacked_bars_with_line(
            long,
            ot,
            x="period_label",
            value="amount",
            category="kind",
            line="running_revenue",
            value_title=f"Revenue ({cur})",
            line_title=f"Running revenue ({cur})",
            order=list(KIND_LABELS.values()),
        )
    )
    st.dataframe(
        ot[["period_label", *KIND_LABELS, "total_revenue", "running_revenue"]],
        hide_index=True,
        width="stretch",
        column_config={
            "period_label": "Period",
            **{k: st.column_config.NumberColumn(v, format="%.2f") for k, v in KIND_LABELS.items()},
            "total_revenue": st.column_config.NumberColumn("Total", format="%.2f"),
            "running_revenue": st.column_config.NumberColumn("Running", format="%.2f"),
        },
    )
else:
    st.info("No team revenue in the selected period.")

labels = {
    "team_name": "Team",
    "operator_name": "Operator",
    "currency": "Currency",
    "revenue_current_month": f"{month}",
    "total_revenue": "Total",
    "revenue_current_month_eur": f"{month} (EUR)",
    "total_revenue_eur": "Total (EUR)",
    "revenue_selected_period": "Selected period",
    "revenue_selected_period_eur": "Selected period (EUR)",
    "has_revenue": "Paying",
}
cfg = ui.columns(labels, money=tuple(c for c in labels if c.startswith(("revenue_", "total_"))))
extra = [] if f.currency else ["total_revenue_eur"]
st.subheader(
    "Teams",
    help=f"Every team with its revenue in {month} (the as-of month), in each currency it "
    "has revenue in; teams without revenue show 0 in their operator's currency",
)
st.dataframe(
    teams[
        [
            "team_name",
            "operator_name",
            "currency",
            "revenue_current_month",
            "total_revenue",
            *(["revenue_current_month_eur"] if not f.currency else []),
            *extra,
            "has_revenue",
        ]
    ],
    hide_index=True,
    width="stretch",
    column_config=cfg,
)
st.subheader("Paying teams", help="Teams with revenue: total of all months and of the selected period")
pt = data.team_paying_teams_table(f)
st.dataframe(
    pt[
        [
            "team_name",
            "operator_name",
            "currency",
            "total_revenue",
            "revenue_selected_period",
            *([] if f.currency else ["total_revenue_eur", "revenue_selected_period_eur"]),
        ]
    ],
    hide_index=True,
    width="stretch",
    column_config=cfg,
)
