"""Operator Failed charges: sessions and % failed over time; breakdowns by operator, team and
site, by hardware (brand, model, firmware at plug-in), by failure reason and OCPP error code."""

import streamlit as st

from dashboards import charts, data, ui

f = ui.sidebar_filters("failed_charges")
ui.page_header(
    "Failed charges",
    f,
    [
        "failed_charges_daily",
        "failed_charges_by_hardware",
        "failed_charges_by_charge_point_daily",
        "failed_charges_by_reason_monthly",
        "ocpp_errors_daily",
    ],
)
if f is None:
    st.stop()

k = data.failed_kpis(f)
c = st.columns(4)
c[0].metric(
    "Total charge sessions",
    ui.fmt_int(k["total_sessions"]),
    border=True,
    help="Finished sessions (completed + failed), by plug-in date",
)
c[1].metric("Failed sessions", ui.fmt_int(k["failed_sessions"]), border=True)
c[2].metric("% failed", ui.fmt_pct(k["failed_pct"]), border=True, help="failed / finished × 100")
c[3].metric(
    "OCPP error notifications",
    ui.fmt_int(k["ocpp_errors"]),
    border=True,
    help="StatusNotification messages with an errorCode other than NoError",
)

st.subheader("Charge sessions and % failed over time")
ot = ui.with_period_label(data.failed_over_time(f), f)
if len(ot):
    ui.chart(
        charts.bars_with_line(
            ot,
            x="period_label",
            bar="total_sessions",
            line="failed_pct",
            bar_title="Charge sessions",
            line_title="% failed",
            bar_color=charts.GREY,
            line_color=charts.RED,
            fmt=",.2f",
        )
    )
else:
    st.info("No finished sessions in the selection.")

pct_cols = {
    "name": "Name",
    "total_sessions": "Sessions",
    "failed_sessions": "Failed",
    "failed_pct": st.column_config.NumberColumn("% failed", format="%.2f"),
}
st.subheader("Where failures occur")
cols = st.columns(3)
for col, by, title in zip(cols, ("operator", "team", "site"), ("By operator", "By team", "By site")):
    with col:
        st.markdown(f"**{title}**")
        df = data.failed_breakdown(f, by)
        if len(df):
            ui.chart(
                charts.hbars(
                    df,
                    category="name",
                    value="failed_pct",
                    title="% failed",
                    color=charts.RED,
                    fmt=".2f",
                    extra_tooltip=["total_sessions:Q", "failed_sessions:Q"],
                )
            )
        st.dataframe(df.drop(columns=["id"]), hide_index=True, width="stretch", column_config=pct_cols)

st.subheader("By hardware", help="Brand, model and firmware the charge point had when the session was plugged in")
hw = data.failed_by_hardware(f)
left, right = st.columns([2, 3])
with left:
    if len(hw):
        hw_chart = hw.assign(hardware=hw["brand"] + " " + hw["model"] + " · fw " + hw["firmware_version"])
        ui.chart(
            charts.hbars(
                hw_chart,
                category="hardware",
                value="failed_pct",
                title="% failed",
                color=charts.RED,
                fmt=".2f",
                extra_tooltip=["total_sessions:Q", "failed_sessions:Q"],
            )
        )
with right:
    st.dataframe(
        hw,
        hide_index=True,
        width="stretch",
        column_config={"brand": "Brand", "model": "Model", "firmware_version": "Firmware", **pct_cols},
    )

left, right = st.columns(2)
with left:
    st.subheader("Failure reasons", help="Error code or platform reason recorded on the failed sessions")
    fr = data.failure_reasons(f)
    if len(fr):
        ui.chart(
            charts.hbars(
                fr, category="failure_reason", value="failed_sessions", title="Failed sessions", color=charts.RED
            )
        )
    else:
        st.caption("No failed sessions in the selection.")
with right:
    st.subheader("OCPP errors", help="StatusNotification error codes reported by the charge points")
    oe = data.ocpp_errors(f)
    if len(oe):
        ui.chart(
            charts.hbars(
                oe,
                category="error_code",
                value="error_count",
                title="Notifications",
                color=charts.ORANGE,
                extra_tooltip=["charge_points:Q"],
            )
        )
    else:
        st.caption("No OCPP errors in the selection.")
