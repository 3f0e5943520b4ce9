import math

from models.gate import GateSettings, gate_decision

GATE = GateSettings(min_improvement=0.01)


def test_first_model_beating_baselines_is_promoted():
    decision = gate_decision("roc_auc", 0.80, None, {"recency_rule": 0.70, "logistic_regression": 0.75}, GATE)
    assert (
        decision.promote
        and decision.reason == "roc_auc 0.8000 beats no champion yet, recency_rule 0.7000, logistic_regression 0.7500"
    )


def test_losing_to_a_baseline_blocks_promotion():
    decision = gate_decision("roc_auc", 0.74, None, {"recency_rule": 0.70, "logistic_regression": 0.75}, GATE)
    assert not decision.promote and "does not beat baseline logistic_regression (0.7500)" in decision.reason


def test_the_champion_must_be_beaten_by_the_margin():
    assert not gate_decision("roc_auc", 0.805, 0.80, {}, GATE).promote
    assert gate_decision("roc_auc", 0.81, 0.80, {}, GATE).promote
    assert "not at least 0.0100 above the champion's 0.8000" in gate_decision("roc_auc", 0.805, 0.80, {}, GATE).reason


def test_baselines_can_be_waived_and_unmeasurable_metrics_never_promote():
    assert gate_decision("roc_auc", 0.60, None, {"recency_rule": 0.70}, GateSettings(must_beat_baselines=False)).promote
    assert not gate_decision("spearman", math.nan, None, {}, GATE).promote
