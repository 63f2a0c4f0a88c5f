"""The sweep's final picks in MLflow's model registry: per model, one registered model
`<name>-<short model name>` whose version with alias `champion` is the final pick's last
checkpoint and whose version with alias `base` is the base configuration's (one version carries
both when the sweep kept the base). Each is also logged as an output of the sweep's parent run."""

from __future__ import annotations

import mlflow
from mlflow.entities import LoggedModelOutput

from burgerfries.decision.finalists import finalists
from burgerfries.decision.tables import DecisionTables
from burgerfries.keys import SHORT_NAMES, Tag, per_model
from burgerfries.names import slug

ALIASES = {"final": "champion", "base": "base"}


def registered_name(name: str, model: str) -> str:
    """`<name>-<short model name>`, with `name` made safe for the registry (which refuses '/' and
    ':') and for the files MLflow keeps per registered model: `names.slug`, which adds a short hash
    of the original wherever it had to change a character."""
    return f"{slug(name)}-{SHORT_NAMES.get(model, model)}"


def name_mapping(name: str) -> str | None:
    """One line saying how a study name became registered model names, when it had to change."""
    if slug(name) == name:
        return None
    return f"registered model names use {slug(name)!r} for {name!r} (the registry refuses '/' and ':' in names)"


def register_finals(computed: DecisionTables, name: str, parent_id: str) -> list[str]:
    """Register each model's final and base run's last checkpoint under `name`; one line per
    registered version (or per run that has no logged model to register, trained before there were)."""
    client = mlflow.MlflowClient()
    lines = []
    for finalist in finalists(computed):
        run = client.get_run(finalist.run_id)
        model_id = run.data.tags.get(Tag.CHECKPOINT_MODEL)
        if not model_id:
            lines.append(f"{finalist.model} {'/'.join(finalist.kinds)}: run {finalist.run_id} has no logged model")
            continue
        target = registered_name(name, finalist.model)
        version = mlflow.register_model(f"models:/{model_id}", target)
        aliases = [ALIASES[kind] for kind in finalist.kinds]
        for alias in aliases:
            client.set_registered_model_alias(target, alias, version.version)
        step = client.get_logged_model(model_id).tags.get("step", "0")
        client.log_outputs(parent_id, [LoggedModelOutput(model_id, int(step))])
        if "final" in finalist.kinds:
            client.set_tag(parent_id, per_model(Tag.REGISTERED, finalist.model), f"{target} version {version.version}")
        lines.append(f"{finalist.model}: {target} version {version.version} ({', '.join(aliases)})")
    return lines
