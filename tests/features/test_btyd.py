"""BG/NBD fitted by maximum likelihood recovers the parameters that generated purchases, and its
conditional expectations agree with simulation."""

import numpy as np
import pandas as pd
import pytest

from features.btyd import BgNbd, fit_bg_nbd, purchase_history, rhythm_anchor, rhythm_model

TRUE = BgNbd(r=0.8, alpha=30.0, a=0.9, b=3.0)


def simulated(model: BgNbd, customers: int, days: float, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """(x, t_x, T) of customers whose first purchase is at day 0, watched for `days`, with each one's rate,
    dropout chance and whether they dropped out (which BG/NBD allows only right after a repeat purchase)."""
    rates = rng.gamma(model.r, 1 / model.alpha, customers)
    dropout = rng.beta(model.a, model.b, customers)
    repeats, last, dropped = watched(rates, dropout, days, rng)
    return repeats, last, np.full(customers, days), rates, dropout, dropped


def watched(rates: np.ndarray, dropout: np.ndarray, days: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Purchases within `days`, the time of the last one, and whether the customer dropped out."""
    purchases, last, dropped = np.zeros(len(rates)), np.zeros(len(rates)), np.zeros(len(rates), bool)
    for i in range(len(rates)):
        t = rng.exponential(1 / rates[i])
        while t <= days and not dropped[i]:
            purchases[i], last[i] = purchases[i] + 1, t
            dropped[i] = rng.random() < dropout[i]
            t += rng.exponential(1 / rates[i])
    return purchases, last, dropped


def test_maximum_likelihood_recovers_the_generating_parameters():
    x, t_x, T, *_ = simulated(TRUE, 8000, 365.0, np.random.default_rng(0))
    fitted = fit_bg_nbd(x, t_x, T)
    assert fitted.r == pytest.approx(TRUE.r, rel=0.15) and fitted.alpha == pytest.approx(TRUE.alpha, rel=0.2)
    assert fitted.a / (fitted.a + fitted.b) == pytest.approx(TRUE.a / (TRUE.a + TRUE.b), rel=0.2)  # mean dropout chance


def test_conditional_expectations_match_what_customers_then_did():
    rng = np.random.default_rng(1)
    x, t_x, T, rates, dropout, dropped = simulated(TRUE, 20000, 200.0, rng)
    horizon = 60.0
    # After T, a customer still in goes on buying and maybe dropping out (the clock is memoryless); one who dropped never buys.
    future = np.zeros(len(x))
    future[~dropped] = watched(rates[~dropped], dropout[~dropped], horizon, rng)[0]
    bought_nothing = future == 0
    no_purchase = TRUE.probability_no_purchase(horizon, x, t_x, T)
    expected = TRUE.expected_purchases(horizon, x, t_x, T)
    assert no_purchase.mean() == pytest.approx(bought_nothing.mean(), abs=0.01)
    assert expected.mean() == pytest.approx(future.mean(), rel=0.05)
    deciles = pd.qcut(no_purchase, 10, labels=False, duplicates="drop")
    by_decile = pd.DataFrame({"predicted": no_purchase, "observed": bought_nothing, "decile": deciles}).groupby("decile").mean()
    assert (by_decile["predicted"] - by_decile["observed"]).abs().max() < 0.04


def test_nobody_buying_twice_gives_no_model():
    assert fit_bg_nbd(np.zeros(5), np.zeros(5), np.full(5, 30.0)) is None


def test_inputs_by_hand():
    orders = pd.DataFrame({
        "customer_id": ["C1", "C1", "C1", "C2"],
        "ordered_at": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 15:00", "2024-01-11 09:00", "2024-01-21 09:00"]),
    })
    history = purchase_history(orders, pd.Timestamp("2024-02-01"))
    assert history.loc["C1"].tolist() == [1.0, 10.0, 31.0]  # two purchase days: one repeat, 10 days apart, first 31 days ago
    assert history.loc["C2"].tolist() == [0.0, 0.0, 11.0]


def test_one_fit_serves_a_month_and_sees_nothing_from_it():
    assert rhythm_anchor(pd.Timestamp("2024-03-17 15:00")) == pd.Timestamp("2024-03-01")
    orders = pd.DataFrame({"customer_id": ["C1", "C1", "C2", "C2", "C3"], "ordered_at": pd.to_datetime(["2024-01-02", "2024-01-20", "2024-01-05", "2024-02-10", "2024-03-02"])})
    in_march = rhythm_model(orders, pd.Timestamp("2024-03-20"))
    assert in_march == rhythm_model(orders[orders["ordered_at"] < "2024-03-01"], pd.Timestamp("2024-03-01"))
