import numpy as np
import pandas as pd

from models.bias import answered_soon, surveyed_nps


def test_answered_soon_by_hand():
    index = pd.MultiIndex.from_arrays(
        [pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01"]), ["C1", "C2", "C1"]], names=["as_of", "customer_id"]
    )
    rows = pd.DataFrame({"x": [1, 2, 3]}, index=index)
    surveys = pd.DataFrame(
        {"customer_id": ["C1", "C2"], "answered_at": pd.to_datetime(["2024-01-20 10:00", "2024-03-01 10:00"])}
    )
    assert answered_soon(rows, surveys).tolist() == [1, 0, 0]  # C1 answered 19 days after 01-01; C2 two months later


def test_surveyed_nps_by_hand():
    scores = pd.Series([10.0, 9.0, 8.0, 3.0, 10.0])
    segments = pd.Series(["a", "a", "a", "a", "b"])
    result = surveyed_nps(scores, segments)
    assert result["a"] == 25.0 and result["b"] == 100.0 and np.isclose(result["all"], 40.0)


def test_last_stated_score_is_the_answer_strictly_before_each_row():
    from models.bias import last_stated_score

    index = pd.MultiIndex.from_arrays(
        [pd.to_datetime(["2024-03-01", "2024-01-01", "2024-03-01", "2024-02-01"]), ["C1", "C1", "C2", "C1"]],
        names=["as_of", "customer_id"],
    )
    surveys = pd.DataFrame(
        {
            "customer_id": ["C1", "C1", "C2"],
            "answered_at": pd.to_datetime(["2024-01-10", "2024-02-01", "2024-03-01"]),
            "score": [3.0, 8.0, 9.0],
        }
    )
    stated = last_stated_score(pd.DataFrame({"x": range(4)}, index=index), surveys)
    np.testing.assert_array_equal(stated, [8.0, np.nan, np.nan, 3.0])  # an answer at the very as_of is not yet known


def survey_panel(customers: int, months: int, seed: int):
    """Customers whose chance of answering rises with a satisfaction that behaviour shows only partly."""
    from types import SimpleNamespace

    rng = np.random.default_rng(seed)
    satisfaction = rng.normal(0, 1, customers)
    ids = np.array([f"C{i}" for i in range(customers)])
    churn_rows, answers = [], []
    for month in range(months):
        as_of = pd.Timestamp("2024-01-01") + pd.DateOffset(months=month)
        behaviour = satisfaction + rng.normal(0, 1.2, customers)
        churn_rows.append(pd.DataFrame({"as_of": as_of, "customer_id": ids, "signal": behaviour}))
        answering = rng.random(customers) < 0.3 / (1 + np.exp(1.5 - 1.5 * satisfaction))
        score = np.clip(np.round(6 + 2 * satisfaction[answering] + rng.normal(0, 1, answering.sum())), 0, 10)
        answers.append(
            pd.DataFrame(
                {
                    "customer_id": ids[answering],
                    "answered_at": as_of + pd.Timedelta(days=3),
                    "score": score,
                    "signal": behaviour[answering],
                }
            )
        )
    churn = pd.concat(churn_rows).set_index(["as_of", "customer_id"])
    surveys = pd.concat(answers, ignore_index=True)
    rows = surveys.assign(as_of=surveys["answered_at"].dt.normalize()).set_index(["as_of", "customer_id"])
    population_mean = float(np.mean(np.clip(6 + 2 * satisfaction, 0, 10)))
    return churn, rows, SimpleNamespace(surveys=surveys[["customer_id", "answered_at", "score"]]), population_mean


def test_response_weights_undo_most_of_the_bias_toward_happy_answerers():
    from models.bias import response_weights
    from models.training import ModelSettings

    churn, rows, tables, population_mean = survey_panel(customers=3000, months=12, seed=0)
    weights = response_weights(churn, rows, tables, ModelSettings(seed=0))
    raw_bias = rows["score"].mean() - population_mean
    corrected_bias = np.average(rows["score"], weights=weights) - population_mean
    assert raw_bias > 0.5  # the generated survey really is biased
    assert abs(corrected_bias) < 0.5 * raw_bias
    low, high = rows["score"] <= 4, rows["score"] >= 8
    assert weights[low.to_numpy()].mean() > 1.5 * weights[high.to_numpy()].mean()
