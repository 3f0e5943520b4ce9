import numpy as np
import pandas as pd

from models.bias import answered_soon, surveyed_nps


def test_answered_soon_by_hand():
    index = pd.MultiIndex.from_arrays(
        [pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01"]), ["C1", "C2", "C1"]], names=["as_of", "customer_id"]
    )
    rows = pd.DataFrame({"x": [1, 2, 3]}, index=index)
    surveys = pd.DataFrame({"customer_id": ["C1", "C2"], "answered_at": pd.to_datetime(["2024-01-20 10:00", "2024-03-01 10:00"])})
    assert answered_soon(rows, surveys).tolist() == [1, 0, 0]  # C1 answered 19 days after 01-01; C2 two months later


def test_surveyed_nps_by_hand():
    scores = pd.Series([10.0, 9.0, 8.0, 3.0, 10.0])
    segments = pd.Series(["a", "a", "a", "a", "b"])
    result = surveyed_nps(scores, segments)
    assert result["a"] == 25.0 and result["b"] == 100.0 and np.isclose(result["all"], 40.0)
