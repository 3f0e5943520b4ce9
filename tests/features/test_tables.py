from dataclasses import replace

import pandas as pd

from features.contract import validated_tables
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


def test_the_oracles_codes_map_back_to_ids(small_tables):
    coded = reference_builders.coded_tables(small_tables)
    orders = small_tables.orders
    assert coded.orders["customer_id"].dtype == float
    back = reference_builders.customer_ids(small_tables, pd.Index(coded.orders["customer_id"]))
    assert (back == orders["customer_id"].to_numpy()).all()
    unlinked = small_tables.mentions["customer_id"].isna()
    assert unlinked.any() and coded.mentions["customer_id"].isna().eq(unlinked).all()


def test_partitions_split_customers_disjointly_and_keep_every_mention(small_tables):
    parts = list(small_tables.partitions(4))
    ids = [set(part.customers["customer_id"]) for part in parts]
    assert sum(len(i) for i in ids) == len(small_tables.customers) and set().union(*ids) == set(
        small_tables.customers["customer_id"]
    )
    assert all(set(part.orders["customer_id"]) <= i for part, i in zip(parts, ids, strict=True)) and sum(
        len(p.orders) for p in parts
    ) == len(small_tables.orders)
    assert all(len(part.mentions) == len(small_tables.mentions) for part in parts)
    assert [set(p.customers["customer_id"]) for p in small_tables.partitions(4)] == ids  # stable
