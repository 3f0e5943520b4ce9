from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from features.contract import validated_tables
from features.tables import stable_hashes
from tests.features import reference_builders


def test_fingerprint_follows_content_not_layout(small_world):
    tables = validated_tables(small_world.tables, "nps")
    again = validated_tables({name: frame.copy() for name, frame in small_world.tables.items()}, "nps")
    assert tables.fingerprint == again.fingerprint
    halves = pd.concat([tables.orders.iloc[:100], tables.orders.iloc[100:]])
    assert replace(tables, orders=halves).fingerprint == tables.fingerprint
    changed = tables.orders.copy()
    changed.loc[changed.index[7], "amount"] += 0.01
    assert replace(tables, orders=changed).fingerprint != tables.fingerprint
    assert replace(tables, mentions=None).fingerprint != tables.fingerprint


@given(st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1), max_size=30))
def test_stable_hashes_are_pandas_hashes_of_the_ids_text(ids):
    """The hashes pick partitions and BG/NBD's draws: they must not change with how they are computed (numpy's
    fixed-width strings, hashed before, cut trailing NULs: such ids alone now hash as written)."""
    expected = pd.util.hash_array(np.array(ids, dtype=str), categorize=True) if ids else np.array([], dtype=np.uint64)
    assert stable_hashes(pd.Series(ids, dtype="str")).tolist() == expected.tolist()
    assert stable_hashes(pd.Series(["C1", "C2"])).tolist() == [12927426055305053718, 5726445593452473050]


def test_the_oracles_codes_map_back_to_ids(small_tables):
    coded = reference_builders.coded_tables(small_tables)
    orders = small_tables.orders
    assert coded.orders["customer_id"].dtype == float
    back = reference_builders.customer_ids(small_tables, pd.Index(coded.orders["customer_id"]))
    assert (back == orders["customer_id"].to_numpy()).all()
    unlinked = small_tables.mentions["customer_id"].isna()
    assert unlinked.any() and coded.mentions["customer_id"].isna().eq(unlinked).all()


def test_partitions_split_customers_and_their_rows_disjointly(small_tables):
    parts = list(small_tables.partitions(4))
    ids = [set(part.customers["customer_id"]) for part in parts]
    assert sum(len(i) for i in ids) == len(small_tables.customers) and set().union(*ids) == set(
        small_tables.customers["customer_id"]
    )
    for table in ("orders", "mentions"):
        assert all(set(getattr(part, table)["customer_id"]) <= i for part, i in zip(parts, ids, strict=True))
    assert sum(len(p.orders) for p in parts) == len(small_tables.orders)
    linked = small_tables.mentions["customer_id"].notna()
    assert not linked.all() and sum(len(p.mentions) for p in parts) == linked.sum()
    assert all(p.mentions_partial for p in parts) and not small_tables.mentions_partial
    assert [set(p.customers["customer_id"]) for p in small_tables.partitions(4)] == ids  # stable


def test_customer_codes_point_each_row_at_its_customer_and_follow_the_rows(small_tables):
    customers = small_tables.customers["customer_id"].to_numpy()
    codes = small_tables.customer_codes
    assert set(codes) == set(small_tables.present()) - {"customers"}
    orders = small_tables.orders
    assert (customers[codes["orders"]] == orders["customer_id"].to_numpy()).all()
    brand_wide = small_tables.mentions["customer_id"].isna().to_numpy()
    assert brand_wide.any() and (codes["mentions"][brand_wide] == -1).all()
    assert (customers[codes["mentions"][~brand_wide]] == small_tables.mentions["customer_id"][~brand_wide]).all()

    part = next(small_tables.partitions(3))
    assert (part.customers["customer_id"].to_numpy()[part.customer_codes["orders"]] == part.orders["customer_id"]).all()
    unlisted = replace(small_tables, customers=part.customers)
    outsiders = ~small_tables.orders["customer_id"].isin(part.customers["customer_id"]).to_numpy()
    assert outsiders.any() and (unlisted.customer_codes["orders"][outsiders] == -1).all()


def test_a_new_column_keeps_the_codes_and_a_new_customer_column_is_refused(small_tables):
    scored = small_tables.with_column("mentions", "sentiment", 0.5)
    assert scored.customer_codes is small_tables.customer_codes
    assert (scored.mentions["sentiment"] == 0.5).all() and "sentiment" not in small_tables.mentions
    with pytest.raises(ValueError, match="customer_id"):
        small_tables.with_column("orders", "customer_id", "C1")


def test_coded_events_carry_codes_with_brand_wide_posts_as_null(small_tables):
    coded = small_tables.coded_events
    assert set(coded) == set(small_tables.event_sources)
    mentions = coded["mentions"]
    assert "customer_id" not in mentions.column_names
    brand_wide = small_tables.mentions["customer_id"].isna().to_numpy()
    assert (mentions["code"].is_null().to_numpy(zero_copy_only=False) == brand_wide).all()
    assert (
        mentions["code"].to_numpy(zero_copy_only=False)[~brand_wide]
        == small_tables.customer_codes["mentions"][~brand_wide]
    ).all()
