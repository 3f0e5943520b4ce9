"""On a Dask cluster of two worker processes, features, training rows and predictions equal the single-process run."""

import shutil

import pandas as pd
import pandas.testing as pdt
import pytest

from features.builders import FeatureSettings
from features.contract import ContractError
from features.labels import ChurnDefinition
from features.loaders import load_tables
from features.sentiment import LexiconScorer, with_sentiment
from features.training_sets import build_training_set, churn_rows, labelled_cutoffs
from models.scoring import combined, score_customers
from models.tracking.registry import CHURN_MODEL, SATISFACTION_MODEL, load_champion
from pipelines.cli import main
from pipelines.config import load_config
from pipelines.distributed import (
    dask_client,
    on_workers,
    rows_by_partition,
    scored_by_chunk,
    training_sets_by_partition,
)
from pipelines.executors import OnDask, Reading
from tests.pipelines.conftest import CONFIG

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    with dask_client("local-cluster", workers=2) as client:
        yield client


@pytest.fixture(scope="module")
def tables(demo_run):
    return with_sentiment(load_tables(demo_run[0] / "world", "nps"), LexiconScorer.shipped())


@pytest.fixture(scope="module")
def definition(tables):
    return ChurnDefinition().resolved(tables)


@pytest.mark.parametrize("as_of", ["2025-03-01", "2025-12-29"])
def test_features_per_partition_equal_the_single_process_build(client, tables, definition, as_of):
    single = churn_rows(tables, pd.Timestamp(as_of), definition, FeatureSettings())
    pdt.assert_frame_equal(
        rows_by_partition(client, tables, pd.Timestamp(as_of), definition, FeatureSettings(), partitions=5), single
    )
    assert len(client.scheduler_info()["workers"]) == 2


def test_training_rows_per_partition_equal_the_single_process_rows(client, tables, definition, demo_run):
    config = load_config(demo_run[0] / "config.yaml")
    cutoffs = labelled_cutoffs(tables, config.cutoffs, definition)[-4:]
    single = build_training_set(tables, cutoffs, definition, FeatureSettings())
    spread = training_sets_by_partition(client, tables, cutoffs, definition, FeatureSettings(), partitions=3)
    pdt.assert_frame_equal(spread.churn, single.churn)
    pdt.assert_frame_equal(spread.satisfaction, single.satisfaction)


def test_training_rows_from_partitions_the_workers_read_equal_the_single_process_rows(
    client, tables, definition, demo_run
):
    config = load_config(demo_run[0] / "config.yaml")
    cutoffs = labelled_cutoffs(tables, config.cutoffs, definition)[-3:]
    single = build_training_set(tables, cutoffs, definition, FeatureSettings())
    where = OnDask(client, 3, Reading(demo_run[0] / "world", "nps", "error", LexiconScorer.shipped()))
    spread = where.training_rows(tables, cutoffs, definition, FeatureSettings())
    assert where.partitions_on_workers is not None
    pdt.assert_frame_equal(spread.churn, single.churn)
    pdt.assert_frame_equal(spread.satisfaction, single.satisfaction)
    now = pd.Timestamp("2025-10-06")
    pdt.assert_frame_equal(
        where.rows(tables, now, definition, FeatureSettings()), churn_rows(tables, now, definition, FeatureSettings())
    )


def test_scores_and_reasons_per_chunk_equal_the_single_process_scores(client, tables, demo_run):
    work = demo_run[0] / "work"
    churn, satisfaction = load_champion(work, CHURN_MODEL), load_champion(work, SATISFACTION_MODEL)
    rows = churn_rows(tables, tables.data_end, churn.recipe.churn, churn.recipe.features)
    arguments = (
        tables.data_end,
        churn,
        satisfaction,
        churn.recipe.catalogue,
        load_config(demo_run[0] / "config.yaml").scoring,
        "en",
    )
    single, spread = score_customers(rows, *arguments), scored_by_chunk(client, rows, *arguments, chunks=4)
    pdt.assert_frame_equal(spread.predictions, single.predictions)
    pdt.assert_frame_equal(spread.pain_points, single.pain_points, check_exact=False, rtol=1e-9)


def test_the_cli_on_a_local_cluster_writes_the_predictions_of_a_local_run(demo_run, tmp_path):
    root = demo_run[0]
    for name in ("local", "dask"):
        shutil.copytree(root / "work", tmp_path / name)
    on_dask = tmp_path / "dask.yaml"
    on_dask.write_text(CONFIG + "executor: {kind: dask, address: local-cluster, workers: 2, partitions: 3}\n")
    for name, config in (("dask", on_dask), ("local", root / "config.yaml")):
        assert (
            main(
                [
                    "score",
                    "--as-of",
                    "2025-10-06",
                    "--config",
                    str(config),
                    "--data",
                    str(root / "world"),
                    "--out",
                    str(tmp_path / name),
                ]
            )
            == 0
        )
    folder = "predictions/as_of=2025-10-06/predictions.parquet"
    pdt.assert_frame_equal(pd.read_parquet(tmp_path / "dask" / folder), pd.read_parquet(tmp_path / "local" / folder))


def test_workers_reading_their_own_partitions_score_as_one_process_does(client, tables, demo_run):
    work = demo_run[0] / "work"
    churn, satisfaction = load_champion(work, CHURN_MODEL), load_champion(work, SATISFACTION_MODEL)
    as_of, recipe = pd.Timestamp("2025-10-06"), churn.recipe
    arguments = (as_of, churn, satisfaction, recipe.catalogue, load_config(demo_run[0] / "config.yaml").scoring, "en")
    single = score_customers(churn_rows(tables, as_of, recipe.churn, recipe.features), *arguments)
    source = on_workers(client, demo_run[0] / "world", 4, "nps", pd.Timestamp.now(), LexiconScorer.shipped())
    assert source.data_end == tables.data_end
    spread = combined(client.gather(source.scored(source.rows(as_of, recipe.churn, recipe.features), *arguments)))
    predictions = spread.predictions.sort_values("customer_id", ignore_index=True)
    pdt.assert_frame_equal(predictions, single.predictions.sort_values("customer_id", ignore_index=True))
    pdt.assert_frame_equal(spread.pain_points, single.pain_points, check_exact=False, rtol=1e-9)


def test_an_event_id_repeated_in_two_partitions_stops_the_load(client, demo_run, tmp_path):
    shutil.copytree(demo_run[0] / "world", tmp_path / "world")
    orders = pd.read_parquet(tmp_path / "world" / "orders.parquet")
    first = orders["customer_id"].iloc[0]
    other = orders.index[orders["customer_id"] != first][0]
    orders.loc[other, "order_id"] = orders["order_id"].iloc[0]
    orders.to_parquet(tmp_path / "world" / "orders.parquet", index=False)
    with pytest.raises(ContractError, match=r"orders: column 'order_id' has 2 duplicated ids \(rows 1, "):
        on_workers(client, tmp_path / "world", 4, "nps", pd.Timestamp.now(), LexiconScorer.shipped())


def test_loading_on_workers_names_each_problem_once_and_logs_their_warnings(client, demo_run, tmp_path, caplog):
    shutil.copytree(demo_run[0] / "world", tmp_path / "world")
    customers = pd.read_parquet(tmp_path / "world" / "customers.parquet")
    customers.loc[0, "signup_date"] = pd.Timestamp("2025-12-01")  # after their orders: kept, with a warning
    customers.to_parquet(tmp_path / "world" / "customers.parquet", index=False)
    with caplog.at_level("WARNING", logger="pipelines.distributed"):
        on_workers(client, tmp_path / "world", 4, "nps", pd.Timestamp.now(), LexiconScorer.shipped())
    assert [r.getMessage() for r in caplog.records if "before their customer's signup_date" in r.getMessage()]
    (tmp_path / "world" / "orders.csv").write_text("order_id\n")
    with pytest.raises(ContractError) as stopped:
        on_workers(client, tmp_path / "world", 4, "nps", pd.Timestamp.now(), LexiconScorer.shipped())
    assert [p.message for p in stopped.value.problems] == ["has both orders.csv and orders.parquet: keep one."]
    with pytest.raises(ContractError, match="is not a folder of table files"):
        on_workers(client, tmp_path / "nowhere", 4, "nps", pd.Timestamp.now(), LexiconScorer.shipped())
