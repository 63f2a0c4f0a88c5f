"""The finalists: each model's base run (its representative in the first phase of its chain) and
its final run, once each — the runs the report diagnoses and the registry registers."""

from __future__ import annotations

from dataclasses import dataclass

from burgerfries.decision.chain import chain
from burgerfries.decision.tables import DecisionTables
from burgerfries.keys import CONFIG_KEY
from burgerfries.runs.configurations import configuration_in_words


@dataclass
class Finalist:
    model: str
    kinds: list[str]  # "base", "final", or both when they are one run
    run_id: str
    configuration: str


def finalists(computed: DecisionTables) -> list[Finalist]:
    """Each model's base run (its representative in the first phase) and final run, once each."""
    found: list[Finalist] = []
    for model in dict.fromkeys(computed.finals["model"]) if len(computed.finals) else []:
        first = next(iter(chain(computed.decisions, model)), None)
        final = computed.finals[computed.finals["model"] == model].iloc[0]
        picks = []
        if first is not None:
            table = computed.ranked[(first[0], model)]
            base = table[table[CONFIG_KEY] == first[1].incumbent]
            if len(base):
                picks.append(("base", base.iloc[0]))
        picks.append(("final", final))
        for kind, row in picks:
            same = next((f for f in found if f.run_id == row["run_id"]), None)
            if same is not None:
                same.kinds.append(kind)
            else:
                found.append(Finalist(model, [kind], row["run_id"], configuration_in_words(row)))
    return found
