import numpy as np
import pandas as pd
import pandas.testing as pdt

from features.contract import validated_tables
from features.synthetic import WorldSpec, generate_world


def test_same_seed_gives_the_same_world(small_world):
    again = generate_world(WorldSpec(customers=1500, seed=3))
    for name, frame in small_world.tables.items():
        pdt.assert_frame_equal(frame, again.tables[name])


def test_another_seed_gives_another_world(small_world):
    other = generate_world(WorldSpec(customers=1500, seed=4))
    assert not small_world.tables["orders"]["amount"].equals(other.tables["orders"]["amount"])


def test_world_meets_the_contract_and_has_every_table(small_world):
    tables = validated_tables(small_world.tables, "nps")
    assert set(tables.present()) == {
        "customers",
        "orders",
        "activities",
        "mentions",
        "surveys",
        "churn_events",
        "reviews",
    }
    tickets = tables.activities[tables.activities["type"].isin(["support_ticket", "complaint"])]
    assert tickets["reason"].notna().all() and tickets["text"].notna().all()
    assert tables.activities.loc[~tables.activities.index.isin(tickets.index), "reason"].isna().all()
    assert tables.reviews["rating"].between(1, 5).all() and tables.reviews["customer_id"].isna().mean() > 0.2
    assert tables.mentions["customer_id"].isna().mean() > 0.2
    assert tables.surveys["score"].between(0, 10).all()


def test_csat_world_uses_the_csat_scale():
    surveys = generate_world(WorldSpec(customers=400, seed=1), "csat").tables["surveys"]
    assert surveys["score"].between(1, 5).all() and surveys["score"].nunique() > 2


def mean_satisfaction(world) -> pd.Series:
    return world.truth["satisfaction"].groupby("customer_id")["satisfaction"].mean()


def test_less_satisfied_customers_churn_more_and_complain_more(small_world):
    satisfaction = mean_satisfaction(small_world)
    quartile = pd.qcut(satisfaction, 4, labels=False)
    left = small_world.truth["customers"].set_index("customer_id")["left_at"].notna()
    months = small_world.truth["satisfaction"].groupby("customer_id").size()
    activities = small_world.tables["activities"]
    complaints = (
        activities[activities["type"] == "complaint"]
        .groupby("customer_id")
        .size()
        .reindex(satisfaction.index, fill_value=0)
    )
    churn_by_quartile = left.reindex(satisfaction.index).groupby(quartile).mean()
    complaints_by_quartile = (complaints / months).groupby(quartile).mean()
    assert churn_by_quartile[0] > 2 * churn_by_quartile[3]
    assert complaints_by_quartile[0] > 2 * complaints_by_quartile[3]


def test_late_deliveries_knock_satisfaction_down(small_world):
    orders = small_world.tables["orders"]
    late = (orders["delivered_at"] > orders["promised_at"]).groupby(orders["customer_id"]).mean()
    baseline = small_world.truth["customers"].set_index("customer_id")["baseline_satisfaction"]
    drift = (mean_satisfaction(small_world) - baseline).reindex(late.index)
    assert late.corr(drift) < -0.15


def test_surveys_are_answered_more_by_the_satisfied(small_world):
    satisfaction = mean_satisfaction(small_world)
    answered = satisfaction.index.isin(small_world.tables["surveys"]["customer_id"])
    assert satisfaction[answered].mean() > satisfaction[~answered].mean() + 0.1


def test_scores_follow_latent_satisfaction(small_world):
    surveys = small_world.tables["surveys"]
    latent = mean_satisfaction(small_world).reindex(surveys["customer_id"]).to_numpy()
    assert np.corrcoef(latent, surveys["score"])[0, 1] > 0.5


def test_tickets_carry_every_planted_reason_and_low_reviews_exist(small_world):
    from features.synthetic import PLANTED_THEMES

    assert set(small_world.tables["activities"]["reason"].dropna()) == set(PLANTED_THEMES.values())
    assert (small_world.tables["reviews"]["rating"] <= 2).mean() > 0.05
