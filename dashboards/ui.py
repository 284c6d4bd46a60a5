"""Shared page furniture: the sidebar's global filters, number formatting, period labels.

No SQL here: filter lists come from dashboards.data.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from dashboards import data

# Which global filters each page can apply, through which mart columns (see docs/dashboards.md).
PAGE_FILTERS: dict[str, set[str]] = {
    "charge_points": {"operator", "team", "site", "charging_type", "access", "date"},
    "revenue": {"operator", "team", "plan", "site", "charging_type", "access", "date", "currency"},
    "team_revenue": {"operator", "team", "date", "currency"},
    "invoices": {"operator", "team", "date", "currency"},
    "roaming": {"operator", "team", "site", "charging_type", "access", "date", "currency"},
    "failed_charges": {"operator", "team", "site", "charging_type", "access", "date"},
    "site_utilization": {"operator", "team", "site", "charging_type", "access", "date"},
    "reliability": {"operator", "team", "site", "charging_type", "access", "date"},
}
TEAM_LABEL = {"revenue": "Paying team", "invoices": "Customer team"}
DATE_LABEL = {"invoices": "Issued", "roaming": "Period"}
ALL_CURRENCIES_LABEL = {"invoices": "All currencies"}  # default: "All currencies (in EUR)"
GRANULARITIES = {"Monthly": "month", "Yearly": "year"}


# ---------------------------------------------------------------------------- formatting


def known(v) -> bool:
    """A value that is there (not None, NaN or NA)."""
    return v is not None and not pd.isna(v)


def fmt_int(v) -> str:
    return "–" if v is None or pd.isna(v) else f"{int(round(float(v))):,}"


def fmt_num(v, decimals: int = 1) -> str:
    return "–" if v is None or pd.isna(v) else f"{float(v):,.{decimals}f}"


def fmt_pct(v, decimals: int = 2) -> str:
    return "–" if v is None or pd.isna(v) else f"{float(v):.{decimals}f} %"


def fmt_money(v, currency: str | None) -> str:
    return "–" if v is None or pd.isna(v) else f"{float(v):,.2f} {currency or 'EUR'}"


def money_label(f: data.Filters) -> str:
    """The unit of the money on screen."""
    return f.currency or "EUR"


def month_label(d) -> str:
    return pd.Timestamp(d).strftime("%b %Y")


def with_period_label(df: pd.DataFrame, f: data.Filters, col: str = "period") -> pd.DataFrame:
    """Adds period_label: 2025-04 (monthly) or 2025 (yearly), sortable as text."""
    df = df.copy()
    fmt = "%Y-%m" if f.granularity == "month" else "%Y"
    df["period_label"] = [pd.Timestamp(p).strftime(fmt) for p in df[col]]
    return df


def columns(labels: dict[str, str], money: tuple = (), numbers: dict[str, str] | None = None) -> dict:
    """st.dataframe column_config: a label for every column, "%.2f" for the money ones, other
    printf formats from numbers."""
    out: dict = {}
    for col, label in labels.items():
        if col in money:
            out[col] = st.column_config.NumberColumn(label, format="%.2f")
        elif numbers and col in numbers:
            out[col] = st.column_config.NumberColumn(label, format=numbers[col])
        else:
            out[col] = label
    return out


# ---------------------------------------------------------------------------- filters


def _state(page: str, name: str, options: list, default):
    """Widget key for a filter on this page, seeded from the value chosen on any page (so a
    filter survives page switches) and cleaned of values the options no longer have."""
    wkey, gkey = f"w:{page}:{name}", f"f:{name}"
    value = st.session_state.get(wkey, st.session_state.get(gkey, default))
    if isinstance(default, list):
        value = [v for v in (value or []) if v in options]
    elif value not in options:
        value = default
    st.session_state[wkey] = value
    return wkey


def _remember(page: str, name: str):
    st.session_state[f"f:{name}"] = st.session_state[f"w:{page}:{name}"]


def _multiselect(page, name, label, df: pd.DataFrame, id_col: str, name_col: str | None):
    options = df[id_col].tolist()
    names = dict(zip(df[id_col], df[name_col])) if name_col else {}
    key = _state(page, name, options, [])
    st.multiselect(label, options, key=key, placeholder="All", format_func=lambda v: str(names.get(v) or v))
    _remember(page, name)
    return tuple(st.session_state[key])


def _months(lo: date, hi: date) -> list[date]:
    return [d.date() for d in pd.date_range(lo, hi, freq="MS")]


def _date_range(page: str, domain: tuple[date, date]) -> tuple[date, date, str]:
    """Granularity toggle and a month (or year) range slider. The range chosen by the user is
    remembered for every page (clamped to each page's months); untouched, a page shows its
    default range (data.default_range)."""
    lo, hi = domain
    gkey = _state(page, "granularity", list(GRANULARITIES.values()), "month")
    st.radio(
        "Date range granularity",
        list(GRANULARITIES.values()),
        key=gkey,
        horizontal=True,
        format_func=lambda v: {v2: k for k, v2 in GRANULARITIES.items()}[v],
    )
    _remember(page, "granularity")
    gran = st.session_state[gkey]
    default = data.default_range(page) or (lo, hi)
    start, end = st.session_state.get("f:range") or default
    start, end = max(start, lo), min(end, hi)
    if start > end:
        start, end = default
    label = DATE_LABEL.get(page, "Date range")
    if gran == "month":
        options = _months(lo, hi)
        if len(options) > 1:
            start, end = st.select_slider(
                label, options, value=(start, end), format_func=month_label, key=f"w:{page}:range:month"
            )
        else:
            st.caption(f"{label}: {month_label(lo)}")
    else:
        options = list(range(lo.year, hi.year + 1))
        if len(options) > 1:
            y0, y1 = st.select_slider(label, options, value=(start.year, end.year), key=f"w:{page}:range:year")
        else:
            st.caption(f"{label}: {lo.year}")
            y0 = y1 = lo.year
        start, end = max(lo, date(y0, 1, 1)), min(hi, date(y1, 12, 1))
    if (start, end) != default:
        st.session_state["f:range"] = (start, end)
    elif gran == "month":
        st.session_state.pop("f:range", None)
    return start, end, gran


def reset_filters() -> None:
    for k in list(st.session_state.keys()):
        if isinstance(k, str) and (k.startswith("f:") or k.startswith("w:")):
            del st.session_state[k]


def sidebar_filters(page: str) -> data.Filters | None:
    """Renders the filters that apply to this page; returns them, or None (after telling the
    user) when the page's marts hold no data at all."""
    applies = PAGE_FILTERS[page]
    domain = data.month_domain(page)
    kw: dict = {}
    with st.sidebar:
        st.subheader("Filters")
        ops = data.operators()
        kw["operators"] = _multiselect(page, "operator", "Operator", ops, "operator_id", "operator_name")
        if "team" in applies:
            kw["teams"] = _multiselect(
                page, "team", TEAM_LABEL.get(page, "Team"), data.teams(kw["operators"]), "team_id", "team_name"
            )
        if "site" in applies:
            kw["sites"] = _multiselect(
                page, "site", "Site", data.sites(kw["operators"], kw.get("teams", ())), "site_id", "site_name"
            )
        if "charging_type" in applies:
            kw["charging_types"] = _multiselect(
                page, "charging_type", "AC / DC", pd.DataFrame({"v": ["AC", "DC"]}), "v", None
            )
        if "access" in applies:
            kw["access"] = _multiselect(
                page, "access", "Public / private", pd.DataFrame({"v": ["public", "private"]}), "v", None
            )
        if "plan" in applies:
            kw["plans"] = _multiselect(page, "plan", "Plan", data.plans(kw["operators"]), "plan_id", "plan_name")
        if "currency" in applies:
            options = [""] + data.currencies(page)
            key = _state(page, "currency", options, "")
            st.selectbox(
                "Currency",
                options,
                key=key,
                format_func=lambda v: v or ALL_CURRENCIES_LABEL.get(page, "All currencies (in EUR)"),
            )
            _remember(page, "currency")
            kw["currency"] = st.session_state[key] or None
        if domain is not None and "date" in applies:
            start, end, gran = _date_range(page, domain)
            kw.update(start=start, end=end, granularity=gran, full_range=start <= domain[0] and end >= domain[1])
        if st.button("Reset filters", key=f"reset:{page}"):
            reset_filters()
            st.rerun()
    if domain is None:
        st.info("The published warehouse has no data for this dashboard yet.")
        return None
    return data.Filters(**kw)


def filters_caption(f: data.Filters) -> str:
    """One line saying what is selected (shown under each page title)."""
    parts = []
    if f.start and f.end:
        if f.granularity == "month":
            parts.append(f"{month_label(f.start)} – {month_label(f.end)} (monthly)")
        else:
            parts.append(f"{f.start.year} – {f.end.year} (yearly)")
    names = {}
    if f.operators:
        names.update(zip(*data.operators()[["operator_id", "operator_name"]].T.values))
    if f.teams:
        names.update(zip(*data.teams()[["team_id", "team_name"]].T.values))
    if f.sites:
        names.update(zip(*data.sites()[["site_id", "site_name"]].T.values))
    if f.plans:
        names.update(zip(*data.plans()[["plan_id", "plan_name"]].T.values))
    for label, values in (
        ("operator", f.operators),
        ("team", f.teams),
        ("site", f.sites),
        ("AC/DC", f.charging_types),
        ("access", f.access),
        ("plan", f.plans),
    ):
        if values:
            parts.append(
                f"{label}: "
                + ", ".join(str(names.get(v) or v) for v in values[:3])
                + (f" +{len(values) - 3}" if len(values) > 3 else "")
            )
    if f.currency:
        parts.append(f"currency {f.currency}")
    return " · ".join(parts)


def page_header(title: str, f: data.Filters | None, marts: list[str]) -> None:
    st.title(title)
    bits = [filters_caption(f)] if f else []
    bits.append("Source: " + ", ".join(f"marts.{m}" for m in marts))
    st.caption(" — ".join(b for b in bits if b))


def chart(ch, where=None) -> None:
    """st.altair_chart at full width and the chart's own height (passed explicitly: Streamlit
    otherwise collapses some layered charts with a discrete axis)."""
    h = getattr(ch, "height", None)
    (where or st).altair_chart(ch, width="stretch", height=h if isinstance(h, int) else "content")
