"""Operator Roaming charges: key metrics, charge point locations, roaming providers, paying
operators (eMSPs) and the KPIs over time."""

import streamlit as st

from dashboards import charts, data, ui

f = ui.sidebar_filters("roaming")
ui.page_header(
    "Roaming charges",
    f,
    [
        "roaming_daily",
        "roaming_sessions_daily",
        "roaming_locations",
        "roaming_charge_points_daily + fct_charge_sessions (AC/DC, access filters)",
    ],
)
if f is None:
    st.stop()

cur = ui.money_label(f)
k = data.roaming_kpis(f)
c = st.columns(4)
c[0].metric(
    "Total charge sessions",
    ui.fmt_int(k["sessions"]),
    border=True,
    help="Finished roaming sessions (completed or failed), by plug-in date",
)
c[1].metric("Total kWh charged", ui.fmt_num(k["kwh"], 1), border=True, help="From CDRs, net of credit CDRs")
c[2].metric(
    "Successful sessions",
    ui.fmt_pct(k["success_pct"]),
    border=True,
    help=f"{ui.fmt_int(k['successful_sessions'])} completed of {ui.fmt_int(k['sessions'])}",
)
c[3].metric(
    f"Total charge revenue ({cur})",
    ui.fmt_money(k["revenue"], cur),
    border=True,
    help="CDR total cost excl. VAT, net of credit CDRs",
)
st.caption(
    (
        "Revenue in EUR (each CDR at the ECB rate of its date). "
        if not f.currency
        else f"CDRs in {f.currency} only; session counts cover every currency. "
    )
    + "kWh and revenue come from OCPI CDRs by UTC end date; sessions by the site's local plug-in date."
)

left, right = st.columns(2)
with left:
    st.subheader(
        "Charge point locations",
        help="Sites with roaming CDRs in the selection, by coordinates: size = kWh, colour = revenue",
    )
    loc = data.roaming_locations(f)
    if loc[["latitude", "longitude"]].notna().all(axis=1).any():
        ui.chart(
            charts.locations(
                loc, size="kwh", color="revenue", size_title="kWh", color_title=f"Revenue ({cur})", aspect=1.7
            )
        )
    else:
        st.info("No roaming CDRs with coordinates in the selection.")
with right:
    st.subheader("Locations")
    st.dataframe(
        loc.drop(columns=["site_id", "latitude", "longitude", "city"]),
        hide_index=True,
        width="stretch",
        column_config={
            "site_name": "Site",
            "city": "City",
            "country_code": "Country",
            "cdrs": "CDRs",
            "kwh": st.column_config.NumberColumn("kWh", format="%.1f"),
            "revenue": st.column_config.NumberColumn(f"Revenue ({cur})", format="%.2f"),
        },
    )

left, right = st.columns(2)
for col, by, title in ((left, "provider", "Roaming providers"), (right, "emsp_party", "Paying operators (eMSP)")):
    with col:
        st.subheader(title)
        df = data.roaming_breakdown(f, by)
        if len(df):
            ui.chart(
                charts.hbars(
                    df,
                    category=by,
                    value="revenue",
                    title=f"Revenue ({cur})",
                    fmt=",.2f",
                    color=charts.BLUE if by == "provider" else charts.ORANGE,
                    extra_tooltip=["cdrs:Q", "kwh:Q"],
                )
            )
        st.dataframe(
            df,
            hide_index=True,
            width="stretch",
            column_config={
                "provider": "Provider",
                "emsp_party": "eMSP (country*party)",
                "cdrs": "CDRs",
                "kwh": st.column_config.NumberColumn("kWh", format="%.1f"),
                "revenue": st.column_config.NumberColumn(f"Revenue ({cur})", format="%.2f"),
                "sites": "Sites",
            },
        )

st.subheader("KPIs over time")
ot = ui.with_period_label(data.roaming_over_time(f), f)
if len(ot):
    a, b = st.columns(2)
    ui.chart(
        where=a,
        ch=charts.bars_with_line(
            ot,
            x="period_label",
            bar="successful_sessions",
            line="success_pct",
            bar_title="Successful sessions",
            line_title="% successful",
            bar_color=charts.GREEN,
            fmt=",.1f",
            height=240,
        ),
    )
    ui.chart(
        where=b, ch=charts.bars(ot, x="period_label", y="revenue", title=f"Revenue ({cur})", fmt=",.2f", height=240)
    )
    a, b = st.columns(2)
    ui.chart(
        where=a,
        ch=charts.bars(
            ot, x="period_label", y="sessions", title="Charge sessions", color=charts.GREY, height=240, integer=True
        ),
    )
    ui.chart(
        where=b,
        ch=charts.bars(
            ot, x="period_label", y="kwh", title="kWh delivered", color=charts.ORANGE, fmt=",.1f", height=240
        ),
    )
else:
    st.info("No roaming activity in the selected period.")
