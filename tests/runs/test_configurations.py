"""A configuration's key: the same configuration gives the same key however its knobs were written
or left out, and a different length in passes gives another."""

import math

import pandas as pd

from burgerfries.decision.next_step import knob_config
from burgerfries.runs.configurations import config_key

BASE = {"model": "m", "batch_size": 10, "learning_rate": 0.04, "classification_weight": 1, "localization_weight": 1}


def test_a_knob_a_run_does_not_set_reads_the_same_however_it_is_missing():
    keys = {config_key({**BASE, "epochs": missing}) for missing in (None, "", "None", math.nan, float("nan"))}
    assert keys == {config_key(BASE)}
    assert config_key({**BASE, "batch_size": "10", "learning_rate": "0.040"}) == config_key(BASE)
    assert config_key({**BASE, "epochs": 71.4}) == config_key({**BASE, "epochs": "71.4"}) != config_key(BASE)
    assert config_key({**BASE, "epochs": 71.4}) != config_key({**BASE, "epochs": 95.2})


def test_a_configuration_in_words_names_its_passes_only_when_it_has_them():
    from burgerfries.runs.configurations import configuration_in_words

    assert (
        configuration_in_words(pd.Series({**BASE, "epochs": "95.2"})) == "batch 10, lr 0.04, weights 1:1, 95.2 passes"
    )
    assert configuration_in_words(pd.Series({**BASE, "epochs": ""})) == "batch 10, lr 0.04, weights 1:1"


def test_the_configuration_carried_on_keeps_a_length_in_passes_and_only_then():
    row = pd.Series({**BASE, "input_size": "160", "epochs": "95.2"})
    assert knob_config(row) == {
        "batch_size": 10,
        "learning_rate": 0.04,
        "classification_weight": 1.0,
        "localization_weight": 1.0,
        "input_size": 160,
        "epochs": 95.2,
    }
    for missing in ("", "None", math.nan):
        assert "epochs" not in knob_config(pd.Series({**BASE, "input_size": "160", "epochs": missing}))
