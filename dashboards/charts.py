"""Altair (Vega-Lite) charts of the dashboards. Nothing here fetches anything from the network:
the roaming locations "map" is a scatter of the sites' coordinates on a Mercator projection
with a generated graticule, no tiles."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

BLUE, ORANGE, GREEN, RED, GREY = "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#7f7f7f"
TIER_COLORS = {"top": "#1a9850", "great": "#91cf60", "average": "#fdae61", "poor": "#d73027"}
HEIGHT = 280


def _x(col: str, n: int, title: str | None = None) -> alt.X:
    return alt.X(f"{col}:O", title=title, sort=None, axis=alt.Axis(labelAngle=0 if n <= 12 else -45, labelOverlap=True))


def bars_with_line(
    df: pd.DataFrame,
    *,
    x: str,
    bar: str,
    line: str,
    bar_title: str,
    line_title: str,
    fmt: str = ",.2f",
    bar_color: str = BLUE,
    line_color: str = ORANGE,
    height: int = HEIGHT,
    integer: bool = False,
) -> alt.LayerChart:
    """Bars (per period) and a line (e.g. a running total) on two y axes, coloured titles.
    integer: counts, so no fractional ticks."""
    step = 1 if integer else alt.Undefined
    base = alt.Chart(df).encode(x=_x(x, len(df)))
    tooltip = [
        alt.Tooltip(f"{x}:O", title="Period"),
        alt.Tooltip(f"{bar}:Q", title=bar_title, format=fmt),
        alt.Tooltip(f"{line}:Q", title=line_title, format=fmt),
    ]
    bars = base.mark_bar(color=bar_color, opacity=0.85).encode(
        y=alt.Y(f"{bar}:Q", title=bar_title, axis=alt.Axis(titleColor=bar_color, format=",~f", tickMinStep=step)),
        tooltip=tooltip,
    )
    ln = base.mark_line(color=line_color, point=alt.OverlayMarkDef(color=line_color), strokeWidth=2.5).encode(
        y=alt.Y(f"{line}:Q", title=line_title, axis=alt.Axis(titleColor=line_color, format=",~f", tickMinStep=step)),
        tooltip=tooltip,
    )
    return alt.layer(bars, ln).resolve_scale(y="independent").properties(height=height)


def bars(
    df: pd.DataFrame,
    *,
    x: str,
    y: str,
    title: str,
    color: str = BLUE,
    fmt: str = ",.0f",
    height: int = HEIGHT,
    integer: bool = False,
) -> alt.Chart:
    return (
        alt.Chart(df)
        .mark_bar(color=color, opacity=0.85)
        .encode(
            x=_x(x, len(df)),
            y=alt.Y(f"{y}:Q", title=title, axis=alt.Axis(format=",~f", tickMinStep=1 if integer else alt.Undefined)),
            tooltip=[alt.Tooltip(f"{x}:O", title="Period"), alt.Tooltip(f"{y}:Q", title=title, format=fmt)],
        )
        .properties(height=height)
    )


def line(
    df: pd.DataFrame,
    *,
    x: str,
    y: str,
    title: str,
    color: str = BLUE,
    fmt: str = ",.2f",
    height: int = HEIGHT,
    y_domain: tuple | None = None,
) -> alt.Chart:
    scale = alt.Scale(domain=list(y_domain)) if y_domain else alt.Scale(zero=True)
    return (
        alt.Chart(df)
        .mark_line(color=color, point=True, strokeWidth=2.5)
        .encode(
            x=_x(x, len(df)),
            y=alt.Y(f"{y}:Q", title=title, scale=scale),
            tooltip=[alt.Tooltip(f"{x}:O", title="Period"), alt.Tooltip(f"{y}:Q", title=title, format=fmt)],
        )
        .properties(height=height)
    )


def stacked_bars_with_line(
    long: pd.DataFrame,
    totals: pd.DataFrame,
    *,
    x: str,
    value: str,
    category: str,
    line: str,
    value_title: str,
    line_title: str,
    order: list[str],
    height: int = 320,
) -> alt.LayerChart:
    """Stacked bars by category (negatives stack below zero) and a line on a second axis."""
    stacked = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=_x(x, long[x].nunique()),
            y=alt.Y(f"{value}:Q", title=value_title, axis=alt.Axis(format=",~f")),
            color=alt.Color(
                f"{category}:N",
                title=None,
                sort=order,
                scale=alt.Scale(domain=order, scheme="tableau10"),
                legend=alt.Legend(orient="bottom", columns=3),
            ),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip(f"{x}:O", title="Period"),
                alt.Tooltip(f"{category}:N", title="Kind"),
                alt.Tooltip(f"{value}:Q", title=value_title, format=",.2f"),
            ],
        )
    )
    ln = (
        alt.Chart(totals)
        .mark_line(color="black", strokeDash=[6, 3], point=alt.OverlayMarkDef(color="black"))
        .encode(
            x=_x(x, len(totals)),
            y=alt.Y(f"{line}:Q", title=line_title, axis=alt.Axis(format=",~f")),
            tooltip=[alt.Tooltip(f"{x}:O", title="Period"), alt.Tooltip(f"{line}:Q", title=line_title, format=",.2f")],
        )
    )
    return alt.layer(stacked, ln).resolve_scale(y="independent").properties(height=height)


def donut(
    df: pd.DataFrame,
    *,
    category: str,
    value: str,
    title: str | None = None,
    colors: dict[str, str] | None = None,
    height: int = 230,
) -> alt.LayerChart:
    df = df.copy()
    total = df[value].sum()
    df["share"] = df[value] / total if total else 0.0
    color = alt.Color(
        f"{category}:N",
        title=None,
        legend=alt.Legend(orient="right", labelLimit=120),
        scale=alt.Scale(domain=list(colors), range=list(colors.values())) if colors else alt.Undefined,
    )
    base = alt.Chart(df).encode(theta=alt.Theta(f"{value}:Q", stack=True), color=color)
    arc = base.mark_arc(innerRadius=45, outerRadius=78, stroke="white").encode(
        tooltip=[
            alt.Tooltip(f"{category}:N"),
            alt.Tooltip(f"{value}:Q", format=",.0f"),
            alt.Tooltip("share:Q", title="Share", format=".1%"),
        ]
    )
    text = base.mark_text(radius=95, size=12).encode(text=alt.Text("share:Q", format=".0%"))
    chart = alt.layer(arc, text).properties(height=height)
    return chart.properties(title=title) if title else chart


def hbars(
    df: pd.DataFrame,
    *,
    category: str,
    value: str,
    title: str,
    color: str = BLUE,
    fmt: str = ",.0f",
    extra_tooltip: list | None = None,
    max_rows: int = 15,
) -> alt.Chart:
    """Horizontal bars, largest first, with the value written at the end of each bar."""
    df = df.sort_values(value, ascending=False).head(max_rows)
    height = 30 * len(df) + 60
    tooltip = [alt.Tooltip(f"{category}:N"), alt.Tooltip(f"{value}:Q", title=title, format=fmt)]
    tooltip += extra_tooltip or []
    base = alt.Chart(df).encode(
        y=alt.Y(f"{category}:N", sort=list(dict.fromkeys(df[category])), title=None, axis=alt.Axis(labelLimit=220)),
        x=alt.X(f"{value}:Q", title=title, axis=alt.Axis(format=",~f")),
    )
    return alt.layer(
        base.mark_bar(color=color, opacity=0.85).encode(tooltip=tooltip),
        base.mark_text(align="left", dx=3).encode(text=alt.Text(f"{value}:Q", format=fmt)),
    ).properties(height=height)


def _merc_y(lat: float) -> float:
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def _merc_lat(y: float) -> float:
    return math.degrees(2 * math.atan(math.exp(y)) - math.pi / 2)


def map_extent(lons, lats, aspect: float = 2.0) -> tuple[float, float, float, float]:
    """(lon0, lon1, lat0, lat1) around the points, padded and widened to about width/height =
    aspect on a Mercator projection, so the scatter fills a wide chart."""
    pad = max(0.5, 0.2 * max(max(lons) - min(lons), max(lats) - min(lats)))
    lon0, lon1 = min(lons) - pad, max(lons) + pad
    lat0, lat1 = max(-80.0, min(lats) - pad), min(80.0, max(lats) + pad)
    w = math.radians(lon1 - lon0)
    y0, y1 = _merc_y(lat0), _merc_y(lat1)
    if w / (y1 - y0) < aspect:  # too tall: widen
        extra = math.degrees((y1 - y0) * aspect - w) / 2
        lon0, lon1 = lon0 - extra, lon1 + extra
    else:  # too wide: heighten
        extra = (w / aspect - (y1 - y0)) / 2
        lat0, lat1 = _merc_lat(y0 - extra), _merc_lat(y1 + extra)
    return lon0, lon1, lat0, lat1


def place_labels(
    df: pd.DataFrame,
    extent: tuple[float, float, float, float],
    aspect: float,
    size: str = "kwh",
    width_px: float = 560.0,
    max_labels: int = 10,
) -> pd.DataFrame:
    """Site-name labels that do not overlap: biggest sites first, each put above, below, right
    or left of its point (in the projected plane of a chart about width_px wide), skipped when
    every spot is taken. Returns site_name, label_lon, label_lat."""
    lon0, lon1, lat0, lat1 = extent
    height_px = width_px / aspect
    y0, y1 = _merc_y(lat0), _merc_y(lat1)

    def to_px(lon, lat):
        return ((lon - lon0) / (lon1 - lon0) * width_px, (1 - (_merc_y(lat) - y0) / (y1 - y0)) * height_px)

    def to_geo(x, y):
        return (lon0 + x / width_px * (lon1 - lon0), _merc_lat(y0 + (1 - y / height_px) * (y1 - y0)))

    placed, rows = [], []
    top = max(float(df[size].max()), 1e-9) if len(df) else 1.0
    for r in df.sort_values(size, ascending=False).head(max_labels).itertuples():
        cx, cy = to_px(r.longitude, r.latitude)
        # the circle's radius: its area runs from 80 to 1400 px² over 0..max (see locations())
        radius = math.sqrt((80 + 1320 * max(float(getattr(r, size)), 0.0) / top) / math.pi)
        w, h = 6.3 * len(str(r.site_name)) + 6, 14.0
        off = radius + 3
        for x, y in ((cx, cy - off - h / 2), (cx, cy + off + h / 2), (cx + off + w / 2, cy), (cx - off - w / 2, cy)):
            box = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
            inside = box[0] >= 0 and box[2] <= width_px and box[1] >= 0 and box[3] <= height_px
            free = all(box[2] <= b[0] or box[0] >= b[2] or box[3] <= b[1] or box[1] >= b[3] for b in placed)
            if inside and free:
                placed.append(box)
                lon, lat = to_geo(x, y)
                rows.append({"site_name": r.site_name, "label_lon": lon, "label_lat": lat})
                break
    return pd.DataFrame(rows, columns=["site_name", "label_lon", "label_lat"])


def locations(
    df: pd.DataFrame,
    *,
    size: str,
    color: str,
    size_title: str,
    color_title: str,
    height: int = 440,
    aspect: float = 2.0,
) -> alt.LayerChart:
    """Sites by longitude/latitude on a Mercator projection with a degree graticule (no map tiles,
    no network): a scatter of coordinates, labelled with site names."""
    df = df.dropna(subset=["latitude", "longitude"])
    lon0, lon1, lat0, lat1 = map_extent(df["longitude"].tolist(), df["latitude"].tolist(), aspect)
    span = max(lon1 - lon0, lat1 - lat0)
    step = 1 if span <= 12 else 2 if span <= 24 else 5 if span <= 60 else 10
    g_lon0, g_lat0 = math.floor(lon0 / step) * step, math.floor(lat0 / step) * step
    g_lon1, g_lat1 = math.ceil(lon1 / step) * step, math.ceil(lat1 / step) * step
    grid = alt.Chart(alt.graticule(extent=[[lon0, lat0], [lon1, lat1]], step=[step, step])).mark_geoshape(
        fill=None, stroke="#d0d0d0", strokeWidth=0.6
    )
    frame = (
        alt.Chart(pd.DataFrame({"longitude": [lon0, lon1], "latitude": [lat0, lat1]}))
        .mark_point(opacity=0)
        .encode(longitude="longitude:Q", latitude="latitude:Q")
    )
    lon_ticks = pd.DataFrame({"longitude": [v for v in range(int(g_lon0), int(g_lon1) + 1, step) if lon0 <= v <= lon1]})
    lon_ticks["latitude"] = lat0
    lon_ticks["label"] = [f"{abs(v)}°{'E' if v >= 0 else 'W'}" for v in lon_ticks["longitude"]]
    lat_ticks = pd.DataFrame({"latitude": [v for v in range(int(g_lat0), int(g_lat1) + 1, step) if lat0 <= v <= lat1]})
    lat_ticks["longitude"] = lon0
    lat_ticks["label"] = [f"{abs(v)}°{'N' if v >= 0 else 'S'}" for v in lat_ticks["latitude"]]
    tick_style = dict(fontSize=9, color="#999")
    lon_text = (
        alt.Chart(lon_ticks)
        .mark_text(baseline="bottom", dy=-2, **tick_style)
        .encode(longitude="longitude:Q", latitude="latitude:Q", text="label:N")
    )
    lat_text = (
        alt.Chart(lat_ticks)
        .mark_text(align="left", dx=3, baseline="bottom", **tick_style)
        .encode(longitude="longitude:Q", latitude="latitude:Q", text="label:N")
    )
    pts = (
        alt.Chart(df)
        .mark_circle(opacity=0.85, stroke="white", strokeWidth=1)
        .encode(
            longitude="longitude:Q",
            latitude="latitude:Q",
            size=alt.Size(
                f"{size}:Q",
                title=size_title,
                scale=alt.Scale(range=[80, 1400], domainMin=0),
                legend=alt.Legend(orient="bottom", format=",~f"),
            ),
            color=alt.Color(
                f"{color}:Q",
                title=color_title,
                scale=alt.Scale(scheme="blues", domainMin=0),
                legend=alt.Legend(orient="bottom", format=",~f"),
            ),
            tooltip=[
                alt.Tooltip("site_name:N", title="Site"),
                alt.Tooltip("city:N", title="City"),
                alt.Tooltip("cdrs:Q", title="CDRs", format=",.0f"),
                alt.Tooltip("kwh:Q", title="kWh", format=",.1f"),
                alt.Tooltip("revenue:Q", title="Revenue", format=",.2f"),
                alt.Tooltip("latitude:Q", format=".4f"),
                alt.Tooltip("longitude:Q", format=".4f"),
            ],
        )
    )
    labels = (
        alt.Chart(place_labels(df, (lon0, lon1, lat0, lat1), aspect, size))
        .mark_text(fontSize=11, fontWeight="bold")
        .encode(longitude="label_lon:Q", latitude="label_lat:Q", text="site_name:N")
    )
    return alt.layer(grid, frame, lon_text, lat_text, pts, labels).project(type="mercator").properties(height=height)


def _rules(rules: pd.DataFrame, metric: str) -> pd.DataFrame:
    r = rules[(rules["metric"] == metric) & rules["threshold"].notna()].copy()
    r["label"] = [f"{t} {c} {v:g}" for t, c, v in zip(r["tier"], r["comparison"], r["threshold"])]
    return r


def benchmark_scatter(df: pd.DataFrame, rules: pd.DataFrame, *, height: int = 380) -> alt.LayerChart:
    """Sites by kWh/CP/day (x) and % time utilised (y), with the benchmark thresholds as rule
    lines: vertical for kWh/CP/day, horizontal for % time."""
    kr, pr = _rules(rules, "kwh_per_cp_day"), _rules(rules, "time_utilised_pct")
    xmax = max([df["kwh_per_cp_day"].max() if len(df) else 0] + kr["threshold"].tolist()) * 1.12
    ymax = max([df["time_utilised_pct"].max() if len(df) else 0] + pr["threshold"].tolist()) * 1.12
    xs, ys = alt.Scale(domain=[0, xmax], nice=False), alt.Scale(domain=[0, ymax], nice=False)
    tier_scale = alt.Scale(domain=list(TIER_COLORS), range=list(TIER_COLORS.values()))
    vr = (
        alt.Chart(kr)
        .mark_rule(strokeDash=[5, 4], strokeWidth=1.5)
        .encode(
            x=alt.X("threshold:Q", scale=xs),
            color=alt.Color("tier:N", scale=tier_scale, legend=alt.Legend(title="Benchmark tier", orient="bottom")),
        )
    )
    vt = (
        alt.Chart(kr)
        .mark_text(angle=270, align="left", baseline="bottom", dx=-4, dy=-3, fontSize=10)
        .encode(
            x=alt.X("threshold:Q", scale=xs),
            y=alt.value(4),
            text="label:N",
            color=alt.Color("tier:N", scale=tier_scale, legend=None),
        )
    )
    hr = (
        alt.Chart(pr)
        .mark_rule(strokeDash=[5, 4], strokeWidth=1.5)
        .encode(y=alt.Y("threshold:Q", scale=ys), color=alt.Color("tier:N", scale=tier_scale))
    )
    ht = (
        alt.Chart(pr)
        .mark_text(align="right", baseline="bottom", dy=-2, dx=-4, fontSize=10)
        .encode(
            y=alt.Y("threshold:Q", scale=ys),
            x=alt.value("width"),
            text="label:N",
            color=alt.Color("tier:N", scale=tier_scale, legend=None),
        )
    )
    pts = (
        alt.Chart(df)
        .mark_circle(size=160, opacity=0.9, color="#333")
        .encode(
            x=alt.X("kwh_per_cp_day:Q", title="kWh per charge point per day", scale=xs),
            y=alt.Y("time_utilised_pct:Q", title="% time utilised", scale=ys),
            tooltip=[
                alt.Tooltip("site_name:N", title="Site"),
                alt.Tooltip("kwh_per_cp_day:Q", title="kWh/CP/day", format=",.1f"),
                alt.Tooltip("kwh_tier:N", title="kWh tier"),
                alt.Tooltip("time_utilised_pct:Q", title="% time", format=".2f"),
                alt.Tooltip("time_tier:N", title="Time tier"),
                alt.Tooltip("cp_days:Q", title="CP-days", format=",.0f"),
            ],
        )
    )
    right = df["kwh_per_cp_day"] > 0.7 * xmax  # label to the left of points near the right edge
    labels = [
        alt.Chart(part)
        .mark_text(dx=dx, align=align, fontSize=11)
        .encode(x=alt.X("kwh_per_cp_day:Q", scale=xs), y=alt.Y("time_utilised_pct:Q", scale=ys), text="site_name:N")
        for part, dx, align in ((df[~right], 9, "left"), (df[right], -9, "right"))
    ]
    return alt.layer(vr, vt, hr, ht, pts, *labels).properties(height=height)


def bars_with_benchmarks(
    df: pd.DataFrame,
    rules: pd.DataFrame,
    *,
    category: str,
    value: str,
    metric: str,
    title: str,
    tier_col: str,
    fmt: str = ",.1f",
) -> alt.LayerChart:
    """Horizontal bars per site coloured by tier, with the metric's thresholds as rules."""
    r = _rules(rules, metric)
    df = df.sort_values(value, ascending=False)
    order = list(dict.fromkeys(df[category]))
    xmax = max([df[value].max() if len(df) else 0] + r["threshold"].tolist()) * 1.1
    xs = alt.Scale(domain=[0, xmax], nice=False)
    tier_scale = alt.Scale(domain=list(TIER_COLORS), range=list(TIER_COLORS.values()))
    height = 36 * len(df) + 150
    b = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            y=alt.Y(f"{category}:N", sort=order, title=None, axis=alt.Axis(labelLimit=200)),
            x=alt.X(f"{value}:Q", title=title, scale=xs),
            color=alt.Color(f"{tier_col}:N", scale=tier_scale, title="Tier", legend=alt.Legend(orient="bottom")),
            tooltip=[
                alt.Tooltip(f"{category}:N", title="Site"),
                alt.Tooltip(f"{value}:Q", title=title, format=fmt),
                alt.Tooltip(f"{tier_col}:N", title="Tier"),
            ],
        )
    )
    t = (
        alt.Chart(df)
        .mark_text(align="left", dx=3)
        .encode(
            y=alt.Y(f"{category}:N", sort=order),
            x=alt.X(f"{value}:Q", scale=xs),
            text=alt.Text(f"{value}:Q", format=fmt),
        )
    )
    rl = (
        alt.Chart(r)
        .mark_rule(strokeDash=[5, 4], strokeWidth=1.5, color="#555")
        .encode(x=alt.X("threshold:Q", scale=xs), tooltip=["label:N"])
    )
    rt = (
        alt.Chart(r)
        .mark_text(align="center", baseline="bottom", dy=-3, fontSize=10, color="#555")
        .encode(x=alt.X("threshold:Q", scale=xs), y=alt.value(0), text="label:N")
    )
    return alt.layer(b, t, rl, rt).properties(height=height, padding={"top": 18, "left": 5, "right": 5, "bottom": 5})


def line_with_benchmarks(
    df: pd.DataFrame,
    rules: pd.DataFrame,
    *,
    x: str,
    value: str,
    metric: str,
    title: str,
    temporal: bool = False,
    color: str = BLUE,
    fmt: str = ",.1f",
    height: int = 260,
) -> alt.LayerChart:
    """A time series with the metric's thresholds as horizontal rules."""
    r = _rules(rules, metric)
    ymax = max([df[value].max() if len(df) and df[value].notna().any() else 0] + r["threshold"].tolist()) * 1.1
    ys = alt.Scale(domain=[0, ymax], nice=False)
    xenc = alt.X(f"{x}:T", title=None) if temporal else _x(x, len(df))
    ln = (
        alt.Chart(df)
        .mark_line(color=color, point=not temporal, strokeWidth=2)
        .encode(
            x=xenc,
            y=alt.Y(f"{value}:Q", title=title, scale=ys),
            tooltip=[
                alt.Tooltip(f"{x}:{'T' if temporal else 'O'}", title="Date" if temporal else "Period"),
                alt.Tooltip(f"{value}:Q", title=title, format=fmt),
            ],
        )
    )
    tier_scale = alt.Scale(domain=list(TIER_COLORS), range=list(TIER_COLORS.values()))
    rl = (
        alt.Chart(r)
        .mark_rule(strokeDash=[5, 4], strokeWidth=1.5)
        .encode(
            y=alt.Y("threshold:Q", scale=ys),
            color=alt.Color("tier:N", scale=tier_scale, legend=alt.Legend(title="Benchmark", orient="bottom")),
        )
    )
    rt = (
        alt.Chart(r)
        .mark_text(align="right", baseline="bottom", dx=-3, dy=-2, fontSize=10)
        .encode(
            y=alt.Y("threshold:Q", scale=ys),
            x=alt.value("width"),
            text="label:N",
            color=alt.Color("tier:N", scale=tier_scale, legend=None),
        )
    )
    return alt.layer(ln, rl, rt).properties(height=height)


def _threshold_layer(
    value: float, label: str, *, axis: str = "x", scale=alt.Undefined, color: str = "#333"
) -> alt.LayerChart:
    """A dashed rule at `value` on the x or y axis, with its label."""
    df = pd.DataFrame({"threshold": [value], "label": [label]})
    enc = (alt.X if axis == "x" else alt.Y)("threshold:Q", scale=scale)
    rule = (
        alt.Chart(df)
        .mark_rule(strokeDash=[6, 4], strokeWidth=2, color=color)
        .encode(**{axis: enc}, tooltip=["label:N"])
    )
    if axis == "x":
        text = (
            alt.Chart(df)
            .mark_text(align="left", baseline="top", dx=4, dy=2, fontSize=11, fontWeight="bold", color=color)
            .encode(x=enc, y=alt.value(0), text="label:N")
        )
    else:
        text = (
            alt.Chart(df)
            .mark_text(align="right", baseline="bottom", dx=-4, dy=-3, fontSize=11, fontWeight="bold", color=color)
            .encode(y=enc, x=alt.value("width"), text="label:N")
        )
    return alt.layer(rule, text)


def _pct_domain(values, threshold: float, floor_margin: float = 1.0) -> list[float]:
    """An uptime axis from a little below the lowest value (and the threshold) to 100."""
    lo = min([threshold] + [float(v) for v in values if v is not None and not pd.isna(v)])
    return [max(0.0, math.floor(lo - floor_margin)), 100.0]


def port_uptime_bars(
    df: pd.DataFrame, *, threshold: float, label: str, max_rows: int = 30, ok_col: str = "meets_nevi_97"
) -> alt.LayerChart:
    """Ports (worst first) by uptime %, green when they meet the requirement, red otherwise,
    with the requirement as a dashed rule."""
    df = df.sort_values("uptime_pct").head(max_rows).copy()
    df["status"] = ["meets" if ok else "fails" for ok in df[ok_col]]
    scale = alt.Scale(domain=_pct_domain(df["uptime_pct"], threshold), nice=False, clamp=True)
    order = list(dict.fromkeys(df["port"]))
    bars = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            y=alt.Y("port:N", sort=order, title=None, axis=alt.Axis(labelLimit=240)),
            x=alt.X("uptime_pct:Q", title="Uptime % (trailing 365 days)", scale=scale),
            color=alt.Color(
                "status:N",
                title=None,
                legend=alt.Legend(orient="bottom"),
                scale=alt.Scale(domain=["meets", "fails"], range=[GREEN, RED]),
            ),
            tooltip=[
                alt.Tooltip("port:N", title="Port"),
                alt.Tooltip("site_name:N", title="Site"),
                alt.Tooltip("uptime_pct:Q", title="Uptime %", format=".3f"),
                alt.Tooltip("outage_minutes:Q", title="Outage min", format=",.0f"),
                alt.Tooltip("excluded_minutes:Q", title="Excluded min", format=",.0f"),
            ],
        )
    )
    text = (
        alt.Chart(df)
        .mark_text(align="left", dx=3, fontSize=10)
        .encode(
            y=alt.Y("port:N", sort=order),
            x=alt.X("uptime_pct:Q", scale=scale),
            text=alt.Text("uptime_pct:Q", format=".2f"),
        )
    )
    return alt.layer(bars, text, _threshold_layer(threshold, label, scale=scale)).properties(
        height=22 * len(df) + 70, padding={"top": 18, "left": 5, "right": 5, "bottom": 5}
    )


def grouped_bars_with_threshold(
    df: pd.DataFrame,
    *,
    category: str,
    group: str,
    value: str,
    threshold: float,
    label: str,
    title: str,
    ok_col: str,
    height: int = HEIGHT,
) -> alt.LayerChart:
    """Bars per category, one per group value side by side (e.g. operator x year), coloured by
    group, outlined red when they miss the requirement; the requirement as a dashed rule."""
    df = df.copy()
    df[group] = df[group].astype(str)
    scale = alt.Scale(domain=_pct_domain(df[value], threshold, 0.5), nice=False, clamp=True)
    base = alt.Chart(df).encode(
        x=alt.X(f"{category}:N", title=None, axis=alt.Axis(labelAngle=0, labelLimit=200)),
        xOffset=alt.XOffset(f"{group}:N"),
        y=alt.Y(f"{value}:Q", title=title, scale=scale),
    )
    bars = base.mark_bar(opacity=0.85).encode(
        color=alt.Color(f"{group}:N", title=None, legend=alt.Legend(orient="bottom", symbolStrokeWidth=0)),
        stroke=alt.condition(f"datum.{ok_col}", alt.value("transparent"), alt.value(RED)),
        strokeWidth=alt.value(2),
        tooltip=[
            alt.Tooltip(f"{category}:N"),
            alt.Tooltip(f"{group}:N"),
            alt.Tooltip(f"{value}:Q", title=title, format=".3f"),
            alt.Tooltip("rapid_charge_points:Q", title="Rapid charge points"),
            alt.Tooltip(f"{ok_col}:N", title="Meets"),
        ],
    )
    text = base.mark_text(dy=-6, fontSize=10).encode(text=alt.Text(f"{value}:Q", format=".2f"), detail=f"{group}:N")
    return alt.layer(bars, text, _threshold_layer(threshold, label, axis="y", scale=scale)).properties(height=height)


def line_with_thresholds(
    df: pd.DataFrame,
    *,
    x: str,
    y: str,
    title: str,
    thresholds: list[tuple[float, str]],
    color: str = BLUE,
    height: int = 260,
) -> alt.LayerChart:
    """A daily line (temporal x) with dashed reference rules."""
    scale = alt.Scale(domain=_pct_domain(df[y], min(t for t, _ in thresholds), 0.5), nice=False, clamp=True)
    ln = (
        alt.Chart(df)
        .mark_line(color=color, strokeWidth=2)
        .encode(
            x=alt.X(f"{x}:T", title=None),
            y=alt.Y(f"{y}:Q", title=title, scale=scale),
            tooltip=[alt.Tooltip(f"{x}:T", title="Date"), alt.Tooltip(f"{y}:Q", title=title, format=".3f")],
        )
    )
    rules = [
        _threshold_layer(t, label, axis="y", scale=scale, color=c)
        for (t, label), c in zip(thresholds, [RED, ORANGE, GREY])
    ]
    return alt.layer(ln, *rules).properties(height=height)


def multi_line(
    df: pd.DataFrame, *, x: str, y: str, series: str, title: str, fmt: str = ",.1f", height: int = HEIGHT
) -> alt.Chart:
    """One line per series value over periods (ordinal x)."""
    return (
        alt.Chart(df)
        .mark_line(point=True, strokeWidth=2)
        .encode(
            x=_x(x, df[x].nunique()),
            y=alt.Y(f"{y}:Q", title=title, axis=alt.Axis(format=",~f")),
            color=alt.Color(f"{series}:N", title=None, legend=alt.Legend(orient="right", labelLimit=200)),
            tooltip=[
                alt.Tooltip(f"{x}:O", title="Period"),
                alt.Tooltip(f"{series}:N"),
                alt.Tooltip(f"{y}:Q", title=title, format=fmt),
            ],
        )
        .properties(height=height)
    )


def heatmap(df: pd.DataFrame, *, x: str, y: str, color: str, title: str, tooltip: list | None = None) -> alt.Chart:
    """A day x category grid coloured by value (e.g. daily peak demand per site)."""
    order = list(dict.fromkeys(df.sort_values(color, ascending=False)[y]))
    return (
        alt.Chart(df)
        .mark_rect()
        .encode(
            x=alt.X(
                f"yearmonthdate({x}):O", title=None, axis=alt.Axis(format="%d %b", labelAngle=-45, labelOverlap=True)
            ),
            y=alt.Y(f"{y}:N", sort=order, title=None, axis=alt.Axis(labelLimit=220, labelOverlap=False)),
            color=alt.Color(
                f"{color}:Q",
                title=title,
                scale=alt.Scale(scheme="orangered", domainMin=0),
                legend=alt.Legend(orient="bottom", format=",~f"),
            ),
            tooltip=[
                alt.Tooltip(f"{x}:T", title="Date"),
                alt.Tooltip(f"{y}:N"),
                alt.Tooltip(f"{color}:Q", title=title, format=",.1f"),
            ]
            + (tooltip or []),
        )
        .properties(height=24 * len(order) + 80)
    )
