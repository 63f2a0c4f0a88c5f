"""Whether anything is left to find: on a bounded metric (mAP@0.5 cannot pass 1), a base so close
to the top that even a perfect challenger would gain less than the smallest effect the phases
detect with 80 % power. A sweep then stops tuning that model and says so, instead of spending its
worst case on differences its tests cannot see (a saturated set, e.g. one class of large objects).
"""

from __future__ import annotations

from burgerfries.decision.chain import chain, finished_runs, model_prior, model_runs
from burgerfries.decision.noise import decision_noise
from burgerfries.decision.power import POWER, detectable_effect
from burgerfries.decision.tables import DecisionTables
from burgerfries.keys import CONFIG_KEY

# The decision metrics with a best possible value (summary column → that value)
CEILINGS = {"mAP_50": 1.0, "last_mAP_50": 1.0}


def nothing_to_find(tables: DecisionTables, model: str) -> str | None:
    """A sentence when the model's base leaves less headroom to the metric's ceiling than the
    smallest gain a phase's most seeds (`looks` × `look_seeds` per side) detect at the sweep's α
    with 80 % power (σ as the decisions pool it); None when a gain could still be found, or when it
    cannot be told (an unbounded metric, no base run, no σ yet)."""
    metric = tables.settings.metric
    seeds = tables.settings.looks * tables.settings.look_seeds
    ceiling = CEILINGS.get(metric.column)
    decisions = chain(tables.decisions, model)
    if ceiling is None or not decisions:
        return None
    own = model_runs(finished_runs(tables.summaries), model)
    base = own[own[CONFIG_KEY] == decisions[0][1].incumbent][metric.column].astype(float).dropna()
    noise = decision_noise(own, metric.column, model_prior(tables.prior, model))
    if base.empty or noise is None:
        return None
    headroom = ceiling - float(base.mean())
    effect = detectable_effect(noise, (seeds, seeds), tables.settings.alpha)
    if headroom >= effect:
        return None
    digits = metric.digits
    return (
        f"nothing was there to find: the base's {metric.label} is {base.mean():.{digits}f} over {len(base)} runs, "
        f"{headroom:.{digits}f} below the best possible {ceiling:g}, and the smallest gain {seeds} vs {seeds} runs "
        f"detect with {POWER:.0%} power is {effect:.{digits}f} (σ {noise.sigma:.{digits}f} on {noise.dof} dof, "
        f"α {tables.settings.alpha:g})"
    )
