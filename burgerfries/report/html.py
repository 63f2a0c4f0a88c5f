"""The offline HTML report: one file, one inline copy of plotly.js, images embedded, every
user-provided string escaped. Built from data frames (`StudyRuns`); the report job reads them
from the tracking store."""

from __future__ import annotations

import base64
import html
import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.offline

from burgerfries.names import slug
from burgerfries.report import plateau as plateau_module
from burgerfries.report.analysis_settings import AnalysisSettings
from burgerfries.report.configurations import WEIGHT_PAIR, varied_keys
from burgerfries.report.plateau import ema
from burgerfries.report.selection import (
    DEFAULT_RULE,
    UNWEIGHTED,
    WEIGHTED,
    Criterion,
    fair_rule,
    finished_runs,
    lead_sentence,
    loss_basis,
    loss_basis_note,
    noise_floor,
    rank_configurations,
    rank_runs,
)
from burgerfries.report.study import StudyRuns
from burgerfries.report.summary import series
from burgerfries.report.tables import (
    PHASE_TABLE_COLUMNS,
    StudyTables,
    configuration,
    phase_order,
    recall_table,
    study_tables,
    unranked_runs,
    with_intervals,
)

PACKAGES = ("burgerfries", "tensorflow", "keras", "mlflow", "optuna", "faster-coco-eval", "pandas", "plotly")
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.85rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }
th { background: #f3f3f3; }
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


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(frame: pd.DataFrame, winner_first: bool = False, float_format: str = "{:.4f}") -> str:
    formatted = frame.copy()
    for column in formatted.columns:
        if pd.api.types.is_float_dtype(formatted[column]):
            formatted[column] = formatted[column].map(lambda v: "—" if pd.isna(v) else float_format.format(v))
    markup = formatted.to_html(index=False, escape=True, border=0, na_rep="—")
    if winner_first:
        markup = markup.replace("<tbody>\n    <tr>", '<tbody>\n    <tr class="winner">', 1)
    return markup


def _phase_title(phase: str, summaries: pd.DataFrame) -> str:
    keys = varied_keys(summaries[summaries["phase"] == phase])
    varied = "classification : localization weight" if keys == WEIGHT_PAIR else ", ".join(keys)
    return f"{phase or 'runs'}" + (f" — {varied}" if varied else "")


def _band(figure: go.Figure, study: StudyRuns, run_ids: list[str], key: str, name: str) -> None:
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


def _curves(study: StudyRuns, ranked: pd.DataFrame, runs: pd.DataFrame, train_smoothing: float) -> str:
    """Eval and (smoothed) train total loss — unweighted where the phase ranks by it — and mAP@0.5,
    against step, with both plateau points; a configuration's best run as lines, the span of its
    runs shaded where it has several."""
    losses, precision = go.Figure(), go.Figure()
    unweighted = "loss_basis" in ranked and ranked["loss_basis"].iloc[0] == UNWEIGHTED
    suffix = "_unweighted" if unweighted else ""
    finished = finished_runs(runs)
    for _, row in ranked.iterrows():
        metrics = study.metrics[study.metrics["run_id"] == row["run_id"]]
        name = html.escape(f"{row['varied']} ({row['name']})")
        train = series(metrics, f"train/loss_total{suffix}").dropna()
        eval_loss = series(metrics, f"eval/loss_total{suffix}")
        mean_ap = series(metrics, "eval/mAP_50")
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
        run_ids = list(dict.fromkeys(finished.index[finished["config_key"] == row["config_key"]]))
        if len(run_ids) >= 2:
            _band(losses, study, run_ids, f"eval/loss_total{suffix}", f"{name} eval")
            _band(precision, study, run_ids, "eval/mAP_50", name)
        for figure, values, step, label in (
            (losses, eval_loss, row["flatten_step"], "eval loss flattens"),
            (precision, mean_ap, row["map_plateau_step"], "mAP plateaus"),
        ):
            if pd.notna(step) and step in values.index:
                figure.add_trace(
                    go.Scatter(
                        x=[step],
                        y=[values[step]],
                        mode="markers",
                        showlegend=False,
                        marker={"symbol": "star", "size": 14},
                        name=f"{name}: {label}",
                    )
                )
    title = "Unweighted total loss" if unweighted else "Total loss"
    losses.update_layout(title=f"{title} (train smoothed, eval)", xaxis_title="step", yaxis_title="loss", height=380)
    precision.update_layout(title="mAP@0.5", xaxis_title="step", yaxis_title="mAP@0.5", height=380)
    return "".join(figure.to_html(full_html=False, include_plotlyjs=False) for figure in (losses, precision))


def _images(paths: list[Path], label: str, score_threshold: float) -> str:
    parts = []
    for path in paths:
        encoded = base64.b64encode(path.read_bytes()).decode()
        parts.append(
            f'<img class="detections" alt="{_e(label)} {_e(path.stem)}" src="data:image/png;base64,{encoded}">'
        )
    if not parts:
        return f'<p class="note">{_e(label)}: no evaluation images logged.</p>'
    return (
        f'<h3>{_e(label)}</h3><p class="note">left: ground truth, '
        f"right: detections with score ≥ {score_threshold:g}</p>" + "".join(parts)
    )


def _provenance(study: StudyRuns) -> str:
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


def _read_where(row: pd.Series) -> str:
    """Where a configuration's figures were read: one run's step, or each run's own for a mean."""
    if row.get("runs", 1) > 1:
        return f"(mean of {int(row['runs'])} runs, each read at its own point; this run's: step {row['read_step']})"
    return f"at step {row['read_step']}"


def _stability(value: object) -> str:
    if value is None or pd.isna(value):
        return "stability unknown (no repeated runs to measure the noise with)"
    return f"first in {float(value):.0%} of resamples of its noise"


def _noise_sentence(noise: dict[str, float], runs: pd.DataFrame) -> str:
    """The noise floor of one phase and model, from its configurations with repeated runs."""
    if not noise:
        return "Noise floor: not measured (no configuration has two finished runs)."
    finished = finished_runs(runs)
    repeated = [label for label, members in finished.groupby("varied") if len(members) >= 2]
    names = {
        "eval_loss": "eval loss",
        "eval_loss_unweighted": "unweighted eval loss",
        "mAP_50": "mAP@0.5",
        "avg_recall": "avg recall",
        "wrong_detection_rate": "wrong detections per image",
    }
    spread = ", ".join(f"{names[key]} {noise[key]:.4f}" for key in names if key in noise)
    return f"Noise floor (seed-to-seed σ, from {', '.join(map(str, repeated))}): {spread}."


def _loss_note(runs: pd.DataFrame, ranked: pd.DataFrame, rule: tuple[Criterion, ...]) -> str:
    """Which loss this phase's table (`ranked`, from `runs` of one phase and model) ranks by and
    why; where that is the unweighted loss, what the weighted total would have picked (the
    original study ranked its loss weights that way)."""
    basis = ranked["loss_basis"].iloc[0]
    note = loss_basis_note(runs, basis)
    if basis == UNWEIGHTED:
        weighted = rank_configurations(runs, rule, basis=WEIGHTED)
        pick, ours = weighted["varied"].iloc[0], ranked["varied"].iloc[0]
        same = "the same winner" if pick == ours else f"{pick} instead of {ours}"
        note += f" Ranked by the weighted total, this phase would have picked {same}."
    return note


def _summary_section(computed: StudyTables, rule: tuple[Criterion, ...]) -> str:
    finals, summaries = computed.finals, computed.summaries
    if not len(finals):
        return "<h2>1. Summary</h2><p>No run finished, so there is no final pick.</p>"
    best = rank_runs(
        finals.drop(columns=["rank"]).rename(columns={"reason": "final_reason"}),
        fair_rule(rule, loss_basis(finals)),
        label_column="finalist",
        noise=noise_floor(summaries),
    )
    if len(best) == 1:
        best["reason"] = best["final_reason"]
    lines = "".join(
        f"<li><b>{_e(row['model'])}</b>: {_e(configuration(row))} — run {_e(row['name'])}, "
        f"mAP@0.5 {row['mAP_50']:.3f}, eval loss {row['eval_loss']:.4f} {_e(_read_where(row))}"
        f" ({_e(row['flatten_status'])}); {_e(_stability(row['stability']))}. "
        f'<span class="note">{_e(row["reason"])}</span></li>'
        for _, row in finals.iterrows()
    )
    top = best.iloc[0]
    return (
        f"<h2>1. Summary</h2><p>Final model: <b>{_e(top['model'])}</b> with {_e(configuration(top))} "
        f"(run {_e(top['name'])}). Why: {_e(best['reason'].iloc[0])}.</p><ul>{lines}</ul>"
        f"<h3>Base vs final</h3>{_table(computed.base_final)}"
    )


def _phases_section(
    study: StudyRuns,
    computed: StudyTables,
    rule: tuple[Criterion, ...],
    analysis: AnalysisSettings,
    tables: dict[str, pd.DataFrame],
) -> str:
    """Each phase's ranking per model with its noise floor and curves; adds the tables it shows to `tables`."""
    summaries, ranked = computed.summaries, computed.ranked
    phase_html = []
    for phase in phase_order(summaries):
        parts = [f"<h3>{_e(_phase_title(phase, summaries))}</h3>"]
        for (group_phase, model), members in ranked.items():
            if group_phase != phase or members.empty:
                continue
            columns = [c for c in PHASE_TABLE_COLUMNS if c in members.columns]
            intervals = [f"{c}_ci" for c in columns if f"{c}_ci" in members.columns]
            tables[f"phase_{slug(phase or 'runs')}_{slug(model)}"] = members[columns + intervals]
            group = summaries[(summaries["phase"] == group_phase) & (summaries["model"] == model)]
            noise = noise_floor(group)
            parts.append(
                f"<h4>{_e(model)} — winner: {_e(members['varied'].iloc[0])}</h4>"
                f"<p><b>{_e(lead_sentence(members, noise))}</b> {_e(_noise_sentence(noise, group))}</p>"
                f'<p class="note">{_e(_loss_note(group, members, rule))}</p>'
                f"{_table(with_intervals(members)[columns], True)}"
            )
            parts.append(_curves(study, members, group, analysis.train_smoothing))
        phase_html.append("".join(parts))
    unranked = unranked_runs(summaries)
    if len(unranked):
        tables["unranked_runs"] = unranked
        phase_html.append(
            '<h3>Runs left out of the rankings</h3><p class="note">These runs did not finish '
            "(killed, failed or still running); a configuration is ranked on its finished runs only.</p>"
            + _table(unranked)
        )
    return (
        '<h2>2. Phases</h2><p class="note">One row per configuration, read at each run\'s eval-loss '
        "flatten point (or its last evaluation when it never flattens) and averaged over its finished "
        "runs (column runs), with the 95 % confidence interval of the mean (Student's t) where it has two "
        "or more; the winner's row is highlighted. The shaded bands in the plots span the runs of a "
        "configuration with several.</p>" + "".join(phase_html)
    )


def _recall_section(computed: StudyTables, tables: dict[str, pd.DataFrame]) -> str:
    parts = []
    for phase in phase_order(computed.summaries):
        table = recall_table(computed.ranked, phase)
        if not table.empty:
            tables[f"recall_{slug(phase or 'runs')}"] = table
            parts.append(
                f"<h3>{_e(_phase_title(phase, computed.summaries))}</h3>"
                + table.to_html(escape=True, border=0, float_format=lambda v: f"{v:.3f}")
            )
    return "<h2>3. Recall</h2>" + "".join(parts)


def _method_section(rule: tuple[Criterion, ...], analysis: AnalysisSettings) -> str:
    settings = ", ".join(f"{key} {value:g}" for key, value in analysis.as_dict().items())
    return (
        "<h2>How plateau points are defined</h2><pre>" + _e(plateau_module.__doc__.strip()) + "</pre>"
        f'<p class="note">Settings of this report: {_e(settings)}.</p>'
        "<h2>How the winner is chosen</h2><pre>"
        + _e("Criteria, in order: " + "; ".join(c.label for c in rule))
        + "</pre>"
    )


def build_report(
    study: StudyRuns,
    out_dir: Path,
    rule: tuple[Criterion, ...] = DEFAULT_RULE,
    analysis: AnalysisSettings = AnalysisSettings(),
    pictures_of: Callable[[str], list[Path]] | None = None,
    computed: StudyTables | None = None,
) -> Report:
    """Write `index.html` and one CSV per table into `out_dir`. `pictures_of(run_id)` gives the
    PNG files of a finalist's last evaluation (the report job downloads them from MLflow);
    `computed` is `study_tables(study, rule, analysis)` when the caller has it already."""
    out_dir.mkdir(parents=True, exist_ok=True)
    computed = computed or study_tables(study, rule, analysis)
    tables: dict[str, pd.DataFrame] = {"base_vs_final": computed.base_final, "summaries": computed.summaries}
    images = "".join(
        _images(
            pictures_of(run_id) if pictures_of else [],
            f"{row['model']} — {configuration(row)}",
            analysis.score_threshold,
        )
        for run_id, row in computed.finals.iterrows()
    )
    sections = [
        _summary_section(computed, rule),
        _phases_section(study, computed, rule, analysis, tables),
        _recall_section(computed, tables),
        "<h2>4. Detections of the finalists</h2>" + images,
        "<h2>5. Provenance</h2>" + _provenance(study),
        _method_section(rule, analysis),
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
    return Report(path, computed.finals, computed.base_final, tables)
