"""The offline HTML report: one file, one inline copy of plotly.js, images embedded, every
user-provided string escaped. Built from data frames (`RunSet`); the report job reads them
from the tracking store."""

from __future__ import annotations

import html
import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.offline

from burgerfries.decision import phase as decision_module
from burgerfries.decision.chain import finished_runs, phase_order
from burgerfries.decision.phase import chosen
from burgerfries.decision.settings import RACING, DecisionSettings
from burgerfries.decision.tables import DecisionTables, decision_tables
from burgerfries.evaluation.diagnostics import FinalistDiagnostics
from burgerfries.keys import CONFIG_KEY
from burgerfries.metrics import EVAL_LOSS_UNWEIGHTED, EVAL_MAP_50, TRAIN_LOSS_UNWEIGHTED
from burgerfries.names import slug
from burgerfries.report.display import base_final_display, base_final_test_display, html_table, phase_display
from burgerfries.report.finalists import finalists_section
from burgerfries.report.headline import headline
from burgerfries.report.tables import PHASE_TABLE_COLUMNS, recall_table, unranked_runs
from burgerfries.runs import plateau as plateau_module
from burgerfries.runs.analysis_settings import AnalysisSettings
from burgerfries.runs.configurations import WEIGHT_PAIR, varied_keys
from burgerfries.runs.plateau import ema
from burgerfries.runs.run_set import RunSet
from burgerfries.runs.summary import series

FIGURE_WIDTH = 585  # two side by side fit the page's 1200 px
PLOT_HEIGHT = 300  # the axes, the title (60 px) and the x axis' title, without the legend
LEGEND_ROW = 22  # px per row of legend entries
LEGEND_COLUMNS = 2  # entries per legend row: a label such as "lr 0.032 · batch 5 train" takes half the width
PACKAGES = ("burgerfries", "tensorflow", "keras", "mlflow", "optuna", "faster-coco-eval", "pandas", "plotly")
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.8rem; max-width: 100%; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.4rem; text-align: right; }
th { background: #f3f3f3; font-weight: 600; }
.headline { background: #f4f8ff; border: 1px solid #c9d8f0; padding: 0.5rem 1rem; }
.headline li { margin: 0.3rem 0; }
.pair { display: flex; gap: 0.5rem; }
.pair > div { flex: 1 1 0; min-width: 0; }
details { margin: 0 0 1.5rem; font-size: 0.85rem; color: #444; }
td:first-child, th:first-child { text-align: left; }
tr.winner td { background: #e7f6e7; font-weight: 600; }
.note { color: #555; font-size: 0.9rem; }
img.detections { max-width: 100%; border: 1px solid #ccc; margin: 0.25rem 0; }
pre { background: #f6f6f6; padding: 0.75rem; white-space: pre-wrap; }
"""


@dataclass
class Report:
    path: Path
    final: pd.DataFrame
    base_vs_final: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    headline: str = ""  # the answer in Markdown (`headline.Headline.markdown`), for the parent run's note


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _phase_title(phase: str, summaries: pd.DataFrame) -> str:
    keys = varied_keys(summaries[summaries["phase"] == phase])
    varied = "classification : localization weight" if keys == WEIGHT_PAIR else ", ".join(keys)
    return f"{phase or 'runs'}" + (f" — {varied}" if varied else "")


def _band(figure: go.Figure, study: RunSet, run_ids: list[str], key: str, name: str) -> None:
    """The span (min to max at each step) of a configuration's runs, shaded."""
    metrics = study.metrics[study.metrics["run_id"].isin(run_ids) & (study.metrics["key"] == key)]
    spread = metrics.groupby("step")["value"].agg(["min", "max"]).sort_index()
    if spread.empty:
        return
    figure.add_trace(
        go.Scatter(x=spread.index, y=spread["max"], mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip")
    )
    figure.add_trace(
        go.Scatter(
            x=spread.index,
            y=spread["min"],
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            opacity=0.3,
            name=f"{name}: span of {len(run_ids)} runs",
        )
    )


def _layout(figure: go.Figure) -> dict:
    """A layout whose legend, below the plot, gets the height its entries need: Plotly puts a
    legend that does not fit into a scroll box."""
    entries = sum(1 for trace in figure.data if trace.showlegend is not False)
    legend_height = -(-entries // LEGEND_COLUMNS) * LEGEND_ROW
    return {
        "xaxis_title": "step",
        "width": FIGURE_WIDTH,
        "height": PLOT_HEIGHT + legend_height + 60,
        "margin": {"t": 60, "b": legend_height + 60},
        "legend": {  # 60 px under the axes (in fractions of their height), below the axis title
            "orientation": "h",
            "yanchor": "top",
            "y": -60 / (PLOT_HEIGHT - 60),
            "entrywidth": 1 / LEGEND_COLUMNS,
            "entrywidthmode": "fraction",
        },
    }


def _curves(study: RunSet, ranked: pd.DataFrame, runs: pd.DataFrame, train_smoothing: float) -> str:
    """Unweighted eval and (smoothed) train loss, and mAP@0.5, against step, with each
    configuration's read point (where its eval loss starts to flatten) and mAP plateau marked; a
    configuration's best run as lines, the span of its runs shaded where it has several."""
    losses, precision = go.Figure(), go.Figure()
    finished = finished_runs(runs)
    for _, row in ranked.iterrows():
        metrics = study.metrics[study.metrics["run_id"] == row["run_id"]]
        name = html.escape(str(row["varied"]))  # the configuration, as the phase names it
        train = series(metrics, TRAIN_LOSS_UNWEIGHTED).dropna()
        eval_loss = series(metrics, EVAL_LOSS_UNWEIGHTED)
        mean_ap = series(metrics, EVAL_MAP_50)
        if len(train):
            losses.add_trace(
                go.Scatter(
                    x=train.index,
                    y=ema(train.to_numpy(), train_smoothing),
                    mode="lines",
                    name=f"{name} train",
                    line={"dash": "dot"},
                )
            )
        losses.add_trace(go.Scatter(x=eval_loss.index, y=eval_loss.values, mode="lines+markers", name=f"{name} eval"))
        precision.add_trace(go.Scatter(x=mean_ap.index, y=mean_ap.values, mode="lines+markers", name=name))
        run_ids = list(dict.fromkeys(finished.index[finished[CONFIG_KEY] == row[CONFIG_KEY]]))
        if len(run_ids) >= 2:
            _band(losses, study, run_ids, EVAL_LOSS_UNWEIGHTED, f"{name} eval")
            _band(precision, study, run_ids, EVAL_MAP_50, name)
        for figure, values, step, label in (
            (losses, eval_loss, row["read_step"], "read point: eval loss starts to flatten"),
            (precision, mean_ap, row["read_step"], "read point"),
            (precision, mean_ap, row["map_plateau_step"], "mAP plateaus"),
        ):
            if pd.notna(step) and step in values.index:
                figure.add_trace(
                    go.Scatter(
                        x=[step],
                        y=[values[step]],
                        mode="markers",
                        showlegend=False,
                        marker={"symbol": "star" if label.startswith("read") else "diamond", "size": 13},
                        name=f"{name}: {label}",
                    )
                )
    losses.update_layout(
        title="Unweighted total loss (train smoothed, eval); ★ read point", yaxis_title="loss", **_layout(losses)
    )
    precision.update_layout(title="mAP@0.5; ★ read point, ◆ plateau", yaxis_title="mAP@0.5", **_layout(precision))
    figures = "".join(
        f"<div>{figure.to_html(full_html=False, include_plotlyjs=False)}</div>" for figure in (precision, losses)
    )
    return f'<div class="pair">{figures}</div>'


def _provenance(study: RunSet) -> str:
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    hashes = sorted({h for h in study.runs["dataset_hash"] if h})
    commits = sorted({c for c in study.runs["code_version"] if c})
    rows = [
        ("dataset hash", ", ".join(hashes) or "not recorded"),
        ("code version (git commit)", ", ".join(commits) or "not recorded"),
        ("packages (report built with)", ", ".join(versions)),
        ("tracking URI", study.tracking_uri or "not recorded"),
        ("runs", str(len(study.runs))),
    ]
    if study.parent_run_id:
        rows.insert(0, ("sweep parent run", study.parent_run_id))
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows) + "</table>"


def _headline_section(computed: DecisionTables) -> str:
    """The answer first: per model base → final with its interval and verdict, the overall pick,
    and what each phase did."""
    answer = headline(computed)
    models = "".join(
        f"<li><b>{_e(row.model)}</b>: {_e(row.final)}. {_e(row.change(answer.metric))}. {_e(row.verdict)}.</li>"
        for row in answer.models
    )
    phases = pd.DataFrame(
        [(o.phase, o.model, o.outcome, o.to, o.evidence) for o in answer.phases],
        columns=["phase", "model", "outcome", "to what", "evidence"],
    )
    return (
        f'<div class="headline"><h2>The answer</h2><p><b>{_e(answer.overall)}</b></p><ul>{models}</ul>'
        f'<p class="note">Decision metric: <b>{_e(answer.metric)}</b> on the held-out split, '
        f"{_e(computed.settings.mode)} mode; Δ is final − base, with its 95 % interval.</p></div>"
        + html_table(phases)
        + "<h3>Base vs final, on the validation photos (what the decisions read)</h3>"
        + html_table(base_final_display(computed.base_final))
        + "<h3>Base vs final, on the test photos (read by no decision)</h3>"
        + html_table(base_final_test_display(computed.base_final))
    )


def _phases_section(
    study: RunSet,
    computed: DecisionTables,
    analysis: AnalysisSettings,
    tables: dict[str, pd.DataFrame],
) -> str:
    """Each phase's decision per model with its evidence, its configurations and their curves;
    adds the tables it shows to `tables`."""
    summaries, settings = computed.summaries, computed.settings
    phases = phase_order(summaries)
    phase_html = []
    for phase in phases:
        parts = [f"<h3>{_e(_phase_title(phase, summaries))}</h3>"]
        for (group_phase, model), members in computed.ranked.items():
            if group_phase != phase or members.empty:
                continue
            decision = computed.decisions[(phase, model)]
            columns = [c for c in PHASE_TABLE_COLUMNS if c in members.columns]
            intervals = [f"{c}_ci" for c in columns if f"{c}_ci" in members.columns]
            tables[f"phase_{slug(phase or 'runs')}_{slug(model)}"] = members[columns + intervals]
            noise = decision.noise
            group = summaries[(summaries["phase"] == group_phase) & (summaries["model"] == model)]
            rule_note = ""
            if decision.study_rule_winner != decision.winner:
                rule_note = (
                    f'<p class="note">The modes disagree here: racing on {_e(settings.metric.label)} '
                    f"{_e(decision.sentence)}; the study's rule {_e(decision.study_rule_sentence)}.</p>"
                )
            carried = [i for i, key in enumerate(members[CONFIG_KEY]) if key == chosen(decision, settings)]
            what = decision.outcome if settings.mode == RACING else "decided by the study's rule"
            carried_label = members["varied"].iloc[carried[0]] if carried else "—"
            parts.append(
                f"<h4>{_e(model)} — {_e(what)}: {_e(carried_label)}</h4>"
                f"<p><b>{_e(decision.sentence)}</b> Each challenger was tested at α {decision.alpha:.3g}; noise "
                f"on {_e(settings.metric.label)}: {_e(noise.describe() if noise else 'not measured yet')}.</p>"
                f"{rule_note}{html_table(phase_display(members), carried[0] if carried else None)}" + _reasons(members)
            )
            parts.append(_curves(study, members, group, analysis.train_smoothing))
        phase_html.append("".join(parts))
    unranked = unranked_runs(summaries)
    if len(unranked):
        tables["unranked_runs"] = unranked
        phase_html.append(
            '<h3>Runs left out of the decisions</h3><p class="note">These runs did not finish '
            "(killed, failed, stopped early as clearly worse, or still running); a configuration is judged on "
            "its finished runs only.</p>" + html_table(unranked)
        )
    return (
        '<h2>1. Phases</h2><p class="note">One row per configuration, best on the decision metric first, '
        "each quantity read at the run's read point (where its eval loss starts to flatten; last_… columns "
        "at its last evaluation) and averaged over the configuration's finished runs (column runs), with "
        "the 95 % confidence interval of the mean where it has two or more. delta is the difference from "
        "the incumbent on the decision metric, with its 95 % interval and one-sided p; best_group marks "
        "the configurations not shown worse than the first. The carried-on row is highlighted.</p>"
        + "".join(phase_html)
    )


def _reasons(members: pd.DataFrame) -> str:
    """Each configuration's reason and best run, folded under the table."""
    items = "".join(
        f"<li><b>{_e(row['varied'])}</b> (best run {_e(row['name'])}): {_e(row['reason'])}</li>"
        for _, row in members.iterrows()
    )
    return f"<details><summary>Why, per configuration</summary><ul>{items}</ul></details>"


def _recall_section(computed: DecisionTables, tables: dict[str, pd.DataFrame]) -> str:
    parts = []
    for phase in phase_order(computed.summaries):
        table = recall_table(computed.ranked, phase)
        if not table.empty:
            tables[f"recall_{slug(phase or 'runs')}"] = table
            parts.append(
                f"<h3>{_e(_phase_title(phase, computed.summaries))}</h3>"
                + table.to_html(escape=True, border=0, float_format=lambda v: f"{v:.3f}")
            )
    return "<h2>2. Recall</h2>" + "".join(parts)


def _method_section(settings: DecisionSettings, analysis: AnalysisSettings) -> str:
    values = ", ".join(f"{key} {value:g}" for key, value in analysis.as_dict().items())
    chosen_settings = ", ".join(f"{key} {value}" for key, value in settings.as_dict().items())
    return (
        "<h2>Where runs are read</h2><pre>" + _e(plateau_module.__doc__.strip()) + "</pre>"
        f'<p class="note">Settings of this report: {_e(values)}.</p>'
        "<h2>How each phase decides</h2><pre>" + _e(decision_module.__doc__.strip()) + "</pre>"
        f'<p class="note">This study: {_e(chosen_settings)}.</p>'
    )


def build_report(
    study: RunSet,
    out_dir: Path,
    settings: DecisionSettings = DecisionSettings(),
    analysis: AnalysisSettings = AnalysisSettings(),
    diagnostics_of: Callable[[str], FinalistDiagnostics | None] | None = None,
    computed: DecisionTables | None = None,
) -> Report:
    """Write `index.html` and one CSV per table into `out_dir`. `diagnostics_of(run_id)` gives a
    finalist's diagnostics on the held-out split (the report job runs its detector), or None;
    `computed` is `decision_tables(study, settings, analysis)` when the caller has it already."""
    out_dir.mkdir(parents=True, exist_ok=True)
    computed = computed or decision_tables(study, settings, analysis)
    tables: dict[str, pd.DataFrame] = {"base_vs_final": computed.base_final, "summaries": computed.summaries}
    finalists, finalist_tables = finalists_section(computed, diagnostics_of)
    tables.update(finalist_tables)
    sections = [
        _headline_section(computed),
        _phases_section(study, computed, analysis, tables),
        _recall_section(computed, tables),
        finalists,
        "<h2>4. Provenance</h2>" + _provenance(study),
        _method_section(computed.settings, analysis),
    ]
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(study.title)} — burgerfries report</title>"
        f"<style>{STYLE}</style><script>{plotly.offline.get_plotlyjs()}</script></head><body>"
        f"<h1>{_e(study.title)}</h1>" + "".join(sections) + "</body></html>"
    )
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    for name, table in tables.items():
        table.to_csv(out_dir / f"{name}.csv")
    return Report(path, computed.finals, computed.base_final, tables, headline(computed).markdown())
