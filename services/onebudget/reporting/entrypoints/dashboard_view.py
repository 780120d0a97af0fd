"""The dashboard's page and CSV, rendered on the server from the dashboard's model (the reporting
service's answers: pence, basis points, England's dates), with no script at all: HTML, an SVG
chart and a stylesheet served from the same origin, so it works with a strict
Content-Security-Policy and on a machine with no internet.
"""

from __future__ import annotations

import csv
import io
from html import escape
from typing import Any
from urllib.parse import urlencode

# One colour per cohort, in the order the reporting service lists them (overall first).
PALETTE = ("#005eb8", "#00703c", "#912b88", "#b58840", "#28a197", "#f47738", "#4c2c92")
CHART_WIDTH, CHART_HEIGHT = 640, 320
CHART_LEFT, CHART_RIGHT, CHART_TOP, CHART_BOTTOM = 56, 16, 20, 40
CSV_COLUMNS = (
    "commissioner_ods_code",
    "financial_year",
    "cohort",
    "quarter",
    "period_end",
    "provisional",
    "target_basis_points",
    "target_pence",
    "agreed_pence",
    "agreed_basis_points",
    "percent_of_target_basis_points",
    "met",
    "gap_pence",
    "above_floor_pence",
)


def pounds(pence: int) -> str:
    """12345678 -> "£123,456.78" (integer arithmetic: no float ever touches money)."""
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    return f"{sign}£{whole:,}.{part:02d}"


def percent(basis_points: int) -> str:
    """1234 -> "12.34%"."""
    sign = "-" if basis_points < 0 else ""
    whole, part = divmod(abs(basis_points), 100)
    return f"{sign}{whole}.{part:02d}%"


def of_target(agreed_pence: int, target_pence: int) -> int:
    """Agreed money as basis points of the target (10000: exactly on the floor), rounded down;
    0 when there is no target."""
    return agreed_pence * 10_000 // target_pence if target_pence > 0 else 0


def csv_rows(model: dict[str, Any]) -> list[dict[str, str]]:
    """One row per cohort and quarter (then the whole year as quarter 0), the target view's
    figures exactly as the reporting service gave them."""
    rows: list[dict[str, str]] = []
    for c in model["cohorts"]:
        points = [*c["quarters"], {**c["year"], "quarter": 0}]
        for p in points:
            rows.append(
                {
                    "commissioner_ods_code": model["commissioner"],
                    "financial_year": str(model["financial_year"]),
                    "cohort": c["cohort"],
                    "quarter": str(p["quarter"]),
                    "period_end": p["period_end"],
                    "provisional": "true" if p["provisional"] else "false",
                    "target_basis_points": str(c["target_basis_points"]),
                    "target_pence": str(c["target_pence"]),
                    "agreed_pence": str(p["agreed_pence"]),
                    "agreed_basis_points": str(p["agreed_basis_points"]),
                    "percent_of_target_basis_points": str(
                        of_target(p["agreed_pence"], c["target_pence"])
                    ),
                    "met": "true" if p["met"] else "false",
                    "gap_pence": str(p["gap_pence"]),
                    "above_floor_pence": str(p["above_floor_pence"]),
                }
            )
    return rows


def render_csv(model: dict[str, Any]) -> bytes:
    """The target view as CSV (RFC 4180, UTF-8, "\\r\\n" line ends), a header row first."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(csv_rows(model))
    return out.getvalue().encode()


def csv_file_name(model: dict[str, Any]) -> str:
    return f"phb-target-{model['commissioner']}-{model['financial_year']}.csv"


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _chart(model: dict[str, Any]) -> str:
    """Grouped bars: for each quarter, each cohort's agreed money as % of its own target, with
    the target (100%) as a line, a y axis in %, quarters on the x axis, a legend, and
    unfinished quarters drawn hatched and labelled provisional."""
    cohorts = model["cohorts"]
    values = [
        of_target(p["agreed_pence"], c["target_pence"]) for c in cohorts for p in c["quarters"]
    ]
    top_bp = max([12_500, *values])
    top_bp = ((top_bp + 2_499) // 2_500) * 2_500  # a round top: a multiple of 25%
    inner_w = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    inner_h = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    base = CHART_TOP + inner_h

    def y(bp: int) -> float:
        return base - min(bp, top_bp) * inner_h / top_bp

    parts = [
        f'<svg id="chart" class="chart" width="{CHART_WIDTH}" height="{CHART_HEIGHT}"'
        f' viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" role="img"'
        ' aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">',
        '<title id="chart-title">Agreed NHS money as a percentage of each cohort\'s PHB target,'
        " by quarter (year to date)</title>",
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse"'
        ' patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#505a5f" stroke-width="3"/></pattern></defs>',
    ]
    # The y axis: ticks every 25% of the target.
    for tick in range(0, top_bp + 1, 2_500):
        ty = y(tick)
        parts.append(
            f'<line class="grid" x1="{CHART_LEFT}" y1="{ty:.1f}" x2="{CHART_WIDTH - CHART_RIGHT}"'
            f' y2="{ty:.1f}" stroke="#e5e5e5"/>'
            f'<text class="tick" x="{CHART_LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end">'
            f"{tick // 100}%</text>"
        )
    parts.append(
        f'<line class="axis" x1="{CHART_LEFT}" y1="{CHART_TOP}" x2="{CHART_LEFT}" y2="{base}"'
        ' stroke="#0b0c0c"/>'
        f'<line class="axis" x1="{CHART_LEFT}" y1="{base}" x2="{CHART_WIDTH - CHART_RIGHT}"'
        f' y2="{base}" stroke="#0b0c0c"/>'
        f'<text class="axis-label" x="14" y="{CHART_TOP + inner_h / 2:.0f}" text-anchor="middle"'
        f' transform="rotate(-90 14 {CHART_TOP + inner_h / 2:.0f})">% of target</text>'
    )
    slot = inner_w / 4
    bar_w = slot * 0.8 / max(len(cohorts), 1)
    for q in range(1, 5):
        x0 = CHART_LEFT + (q - 1) * slot + slot * 0.1
        provisional = any(
            p["provisional"] for c in cohorts for p in c["quarters"] if p["quarter"] == q
        )
        label = f"Q{q}" + (" (provisional)" if provisional else "")
        parts.append(
            f'<text class="quarter" x="{x0 + slot * 0.4:.1f}" y="{base + 16}"'
            f' text-anchor="middle">{label}</text>'
        )
        for i, c in enumerate(cohorts):
            p = next(p for p in c["quarters"] if p["quarter"] == q)
            bp = of_target(p["agreed_pence"], c["target_pence"])
            colour = PALETTE[i % len(PALETTE)]
            bx, by = x0 + i * bar_w, y(bp)
            fill = "url(#hatch)" if p["provisional"] else colour
            parts.append(
                f'<rect class="bar" x="{bx:.1f}" y="{by:.1f}" width="{bar_w * 0.9:.1f}"'
                f' height="{base - by:.1f}" fill="{fill}" stroke="{colour}" stroke-width="2"'
                f' data-cohort="{_e(c["cohort"])}" data-quarter="{q}" data-value="{bp}"'
                f' data-provisional="{"true" if p["provisional"] else "false"}">'
                f"<title>{_e(c['cohort'])} Q{q}: {percent(bp)} of target, gap"
                f" {pounds(p['gap_pence'])}{' (provisional)' if p['provisional'] else ''}</title>"
                "</rect>"
            )
    target_y = y(10_000)
    parts.append(
        f'<line class="target" x1="{CHART_LEFT}" y1="{target_y:.1f}"'
        f' x2="{CHART_WIDTH - CHART_RIGHT}" y2="{target_y:.1f}" stroke="#d4351c"'
        ' stroke-width="2" stroke-dasharray="6 4"/>'
        f'<text class="target-label" x="{CHART_WIDTH - CHART_RIGHT}" y="{target_y - 6:.1f}"'
        ' text-anchor="end">target (the floor)</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _legend(model: dict[str, Any]) -> str:
    items = [
        f'<li><svg width="14" height="14" aria-hidden="true"><rect width="14" height="14"'
        f' fill="{PALETTE[i % len(PALETTE)]}"/></svg> {_e(c["cohort"])}'
        f" (target {percent(c['target_basis_points'])} of allocation)</li>"
        for i, c in enumerate(model["cohorts"])
    ]
    items.append(
        '<li><svg width="14" height="14" aria-hidden="true"><rect width="14" height="14"'
        ' fill="url(#hatch)" stroke="#505a5f"/></svg> provisional: the quarter has not ended</li>'
    )
    items.append(
        '<li><svg width="24" height="14" aria-hidden="true"><line x1="0" y1="7" x2="24" y2="7"'
        ' stroke="#d4351c" stroke-width="2" stroke-dasharray="6 4"/></svg> target</li>'
    )
    return f'<ul id="legend" class="legend">{"".join(items)}</ul>'


def _target_table(model: dict[str, Any]) -> str:
    head = (
        "<thead><tr><th>Cohort</th><th>Quarter</th><th>Period end</th>"
        '<th class="num">Agreed</th><th class="num">% of allocation</th>'
        '<th class="num">% of target</th><th>Against target</th>'
        '<th class="num">Gap</th></tr></thead>'
    )
    rows = []
    for c in model["cohorts"]:
        for p in [*c["quarters"], {**c["year"], "quarter": 0}]:
            q = p["quarter"]
            where = f'data-cohort="{_e(c["cohort"])}" data-quarter="{q}"'
            if p["provisional"]:
                state = '<span class="provisional">provisional</span>'
            elif p["met"]:
                state = '<span class="met">met</span>'
            else:
                state = '<span class="notmet">not met</span>'
            rows.append(
                f"<tr {where}>"
                f"<td>{_e(c['cohort'])}</td><td>{'Q' + str(q) if q else 'Year'}</td>"
                f"<td>{_e(p['period_end'])}</td>"
                f'<td class="num" data-figure="agreed_pence" data-value="{p["agreed_pence"]}">'
                f"{pounds(p['agreed_pence'])}</td>"
                f'<td class="num">{percent(p["agreed_basis_points"])}</td>'
                f'<td class="num">{percent(of_target(p["agreed_pence"], c["target_pence"]))}</td>'
                f'<td data-provisional="{"true" if p["provisional"] else "false"}">{state}</td>'
                f'<td class="num" data-figure="gap_pence" data-value="{p["gap_pence"]}">'
                f"{pounds(p['gap_pence'])}</td></tr>"
            )
    return f'<table id="targets">{head}<tbody>{"".join(rows)}</tbody></table>'


def _money_table(model: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{_e(f['cohort'])}</td>"
        f'<td class="num" data-value="{f["target_pence"]}">{pounds(f["target_pence"])}</td>'
        f'<td class="num" data-value="{f["agreed_pence"]}">{pounds(f["agreed_pence"])}</td>'
        f'<td class="num" data-value="{f["balance_pence"]}">{pounds(f["balance_pence"])}</td>'
        f'<td class="{"met" if f["target_met"] else "notmet"}">'
        f"{'yes' if f['target_met'] else 'no'}</td></tr>"
        for f in model["ring_fences"]
    )
    return (
        '<table id="fences"><thead><tr><th>Cohort</th><th class="num">Target</th>'
        '<th class="num">Agreed</th><th class="num">Balance</th><th>Met</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _people_tables(model: dict[str, Any]) -> str:
    end, ytd = model["people_at_period_end"], model["people_year_to_date"]
    cats = sorted(set(end["by_category"]) | set(ytd["by_category"]))
    cat_rows = "".join(
        f"<tr><td>{_e(c)}</td>"
        f'<td class="num" data-value="{end["by_category"].get(c, 0)}">'
        f"{end['by_category'].get(c, 0)}</td>"
        f'<td class="num" data-value="{ytd["by_category"].get(c, 0)}">'
        f"{ytd['by_category'].get(c, 0)}</td></tr>"
        for c in cats
    )
    groups = (
        ("total", "All people"),
        ("adults", "Adults"),
        ("children", "Children"),
        ("notional", "Notional"),
        ("third_party", "Third party"),
        ("direct_payment", "Direct payment"),
    )
    group_rows = "".join(
        f"<tr><td>{label}</td>"
        f'<td class="num" data-group="{key}" data-value="{end[key]}">{end[key]}</td>'
        f'<td class="num" data-value="{ytd[key]}">{ytd[key]}</td></tr>'
        for key, label in groups
    )
    return (
        '<div class="two"><section><h2>People with a PHB by category</h2>'
        '<table id="categories"><thead><tr><th>Category</th><th class="num">At period end</th>'
        f'<th class="num">Year to date</th></tr></thead><tbody>{cat_rows}</tbody></table>'
        "</section><section><h2>People by management option and age</h2>"
        '<table id="options"><thead><tr><th>Group</th><th class="num">At period end</th>'
        f'<th class="num">Year to date</th></tr></thead><tbody>{group_rows}</tbody></table>'
        "</section></div>"
    )


def _card(ident: str, label: str, pence: int, sub: str = "") -> str:
    extra = f'<div class="sub">{_e(sub)}</div>' if sub else ""
    return (
        f'<div class="card"><div class="label">{_e(label)}</div>'
        f'<div class="value" id="{ident}" data-value="{pence}">{pounds(pence)}</div>{extra}</div>'
    )


def _page(title: str, subtitle: str, body: str, loaded: str, query: dict[str, str]) -> bytes:
    form = (
        '<form id="pick" method="get" action="/">'
        '<label>Commissioner (ODS) <input name="commissioner"'
        f' value="{_e(query.get("commissioner", ""))}"></label> '
        '<label>Financial year <input name="year" type="number"'
        f' value="{_e(query.get("year", ""))}"></label> '
        '<button type="submit">Show</button></form>'
    )
    return (
        '<!doctype html><html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="/dashboard.css"></head>'
        f'<body data-loaded="{loaded}"><header><h1>OneBudget: personal health budgets,'
        f' commissioner view</h1><p id="subtitle">{_e(subtitle)}</p></header>'
        f"<main>{form}{body}</main></body></html>"
    ).encode()


def render_page(model: dict[str, Any]) -> bytes:
    """The whole dashboard for one commissioner and year."""
    fy = model["financial_year"]
    subtitle = (
        f"{model['commissioner']}, financial year {fy}/{str(fy + 1)[2:]},"
        f" figures to {model['period_end']} (today {model['today']})"
    )
    query = {"commissioner": model["commissioner"], "year": str(fy)}
    export = "/export.csv?" + urlencode(query)
    reconciled = (
        f'<span id="reconciled" class="status ok" data-value="true">no differences'
        f" ({model['figures_checked']} figures checked)</span>"
        if model["reconciled"]
        else f'<span id="reconciled" class="status bad" data-value="false">'
        f"{model['differences']} differences</span>"
    )
    met = (
        '<span class="met">met</span>'
        if model["target_met"]
        else (
            '<span class="provisional">not met yet (the year is provisional)</span>'
            if model["year_provisional"]
            else '<span class="notmet">not met</span>'
        )
    )
    body = (
        '<section class="cards">'
        + _card("allocation", "Allocation", model["allocation_pence"])
        + _card(
            "target",
            "PHB ring-fence target",
            model["phb_target_pence"],
            f"{percent(model['phb_target_basis_points'])} of allocation",
        )
        + _card(
            "agreed",
            "NHS money agreed into PHBs and IPBs",
            model["nhs_agreed_pence"],
            f"{percent(model['nhs_agreed_basis_points'])} of allocation",
        )
        + _card(
            "paid",
            "NHS money paid",
            model["nhs_paid_pence"],
            f"{percent(model['nhs_paid_basis_points'])} of allocation",
        )
        + "</section>"
        f"<p>Target for the year: {met}. Reconciliation with the ledger: {reconciled}</p>"
        "<section><h2>Against the target, per cohort and per quarter (year to date)</h2>"
        f'<div class="chart-box">{_chart(model)}{_legend(model)}</div>'
        f'<p><a id="export" href="{_e(export)}" download>Download these figures (CSV)</a></p>'
        f"{_target_table(model)}</section>"
        "<section><h2>Ring-fence target and use per cohort</h2>"
        f"{_money_table(model)}</section>"
        f"{_people_tables(model)}"
        '<p class="sub">Percentages are basis points rounded half up (of the allocation) or'
        ' down (of the target); "met" is decided in pence. A quarter that has not ended is'
        " provisional: its figures can still change. Figures come from the reporting"
        " service's read model; the reconciliation recomputes every money figure from the"
        " ledger's entries.</p>"
    )
    return _page("OneBudget: commissioner finance dashboard", subtitle, body, "true", query)


def render_error(message: str, reason: str, query: dict[str, str]) -> bytes:
    """The page when the figures cannot be had (reporting down, an unknown commissioner)."""
    body = (
        f'<p id="error" class="error" data-reason="{_e(reason)}">{_e(message)}</p>'
        '<p class="sub">Nothing is shown rather than figures that may be wrong; try again.</p>'
    )
    return _page("OneBudget: figures unavailable", "Figures unavailable", body, "error", query)


STYLESHEET = b"""\
:root { --ink: #0b0c0c; --muted: #505a5f; --line: #b1b4b6; --nhs: #005eb8; --ok: #00703c;
        --bad: #d4351c; --bg: #f3f2f1; }
body { font-family: Arial, Helvetica, sans-serif; color: var(--ink); margin: 0; background: #fff; }
header { background: var(--nhs); color: #fff; padding: 16px 32px; }
header h1 { margin: 0; font-size: 24px; }
header p { margin: 4px 0 0; }
main { padding: 24px 32px; max-width: 1200px; }
form { margin-bottom: 16px; }
form input { font-size: 16px; padding: 4px; width: 90px; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 16px; margin-bottom: 24px; }
.card { background: var(--bg); padding: 12px 16px; border-left: 6px solid var(--nhs); }
.card .label { color: var(--muted); font-size: 14px; }
.card .value { font-size: 26px; font-weight: bold; margin-top: 4px; }
.sub { font-size: 14px; color: var(--muted); }
h2 { font-size: 20px; margin: 28px 0 8px; }
table { border-collapse: collapse; width: 100%; margin-bottom: 8px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.met { color: var(--ok); font-weight: bold; }
.notmet { color: var(--bad); font-weight: bold; }
.provisional { color: var(--muted); font-style: italic; font-weight: bold; }
.status { padding: 8px 12px; display: inline-block; font-weight: bold; }
.status.ok { background: #cce2d8; color: var(--ok); }
.status.bad { background: #f6d7d2; color: var(--bad); }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }
.chart-box { display: flex; gap: 24px; align-items: flex-start; }
.legend { list-style: none; padding: 0; margin: 16px 0 0; font-size: 14px; }
.legend li { margin-bottom: 6px; }
.legend svg { vertical-align: middle; }
.error { color: var(--bad); font-weight: bold; font-size: 18px; }
svg text { font-size: 12px; fill: var(--ink); }
svg .target-label { fill: var(--bad); }
"""
