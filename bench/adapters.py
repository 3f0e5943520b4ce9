"""Real public datasets mapped onto surveyless's input contract, so the pipeline itself runs on them.

    python bench/adapters.py uci ../shared/data/uci-online-retail OUT_FOLDER
    python bench/adapters.py olist ../shared/data/olist-classified-reviews OUT_FOLDER

Each adapter returns contract tables (customers, orders, surveys...); `write_tables` saves them as
`<table>.parquet`, a folder any surveyless command reads with `--data`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

UCI_COLUMNS = {"InvoiceNo": "Invoice", "UnitPrice": "Price", "CustomerID": "Customer ID"}


def uci_online_retail(folder: Path) -> dict[str, pd.DataFrame]:
    """UCI Online Retail II invoice lines -> customers and orders.

    An invoice is an order worth the sum of its lines. Credit notes (invoices starting with "C")
    are left out: they do not say which invoice they reverse, and counting them as orders would
    make a refund look like a purchase. Lines without a customer cannot be attributed and are
    dropped; the two yearly files overlap in December 2010, so repeated lines are dropped.
    """
    lines = pd.concat(
        [pd.read_parquet(path).rename(columns=UCI_COLUMNS) for path in sorted(Path(folder).glob("*.parquet"))],
        ignore_index=True,
    )
    lines = lines.dropna(subset=["Customer ID"])
    lines = lines[~lines["Invoice"].astype(str).str.startswith("C")]
    lines = pd.DataFrame(
        {
            "Invoice": lines["Invoice"].astype(str),
            "StockCode": lines["StockCode"].astype(str),
            "customer_id": lines["Customer ID"].astype("int64").astype(str),
            "ordered_at": pd.to_datetime(lines["InvoiceDate"]),
            "value": lines["Quantity"].astype(float) * lines["Price"].astype(float),
            "Country": lines["Country"],
        }
    ).drop_duplicates()  # after the two files' types agree, so the overlap is recognised
    orders = lines.groupby("Invoice", sort=False).agg(
        customer_id=("customer_id", "first"),
        ordered_at=("ordered_at", "min"),
        amount=("value", "sum"),
        country=("Country", "first"),
    )
    orders = orders.reset_index().rename(columns={"Invoice": "order_id"}).assign(amount=lambda o: o["amount"].round(2))
    customers = (
        orders.sort_values("ordered_at")
        .groupby("customer_id")
        .agg(signup_date=("ordered_at", "min"), country=("country", "first"))
        .reset_index()
    )
    return {
        "customers": customers,
        "orders": orders.drop(columns="country").sort_values("ordered_at", kind="stable").reset_index(drop=True),
    }


OLIST_ATTRIBUTES = (
    "freight_value",
    "items",
    "sellers",
    "product_category",
    "customer_state",
    "product_photos",
    "estimated_delivery_days",
)


def olist_classified_reviews(folder: Path) -> dict[str, pd.DataFrame]:
    """Olist orders with their review -> one customer per order, the order, and the review as a CSAT survey.

    The dataset has no customer id, so each order is its own customer; what was known at
    purchase (freight, items, sellers, category, state, photos, promised delivery time) becomes
    customer attributes, and the delivery itself an order with promised and actual delivery
    times. The review text is not used.
    """
    raw = pd.read_csv(next(Path(folder).glob("*.csv")))
    purchased = pd.to_datetime(raw["order_purchase_timestamp"])
    promised = pd.to_datetime(raw["order_estimated_delivery_date"])
    ids = raw["id"].astype(str)
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "signup_date": purchased,
            "freight_value": raw["order_freight_value"],
            "items": raw["order_items_qty"],
            "sellers": raw["order_sellers_qty"],
            "product_category": raw["product_category_name"],
            "customer_state": raw["customer_state"],
            "product_photos": raw["product_photos_qty"],
            "estimated_delivery_days": (promised - purchased).dt.total_seconds() / 86400,
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ids,
            "customer_id": ids,
            "ordered_at": purchased,
            "amount": raw["order_products_value"] + raw["order_freight_value"],
            "status": np.where(raw["order_status"] == "canceled", "cancelled", "completed"),
            "promised_at": promised,
            "delivered_at": pd.to_datetime(raw["order_delivered_customer_date"]),
        }
    )
    surveys = pd.DataFrame(
        {
            "customer_id": ids,
            "answered_at": pd.to_datetime(raw["review_creation_date"]),
            "score": raw["review_score"].astype(float),
        }
    )
    return {"customers": customers, "orders": orders, "surveys": surveys}


ADAPTERS = {"uci": uci_online_retail, "olist": olist_classified_reviews}


def write_tables(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", choices=sorted(ADAPTERS))
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    arguments = parser.parse_args()
    tables = ADAPTERS[arguments.dataset](arguments.source)
    write_tables(tables, arguments.out)
    print(", ".join(f"{name} {len(frame):,}" for name, frame in tables.items()), "->", arguments.out)


if __name__ == "__main__":
    main()
