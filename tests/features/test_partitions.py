"""A partition of customers read from table files on its own holds exactly its customers' rows, and the two
things of the whole base it cannot see alone, the brand's mood and BG/NBD, add up from every partition's parts to
the values worked out over all tables at once."""

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from features.btyd import buyers_by_anchor, sampled_histories
from features.builders import (
    FeatureSettings,
    base_rhythms,
    brand_moods,
    brand_parts,
    customer_spans,
    fitted_rhythms,
    moods_from_parts,
    rhythm_anchors,
)
from features.contract import ContractError, trimmed_ids, validated_partition
from features.loaders import Partition, read_folder
from features.sentiment import LexiconScorer, with_sentiment
from features.tables import partition_numbers

DATES = [pd.Timestamp("2024-05-01"), pd.Timestamp("2024-11-17"), pd.Timestamp("2025-06-30")]


@pytest.fixture(scope="module", params=["parquet", "csv"])
def world_files(small_world, tmp_path_factory, request):
    folder = tmp_path_factory.mktemp(request.param)
    for name, frame in small_world.tables.items():
        if request.param == "parquet":
            frame.to_parquet(folder / f"{name}.parquet", index=False)
        else:
            frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def test_each_partition_holds_its_customers_rows_with_their_row_numbers_in_the_file(world_files):
    whole = read_folder(world_files)
    parts = [read_folder(world_files, Partition(k, 3)) for k in range(3)]
    for name, frame in whole.items():
        numbers = partition_numbers(trimmed_ids(frame["customer_id"]), 3)
        numbers[frame["customer_id"].isna().to_numpy()] = 0  # brand-wide posts: in the first partition
        for k, part in enumerate(parts):
            pdt.assert_frame_equal(part[name], frame[numbers == k], check_index_type=False)
    assert whole["mentions"]["customer_id"].isna().any()


def test_an_error_in_a_partition_names_the_row_of_the_file(small_world, tmp_path):
    orders = small_world.tables["orders"].copy()
    orders.loc[700, "amount"], orders.loc[700, "status"] = -3.0, "completed"
    small_world.tables["customers"].to_parquet(tmp_path / "customers.parquet", index=False)
    orders.to_parquet(tmp_path / "orders.parquet", index=False)
    holder = next(Partition(k, 4) for k in range(4) if Partition(k, 4).holds(orders["customer_id"].iloc[[700]])[0])
    with pytest.raises(ContractError, match=r"orders: column 'amount' has 1 negative amounts .*\(rows 701: -3.0\)"):
        validated_partition(read_folder(tmp_path, holder), "nps")


def test_a_partition_leaves_event_ids_repeated_across_partitions_to_the_whole_source(small_world):
    orders = small_world.tables["orders"].copy()
    orders.loc[orders.index[1], "order_id"] = orders["order_id"].iloc[0]
    customers = small_world.tables["customers"]
    in_first = Partition(0, 2).holds(orders["customer_id"])
    alone = validated_partition({"customers": customers, "orders": orders[in_first]}, "nps")
    assert len(alone.orders) == in_first.sum()
    with pytest.raises(ContractError, match="customers: column 'customer_id' has 2 duplicated ids"):
        validated_partition({"customers": pd.concat([customers, customers.iloc[:1]])}, "nps")


@pytest.mark.parametrize("count", [1, 3, 7])
def test_the_brand_mood_from_every_partitions_parts_is_the_mood_over_all_mentions(world_files, count):
    scorer, settings = LexiconScorer.shipped(), FeatureSettings()
    whole = with_sentiment(validated_partition(read_folder(world_files), "nps"), scorer)
    parts = [
        brand_parts(
            with_sentiment(validated_partition(read_folder(world_files, Partition(k, count)), "nps"), scorer),
            DATES,
            settings,
        )
        for k in range(count)
    ]
    expected = brand_moods(whole, DATES, settings)
    assert expected.notna().all().all() and len(expected) == len(DATES)
    pdt.assert_frame_equal(moods_from_parts(parts, DATES, settings), expected, check_exact=True)


@pytest.mark.parametrize("count", [2, 5])
def test_bg_nbd_from_every_partitions_sample_is_the_whole_bases_fit(small_tables, count):
    anchors = rhythm_anchors(DATES)
    spans = [customer_spans(part, anchors) for part in small_tables.partitions(count)]
    buyers = sum(buyers_by_anchor(s, anchors) for s in spans)
    assert (buyers == buyers_by_anchor(customer_spans(small_tables, anchors), anchors)).all()
    fitted = fitted_rhythms([sampled_histories(s, buyers, anchors) for s in spans], anchors)
    expected = base_rhythms(small_tables, DATES)
    assert fitted == expected and all(fit is not None for fit in expected.values())
    assert len({np.round(fit.r, 6) for fit in expected.values()}) == len(anchors)  # one fit per month, not one reused


def test_a_table_without_customer_id_is_named_by_the_first_partition(small_world, tmp_path):
    small_world.tables["customers"].to_csv(tmp_path / "customers.csv", index=False)
    small_world.tables["orders"].drop(columns="customer_id").to_parquet(tmp_path / "orders.parquet", index=False)
    assert all(len(read_folder(tmp_path, Partition(k, 3))["orders"]) == 0 for k in (1, 2))
    with pytest.raises(ContractError, match="orders: column 'customer_id' is missing"):
        validated_partition(read_folder(tmp_path, Partition(0, 3)), "nps")
