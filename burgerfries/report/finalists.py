"""The finalists on the held-out split, as the report shows them: for each model's base and final
run, precision–recall per class at IoU 0.5, F1 against the score threshold (the best marked),
the confusion matrix with background, AP@0.5 per class, and the images with the most wrong
detections (`evaluation/diagnostics.py` computes them; the report job runs the detectors).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
from PIL import Image

from burgerfries.decision.finalists import finalists
from burgerfries.decision.tables import DecisionTables
from burgerfries.evaluation.diagnostics import Diagnostics, FinalistDiagnostics
from burgerfries.report.display import html_table

PANEL_WIDTH = 390  # three side by side fit the page's 1200 px


def _png(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode()


def _figures(result: Diagnostics) -> str:
    pr, f1 = go.Figure(), go.Figure()
    for name, curve in result.pr.groupby("class", sort=False):
        pr.add_trace(go.Scatter(x=curve["recall"], y=curve["precision"], mode="lines", name=html.escape(str(name))))
    f1.add_trace(go.Scatter(x=result.f1["threshold"], y=result.f1["f1"], mode="lines+markers", name="F1"))
    best = result.f1[result.f1["threshold"] == result.best_threshold]
    f1.add_trace(
        go.Scatter(
            x=best["threshold"], y=best["f1"], mode="markers", marker={"symbol": "star", "size": 14}, name="best"
        )
    )
    matrix = result.confusion
    confusion = go.Figure(
        go.Heatmap(
            z=matrix.to_numpy(),
            x=[html.escape(str(c)) for c in matrix.columns],
            y=[html.escape(str(r)) for r in matrix.index],
            text=matrix.to_numpy(),
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
        )
    )
    layout = {"width": PANEL_WIDTH, "height": 320, "margin": {"l": 50, "r": 10, "t": 40, "b": 40}}
    pr.update_layout(title="Precision–recall, IoU 0.5", xaxis_title="recall", yaxis_title="precision", **layout)
    f1.update_layout(
        title=f"F1 by score threshold (best {result.best_threshold:.2f})", xaxis_title="threshold", **layout
    )
    confusion.update_layout(
        title="Confusion (rows: true)", xaxis_title="predicted", yaxis={"autorange": "reversed"}, **layout
    )
    panels = "".join(
        f"<div>{figure.to_html(full_html=False, include_plotlyjs=False)}</div>" for figure in (pr, f1, confusion)
    )
    return f'<div class="pair">{panels}</div>'


def finalists_section(
    computed: DecisionTables, diagnostics_of: Callable[[str], FinalistDiagnostics | None] | None
) -> tuple[str, dict[str, pd.DataFrame]]:
    """The section's HTML and its tables (AP and confusion per finalist, for the CSVs)."""
    tables: dict[str, pd.DataFrame] = {}
    parts = []
    for finalist in finalists(computed):
        title = f"{finalist.model} — {' and '.join(finalist.kinds)}: {finalist.configuration}"
        found = diagnostics_of(finalist.run_id) if diagnostics_of else None
        if found is None:
            parts.append(
                f'<h3>{html.escape(title)}</h3><p class="note">No diagnostics: its data folder\'s eval split or '
                "its checkpoint is not on this machine.</p>"
            )
            continue
        result = found.diagnostics
        ap = pd.DataFrame({"class": list(result.ap50), "AP@0.5": list(result.ap50.values())})
        tables[f"ap50_{finalist.run_id[:8]}"] = ap
        tables[f"confusion_{finalist.run_id[:8]}"] = result.confusion
        alt = html.escape(title)
        images = "".join(
            f'<img class="detections" alt="{alt} worst {n + 1}" src="data:image/png;base64,{_png(image)}">'
            for n, image in enumerate(found.worst)
        )
        parts.append(
            f"<h3>{html.escape(title)}</h3>{_figures(result)}{html_table(ap, float_format='{:.3f}')}"
            f'<p class="note">Most wrong detections (missed + spurious + confused), ground truth left: '
            f"{', '.join(str(n) for n in sorted(result.wrong, reverse=True)[: len(found.worst)])}</p>{images}"
        )
    note = (
        '<p class="note">Each model\'s base and final run (their representative runs), run again on the '
        "held-out split; the same tables and pictures are logged on those runs under diagnostics/.</p>"
    )
    return "<h2>3. The finalists on the held-out split</h2>" + note + "".join(parts), tables
