"""BG/NBD ("buy till you die", Fader, Hardie & Lee 2005): each customer buys at a Poisson rate and may
drop out after any purchase, both rates varying across customers (gamma and beta mixing).

Fitted by maximum likelihood with SciPy on a customer's repeat purchase days `frequency` (x), the
days between their first and last purchase `recency` (t_x) and their age `T` (days from the first
purchase to the cutoff). Customers with the same (x, t_x, T) are counted once, and the four
population parameters are fitted on an evenly spread sample of at most FIT_CUSTOMERS customers, so
a fit takes a fraction of a second at any size. Pure NumPy/SciPy: no sampler, no compilation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

PENALTY = 1e-4  # a whisper of L2 on the log-parameters keeps the fit finite when one of them is barely identified
FIT_CUSTOMERS = 20_000  # four population parameters; more customers change them in the third digit


@dataclass(frozen=True)
class BgNbd:
    """Fitted parameters: purchase rates ~ Gamma(r, alpha), dropout probability ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float

    def probability_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(the customer has not dropped out by T)."""
        odds = np.where(x > 0, self.a / (self.b + x - 1) * ((self.alpha + T) / (self.alpha + t_x)) ** (self.r + x), 0.0)
        return 1.0 / (1.0 + odds)

    def probability_no_purchase(self, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(no purchase in (T, T + t]): gone, or alive and the Poisson clock stays silent.

        Dropout only happens at a purchase, so an alive customer with no purchase stays alive; given
        the history, their rate is Gamma(r + x, alpha + T), which makes silence for t days
        ((alpha + T) / (alpha + T + t)) ** (r + x) likely.
        """
        alive = self.probability_alive(x, t_x, T)
        return 1.0 - alive + alive * ((self.alpha + T) / (self.alpha + T + t)) ** (self.r + x)

    def expected_purchases(self, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """E[purchases in (T, T + t]] given the history (equation 10 of the paper)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = t / (alpha + T + t)
        growth = 1.0 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
        return (a + b + x - 1) / (a - 1) * growth * self.probability_alive(x, t_x, T)


def log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray) -> float:
    r, alpha, a, b = np.exp(params)
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    silent = -(r + x) * np.log(alpha + T)
    dropped = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + t_x), -np.inf)
    return float(np.sum(weights * (common + np.logaddexp(silent, dropped))))


def fit_bg_nbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BgNbd | None:
    """Maximum-likelihood BG/NBD, or None when nobody has bought twice (dropout cannot be told from a slow rate)."""
    history = pd.DataFrame({"x": np.asarray(x, float), "t_x": np.asarray(t_x, float), "T": np.asarray(T, float)})
    history = history[history["T"] > 0]
    history = history.iloc[:: -(-len(history) // FIT_CUSTOMERS) or 1]
    if history.empty or not (history["x"] > 0).any():
        return None
    unique = history.value_counts().reset_index(name="weight")
    arrays = [unique[c].to_numpy(float) for c in ("x", "t_x", "T", "weight")]
    scale = float(unique["T"].max())
    arrays[1], arrays[2] = arrays[1] / scale, arrays[2] / scale

    def objective(params: np.ndarray) -> float:
        return -log_likelihood(params, *arrays) / arrays[3].sum() + PENALTY * float(params @ params)

    start = np.log([1.0, 1.0, 1.0, 1.0])
    fitted = minimize(objective, start, method="L-BFGS-B", bounds=[(-12, 12)] * 4)
    r, alpha, a, b = np.exp(fitted.x)
    return BgNbd(r=float(r), alpha=float(alpha * scale), a=float(a), b=float(b))


def rhythm_anchor(as_of: pd.Timestamp) -> pd.Timestamp:
    """The first day of `as_of`'s month. BG/NBD's four parameters describe the whole customer base and move
    slowly, so one fit on the orders before this day serves every date in the month: churn rows at
    monthly cutoffs, survey answers on any day, and scoring all use the same rule, and none sees an
    order at or after its own date."""
    return as_of.normalize().replace(day=1)
