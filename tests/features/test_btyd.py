"""BG/NBD fitted by maximum likelihood recovers the parameters that generated purchases, and its
conditional expectations agree with simulation."""

import numpy as np
import pandas as pd
import pytest

from features.btyd import BgNbd, fit_bg_nbd, rhythm_anchor
from features.builders import base_rhythms
from tests.conftest import tiny_tables

TRUE = BgNbd(r=0.8, alpha=30.0, a=0.9, b=3.0)


def simulated(model: BgNbd, customers: int, days: float, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """(x, t_x, T) of customers whose first purchase is at day 0, watched for `days`, with each one's rate,
    dropout chance and whether they dropped out (which BG/NBD allows only right after a repeat purchase)."""
    rates = rng.gamma(model.r, 1 / model.alpha, customers)
    dropout = rng.beta(model.a, model.b, customers)
    repeats, last, dropped = watched(rates, dropout, days, rng)
    return repeats, last, np.full(customers, days), rates, dropout, dropped


def watched(
    rates: np.ndarray, dropout: np.ndarray, days: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    # After T, a customer still in goes on buying and maybe dropping out (the clock is memoryless); one who dropped
    # never buys.
    future = np.zeros(len(x))
    future[~dropped] = watched(rates[~dropped], dropout[~dropped], horizon, rng)[0]
    bought_nothing = future == 0
    no_purchase = TRUE.probability_no_purchase(horizon, x, t_x, T)
    expected = TRUE.expected_purchases(horizon, x, t_x, T)
    assert no_purchase.mean() == pytest.approx(bought_nothing.mean(), abs=0.01)
    assert expected.mean() == pytest.approx(future.mean(), rel=0.05)
    deciles = pd.qcut(no_purchase, 10, labels=False, duplicates="drop")
    by_decile = (
        pd.DataFrame({"predicted": no_purchase, "observed": bought_nothing, "decile": deciles}).groupby("decile").mean()
    )
    assert (by_decile["predicted"] - by_decile["observed"]).abs().max() < 0.04


def test_nobody_buying_twice_gives_no_model():
    assert fit_bg_nbd(np.zeros(5), np.zeros(5), np.full(5, 30.0)) is None


def test_one_fit_serves_a_month_and_sees_nothing_from_it():
    assert rhythm_anchor(pd.Timestamp("2024-03-17 15:00")) == pd.Timestamp("2024-03-01")
    orders = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(8)],
            "customer_id": ["C1", "C1", "C1", "C2", "C2", "C3", "C3", "C2"],
            "ordered_at": [
                "2024-01-02",
                "2024-01-20",
                "2024-02-03",
                "2024-01-05",
                "2024-02-10",
                "2024-01-07",
                "2024-02-25",
                "2024-03-02",
            ],
            "amount": 1.0,
        }
    )
    in_march = base_rhythms(tiny_tables(orders=orders), [pd.Timestamp("2024-03-20"), pd.Timestamp("2024-03-03")])
    # Orders before March 1st only: x = (2, 1, 1) repeat days, t_x = (32, 36, 49), T = (59, 56, 54) days at March 1st.
    assert list(in_march) == [pd.Timestamp("2024-03-01")]
    assert in_march[pd.Timestamp("2024-03-01")] == fit_bg_nbd(
        np.array([2.0, 1.0, 1.0]), np.array([32.0, 36.0, 49.0]), np.array([59.0, 56.0, 54.0])
    )


def test_the_gradient_is_the_derivative_of_the_likelihood():
    from scipy.optimize import check_grad

    from features.btyd import log_likelihood

    x, t_x, T, *_ = simulated(TRUE, 300, 100.0, np.random.default_rng(3))
    weights = np.ones(300)
    for params in (np.log([0.8, 0.3, 0.9, 3.0]), np.log([2.0, 1.5, 0.2, 0.7])):
        error = check_grad(
            lambda p: log_likelihood(p, x, t_x / 100, T / 100, weights)[0],
            lambda p: log_likelihood(p, x, t_x / 100, T / 100, weights)[1],
            params,
        )
        assert error < 1e-4 * np.linalg.norm(log_likelihood(params, x, t_x / 100, T / 100, weights)[1])
