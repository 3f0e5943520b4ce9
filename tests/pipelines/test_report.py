"""The priority list and the report's wording, on hand-made scores."""

import numpy as np
import pandas as pd

from features.formats import Formats
from models.scoring import Scored
from pipelines.config import Config
from pipelines.report import priority_list, priority_row


def scored(probabilities, values, control=None) -> Scored:
    count = len(probabilities)
    predictions = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(count)],
            "as_of": pd.Timestamp("2025-06-01"),
            "churn_probability": probabilities,
            "churn_risk": ["high" if p >= 0.3 else "low" for p in probabilities],
            "status": "active",
            "satisfaction_score": 7.0,
            "reason_1": "3 late deliveries in the last 90 days (+12.0 pts churn risk)",
            "reason_2": "",
            "reason_3": "",
            "next_action": "Apologise",
            "control_group": control or [False] * count,
        }
    )
    return Scored(predictions, pd.DataFrame(), "spend_365d", np.asarray(values, dtype=float))


CUSTOMERS = pd.DataFrame(
    {"customer_id": ["C0", "C1", "C2"], "segment": ["smb", None, "consumer"], "manager": ["Aino", "Ben", None]}
)


def test_the_list_is_ranked_by_value_at_risk_not_probability():
    ranked = priority_list(scored([0.9, 0.1, 0.5], [100, 5000, 1000]), CUSTOMERS, "manager", None)
    assert ranked["customer_id"].tolist() == ["C2", "C1", "C0"]
    assert ranked["value_at_risk"].tolist() == [500, 500, 90]
    assert ranked["owner"].fillna("-").tolist() == ["-", "Ben", "Aino"]
    assert ranked["segment"].fillna("-").tolist() == ["consumer", "-", "smb"]


def test_a_customer_with_no_value_ranks_last_whatever_the_probability():
    ranked = priority_list(scored([0.99, 0.05], [0, 200]), CUSTOMERS, None, None)
    assert ranked["customer_id"].tolist() == ["C1", "C0"] and ranked["owner"].isna().all()


def test_change_is_against_the_previous_run_and_missing_for_new_customers():
    previous = scored([0.2, 0.3], [1, 1]).predictions
    ranked = priority_list(scored([0.5, 0.1, 0.4], [1, 1, 1]), CUSTOMERS, None, previous).set_index("customer_id")
    assert ranked.loc["C0", "churn_change"] == 0.3 and np.isclose(ranked.loc["C1", "churn_change"], -0.2)
    assert np.isnan(ranked.loc["C2", "churn_change"])


def test_a_control_customer_is_listed_but_left_untouched():
    ranked = priority_list(scored([0.9, 0.1], [100, 100], control=[True, False]), CUSTOMERS, None, None)
    rows = [priority_row(row, Config(), Formats("en")) for row in ranked.to_dict("records")]
    assert rows[0]["control"] and rows[0]["action"] == "control group: leave untouched"
    assert rows[1]["action"] == "Apologise" and rows[1]["value_at_risk"] == "€10"


def test_finnish_rows_use_finnish_words_and_formats():
    ranked = priority_list(scored([0.456], [12345.6]), CUSTOMERS, None, None)
    (row,) = [priority_row(row, Config(language="fi"), Formats("fi")) for row in ranked.to_dict("records")]
    assert row["status"] == "aktiivinen" and row["churn"] == "45,6\u00a0%" and row["value"] == "12\u00a0346\u00a0€"
