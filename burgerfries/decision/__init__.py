"""Decisions from finished runs: the settings (`settings`), the noise estimate (`noise`), the test
of one phase (`phase`) and the study's chain of phases with its final pick (`study`). Pure
functions of data frames: the sweep asks them after each phase and the report renders their
answer, so the two always agree.
"""
