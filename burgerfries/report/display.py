"""Tables as people read them: human column names with units, three decimals (the noise is in
the second), an interval beside its value, "—" for missing. The CSVs beside the page keep every
column at full precision; these are for the page only.
"""

from __future__ import annotations

import math

import pandas as pd

from burgerfries.decision.chain import TEST_METRIC
from burgerfries.decision.tables import BASE_FINAL_COLUMNS as TABLE_COLUMNS
from burgerfries.decision.tables import TEST_DELTA, TEST_INTERVAL, TEST_P
from burgerfries.metrics import SUMMARY_METRICS, TEST_BY_SIZE_COLUMNS, at_read_point, summary_metric

# column → its heading on the page; a `<column>_ci` beside it is shown as "value ± ci"
PHASE_COLUMNS = {
    "rank": "#",
    "varied": "configuration",
    "role": "role",
    "runs": "runs",
    "read_step": "read at step",
    "last_mAP_50": summary_metric("last_mAP_50").short,
    "mAP_50": at_read_point(SUMMARY_METRICS["mAP_50"]).short,
    **{
        column: SUMMARY_METRICS[column].short
        for column in ("eval_loss_unweighted", "wrong_detection_rate", "avg_recall")
    },
    "delta": "Δ vs incumbent (95 % interval)",
    "p": "p (better)",
    "verdict": "verdict",
    "best_group": "not worse than #1",
}
# the base-vs-final table's columns (labels, `tables.BASE_FINAL_COLUMNS`) → their headings
BASE_FINAL_COLUMNS = {
    "Model": "model",
    "configuration": "configuration",
    "runs": "runs",
    **{
        label: PHASE_COLUMNS.get(column, label) for column, label in TABLE_COLUMNS.items() if column != "gap_unweighted"
    },
}


def number(value: object, digits: int = 3) -> str:
    """A number with `digits` decimals; "—" for a missing one; anything else as it is."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _with_interval(frame: pd.DataFrame, column: str) -> list[str]:
    values = frame[column]
    cis = frame[f"{column}_ci"] if f"{column}_ci" in frame else pd.Series(float("nan"), index=frame.index)
    return [number(v) if pd.isna(ci) or pd.isna(v) else f"{number(v)} ± {number(ci)}" for v, ci in zip(values, cis)]


def phase_display(table: pd.DataFrame) -> pd.DataFrame:
    """A phase table (`tables.phase_table`) for the page."""
    shown = pd.DataFrame(index=table.index)
    for column, title in PHASE_COLUMNS.items():
        if column not in table:
            continue
        if column == "delta":
            shown[title] = [
                "—" if pd.isna(d) else (f"{d:+.3f}" if pd.isna(lo) else f"{d:+.3f} ({lo:+.3f} … {hi:+.3f})")
                for d, lo, hi in zip(table["delta"], table["delta_low"], table["delta_high"])
            ]
        elif column in ("rank", "runs", "read_step"):
            shown[title] = [number(None if pd.isna(v) else int(v)) for v in table[column]]
        elif column == "p":
            shown[title] = ["—" if pd.isna(v) else f"{v:.2g}" for v in table[column]]
        elif pd.api.types.is_float_dtype(table[column]):
            shown[title] = _with_interval(table, column)
        else:
            shown[title] = [number(v) for v in table[column]]
    return shown


def base_final_display(table: pd.DataFrame) -> pd.DataFrame:
    """The base-vs-final table (`tables.base_vs_final`) for the page, on the validation photos the
    decisions read: the headline metrics, then the change and p."""
    shown = pd.DataFrame(index=table.index)
    for column, title in BASE_FINAL_COLUMNS.items():
        if column not in table:
            continue
        if f"{column} ±" in table:
            renamed = table[[column, f"{column} ±"]].set_axis([column, f"{column}_ci"], axis=1)
            shown[title] = _with_interval(renamed, column)
        else:
            shown[title] = [number(v, 0 if column == "runs" else 3) for v in table[column]]
    validation = next((c for c in table.columns if c.startswith("Δ ") and c != TEST_DELTA), None)
    if validation is not None:
        shown["Δ vs base (95 % interval)"] = _change(table[validation], table["95 % interval"])
    if "p (final better)" in table:
        shown["p (final better)"] = _p(table["p (final better)"])
    return shown


def base_final_test_display(table: pd.DataFrame) -> pd.DataFrame:
    """The same base and final on the test photos no decision read: mAP@0.5, COCO's mAP by object
    size, and the change with its interval and p."""
    shown = pd.DataFrame(index=table.index)
    for column in ("Model", "runs"):
        if column in table:
            shown[BASE_FINAL_COLUMNS[column]] = [number(v, 0) for v in table[column]]
    if TEST_METRIC.label in table:
        renamed = table[[TEST_METRIC.label, f"{TEST_METRIC.label} ±"]].set_axis(["test", "test_ci"], axis=1)
        shown[TEST_METRIC.short] = _with_interval(renamed, "test")
    for column in TEST_BY_SIZE_COLUMNS:
        metric = SUMMARY_METRICS[column]
        if metric.label in table:
            shown[metric.short] = [number(v) for v in table[metric.label]]
    if TEST_DELTA in table:
        shown["Δ vs base (95 % interval)"] = _change(table[TEST_DELTA], table[TEST_INTERVAL])
        shown[TEST_P] = _p(table[TEST_P])
    return shown


def _change(deltas: pd.Series, intervals: pd.Series) -> list[str]:
    """Each change with its interval; where there is none, the reason the table gives ("no test
    photos measured"), else "—"."""
    return [
        (interval if isinstance(interval, str) else "—") if pd.isna(d) else f"{d:+.3f} ({interval})"
        for d, interval in zip(deltas, intervals)
    ]


def _p(values: pd.Series) -> list[str]:
    return ["—" if pd.isna(v) else f"{v:.2g}" for v in values]


def html_table(frame: pd.DataFrame, highlight: int | None = None, float_format: str = "{:.4f}") -> str:
    """`frame` as an HTML table; the row at position `highlight` (if any) marked as the winner."""
    formatted = frame.copy()
    for column in formatted.columns:
        if pd.api.types.is_float_dtype(formatted[column]):
            formatted[column] = formatted[column].map(lambda v: "—" if pd.isna(v) else float_format.format(v))
    markup = formatted.to_html(index=False, escape=True, border=0, na_rep="—")
    if highlight is not None and "<tbody>" in markup:
        head, body = markup.split("<tbody>", 1)
        rows = body.split("<tr>")  # rows[0] is what precedes the first row
        if 0 <= highlight < len(rows) - 1:
            rows[highlight + 1] = '<tr class="winner">' + rows[highlight + 1]
            body = rows[0] + "".join(row if row.startswith("<tr") else "<tr>" + row for row in rows[1:])
        markup = head + "<tbody>" + body
    return markup
