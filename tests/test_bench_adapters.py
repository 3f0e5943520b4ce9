"""The real-data adapters, on small hand-made files shaped like the originals."""

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from adapters import olist_classified_reviews, uci_online_retail, write_tables

from features.loaders import load_tables


def test_uci_invoices_become_orders_without_credit_notes_or_anonymous_lines(tmp_path):
    pd.DataFrame(
        {
            "Invoice": ["1", "1", "2", "C3", "4"],
            "StockCode": ["a", "b", "a", "a", "a"],
            "Description": ["x"] * 5,
            "Quantity": pd.array([2, 1, 5, -1, 3], dtype="Int64"),
            "InvoiceDate": [
                "2010-01-05 10:00",
                "2010-01-05 10:00",
                "2010-02-01 09:00",
                "2010-02-03 09:00",
                "2010-03-01 09:00",
            ],
            "Price": [1.5, 4.0, 1.0, 1.0, 2.0],
            "Customer ID": pd.array([7, 7, 8, 7, None], dtype="Int64"),
            "Country": ["UK", "UK", "FI", "UK", "UK"],
        }
    ).to_parquet(tmp_path / "online_retail_II_2009_2010.parquet")
    pd.DataFrame(
        {
            "InvoiceNo": ["2", "5"],
            "StockCode": ["a", "a"],
            "Description": ["x", "x"],
            "Quantity": [5, 1],
            "InvoiceDate": pd.to_datetime(["2010-02-01 09:00", "2011-01-10 12:00"]),
            "UnitPrice": [1.0, 9.99],
            "CustomerID": [8.0, 7.0],
            "Country": ["FI", "UK"],
        }
    ).to_parquet(tmp_path / "online_retail_2010_2011.parquet")
    tables = uci_online_retail(tmp_path)
    orders = tables["orders"].set_index("order_id")
    assert sorted(orders.index) == [
        "1",
        "2",
        "5",
    ]  # credit note C3 and the line without a customer are left out; invoice 2 once
    assert (
        orders.loc["1", "amount"] == 7.0 and orders.loc["2", "amount"] == 5.0 and orders.loc["1", "customer_id"] == "7"
    )
    customers = tables["customers"].set_index("customer_id")
    assert (
        customers.loc["7", "signup_date"] == pd.Timestamp("2010-01-05 10:00") and customers.loc["8", "country"] == "FI"
    )
    loaded = load_tables(write_tables(tables, tmp_path / "contract"), "nps")
    assert loaded.event_sources == ("orders",)


def test_olist_orders_become_customers_orders_and_csat_surveys(tmp_path):
    pd.DataFrame(
        {
            "id": [1, 2],
            "order_status": ["delivered", "canceled"],
            "order_products_value": [89.99, 20.0],
            "order_freight_value": [10.01, 5.0],
            "order_items_qty": [1, 2],
            "order_sellers_qty": [1, 1],
            "order_purchase_timestamp": ["2017-08-30 11:41:01", "2017-09-01 08:00:00"],
            "order_estimated_delivery_date": ["2017-09-21 00:00:00", "2017-09-20 00:00:00"],
            "order_delivered_customer_date": ["2017-09-08 20:35:27", None],
            "customer_state": ["MG", "SP"],
            "product_category_name": ["beleza_saude", "esporte"],
            "product_photos_qty": [3, 1],
            "review_score": [5, 1],
            "review_comment_message": ["tudo certo", "nunca chegou"],
            "review_creation_date": ["2017-09-09 00:00:00", "2017-09-21 00:00:00"],
        }
    ).to_csv(tmp_path / "olist_classified_public_dataset.csv", index=False)
    tables = olist_classified_reviews(tmp_path)
    orders = tables["orders"].set_index("order_id")
    assert (
        orders.loc["1", "amount"] == pytest.approx(100.0)
        and orders.loc["2", "status"] == "cancelled"
        and pd.isna(orders.loc["2", "delivered_at"])
    )
    assert tables["customers"].set_index("customer_id").loc["1", "estimated_delivery_days"] == pytest.approx(
        21.514, abs=1e-3
    )
    assert tables["surveys"]["score"].tolist() == [5.0, 1.0] and "review_comment_message" not in str(tables)
    loaded = load_tables(write_tables(tables, tmp_path / "contract"), "csat")
    assert len(loaded.surveys) == 2
