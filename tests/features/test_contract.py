import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.contract import ContractError, distinct_count, trimmed_ids, validated_tables
from features.loaders import load_tables
from features.schema import ORDER_STATUSES

CUSTOMERS = pd.DataFrame({"customer_id": ["C1", "C2"], "signup_date": ["2024-01-01", "2024-02-01"]})
ORDERS = pd.DataFrame(
    {
        "order_id": ["O1", "O2", "O3"],
        "customer_id": ["C1", "C2", "C1"],
        "ordered_at": ["2024-03-01", "2024-03-02T10:00:00", "2024-03-05"],
        "amount": ["10.5", "20", "7"],
    }
)


def raw(**changes):
    tables = {"customers": CUSTOMERS, "orders": ORDERS}
    tables.update(changes)
    return {k: v for k, v in tables.items() if v is not None}


def test_valid_tables_are_typed():
    tables = validated_tables(raw(), "nps")
    assert tables.orders["amount"].tolist() == [10.5, 20.0, 7.0]
    assert pd.api.types.is_datetime64_any_dtype(tables.orders["ordered_at"])
    assert tables.event_sources == ("orders",)
    assert tables.data_end == pd.Timestamp("2024-03-06")


def test_event_ids_are_checked_then_dropped_and_customer_codes_stay():
    tables = validated_tables(raw(), "nps")
    assert "order_id" not in tables.orders and "customer_id" in tables.customers
    assert tables.customer_codes["orders"].tolist() == [0, 1, 0]
    renumbered = validated_tables(raw(orders=ORDERS.assign(order_id=["X", "Y", "Z"])), "nps")
    assert tables.fingerprint == renumbered.fingerprint


def test_allowed_values_are_read_without_case_or_padding_and_others_are_named():
    tables = validated_tables(raw(orders=ORDERS.assign(status=[" Returned", "COMPLETED ", None])), "nps")
    assert tables.orders["status"].tolist()[:2] == ["returned", "completed"] and pd.isna(tables.orders["status"][2])
    assert list(tables.orders["status"].cat.categories) == list(ORDER_STATUSES)
    with pytest.raises(ContractError, match=r"status' has 2 invalid values \(rows 1, 3: 7, 'lost'\)"):
        validated_tables(raw(orders=ORDERS.assign(status=[7, "refunded", "lost"])), "nps")


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        (raw(customers=None), r"customers: table is missing"),
        (raw(orders=ORDERS.drop(columns="amount")), r"orders: column 'amount' is missing"),
        (
            raw(orders=ORDERS.assign(ordered_at=["2024-03-01", "31/02/2024", "soon"])),
            r"orders: column 'ordered_at' has 2 invalid values \(rows 2, 3: '31/02/2024', 'soon'\); expected ISO 8601",
        ),
        (
            raw(orders=ORDERS.assign(amount=["1", "x", "3"])),
            r"orders: column 'amount' has 1 invalid values \(rows 2: 'x'\); expected finite numbers",
        ),
        (
            raw(orders=ORDERS.assign(order_id=["O1", "O1", "O3"])),
            r"orders: column 'order_id' has 2 duplicated ids \(rows 1, 2",
        ),
        (
            raw(orders=ORDERS.assign(customer_id=["C1", "C9", "C1"])),
            r"orders: column 'customer_id' has 1 ids not in customers \(rows 2: 'C9'\)",
        ),
        (
            raw(orders=ORDERS.assign(status=["completed", "lost", None])),
            r"orders: column 'status' has 1 invalid values \(rows 2: 'lost'\); expected one of completed",
        ),
        (raw(orders=ORDERS.assign(customer_id=["C1", None, "C1"])), r"orders: column 'customer_id' has 1 empty values"),
        (
            raw(surveys=pd.DataFrame({"customer_id": ["C1"], "answered_at": ["2024-04-01"], "score": [11]})),
            r"surveys: column 'score' has 1 scores off the nps scale 0..10",
        ),
        (raw(widgets=pd.DataFrame({"a": [1]})), r"widgets: is not a table of the contract"),
        (
            raw(orders=ORDERS.assign(ordered_at=["2024-03-01T02:00:00+02:00", "2024-03-02", "2024-03-05T00:00:00Z"])),
            r"orders: column 'ordered_at' mixes timestamps with and without a UTC offset: 1 have none \(rows 2: "
            r"'2024-03-02'\)",
        ),
        (
            raw(orders=ORDERS.assign(amount=[-5, 20, 7], status=["completed", "refunded", None])),
            r"orders: column 'amount' has 1 negative amounts on orders not returned or refunded \(rows 1: -5.0\)",
        ),
        (raw(customers=CUSTOMERS.iloc[:0]), r"customers: has no rows"),
        (
            raw(customers=CUSTOMERS.assign(signup_date=[None, None])),
            r"customers: column 'signup_date' has 2 empty values",
        ),
        (raw(orders=ORDERS.assign(amount=[None, None, None])), r"orders: column 'amount' has 3 empty values"),
        (
            raw(orders=ORDERS.assign(order_id=[1, 2, 2])),
            r"orders: column 'order_id' has 2 duplicated ids \(rows 2, 3: '2', '2'\)",
        ),
    ],
)
def test_contract_errors_name_table_column_and_rows(tables, message):
    with pytest.raises(ContractError, match=message):
        validated_tables(tables, "nps")


def test_all_problems_are_reported_at_once():
    with pytest.raises(ContractError) as caught:
        validated_tables(
            raw(orders=ORDERS.assign(amount=["x", "1", "2"], ordered_at=["bad", "2024-01-01", "2024-01-01"])), "nps"
        )
    assert {p.column for p in caught.value.problems} == {"amount", "ordered_at"}


def test_examples_are_capped_at_five():
    many = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(8)],
            "customer_id": ["C1"] * 8,
            "ordered_at": ["nope"] * 8,
            "amount": [1] * 8,
        }
    )
    with pytest.raises(ContractError, match=r"rows 1, 2, 3, 4, 5: 'nope', 'nope', 'nope', 'nope', 'nope', \.\.\."):
        validated_tables(raw(orders=many), "nps")


def test_timezone_aware_timestamps_become_naive_utc():
    tables = validated_tables(
        raw(
            orders=ORDERS.assign(
                ordered_at=["2024-03-01T02:00:00+02:00", "2024-03-02T00:00:00Z", "2024-03-05T09:30:00-0500"]
            )
        ),
        "nps",
    )
    assert tables.orders["ordered_at"].tolist() == [
        pd.Timestamp("2024-03-01 00:00"),
        pd.Timestamp("2024-03-02 00:00"),
        pd.Timestamp("2024-03-05 14:30"),
    ]


def test_csat_scale_bounds():
    surveys = pd.DataFrame({"customer_id": ["C1", "C2"], "answered_at": ["2024-04-01"] * 2, "score": [0, 5]})
    with pytest.raises(ContractError, match=r"1 scores off the csat scale 1..5 \(rows 1: 0.0\)"):
        validated_tables(raw(surveys=surveys), "csat")


def test_folder_of_csv_files_loads(tmp_path):
    for name, frame in raw().items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    assert len(load_tables(tmp_path, "nps").orders) == 3


def test_duckdb_file_loads(tmp_path):
    path = tmp_path / "crm.duckdb"
    with duckdb.connect(str(path)) as connection:
        for name, frame in raw().items():
            connection.register("frame", frame)
            connection.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            connection.unregister("frame")
    tables = load_tables(path, "nps")
    assert tables.orders["customer_id"].tolist() == ["C1", "C2", "C1"]


def test_non_utf8_csv_is_a_contract_error(tmp_path):
    CUSTOMERS.to_csv(tmp_path / "customers.csv", index=False)
    (tmp_path / "orders.csv").write_bytes(
        "order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-01,\xe4\n".encode("latin-1")
    )
    with pytest.raises(ContractError, match=r"orders: orders.csv is not UTF-8"):
        load_tables(tmp_path, "nps")


def test_missing_source_is_a_contract_error(tmp_path):
    with pytest.raises(ContractError, match="neither a folder"):
        load_tables(tmp_path / "nothing.csv", "nps")


def test_refunds_may_carry_negative_amounts():
    tables = validated_tables(
        raw(orders=ORDERS.assign(amount=[-5, 20, -7], status=["refunded", "completed", "returned"])), "nps"
    )
    assert tables.orders["amount"].tolist() == [-5.0, 20.0, -7.0]


def test_events_after_the_run_are_errors_and_a_day_of_clock_skew_is_not():
    now = pd.Timestamp("2024-03-04 12:00")
    with pytest.raises(
        ContractError,
        match=r"orders: column 'ordered_at' has 1 times after this run's time 2024-03-04 12:00 UTC \(rows 3: "
        r"2099-03-05 00:00:00\); a clock or export error\?",
    ):
        validated_tables(
            raw(orders=ORDERS.assign(ordered_at=["2024-03-01", "2024-03-02", "2099-03-05"])), "nps", now=now
        )
    assert len(validated_tables(raw(), "nps", now=now).orders) == 3


def test_unknown_customers_are_dropped_and_counted_when_the_config_says_so(caplog):
    orders = ORDERS.assign(customer_id=["C1", "C9", "C8"])
    with caplog.at_level("WARNING", logger="features.contract"):
        tables = validated_tables(raw(orders=orders), "nps", unknown_customers="drop")
    assert tables.orders["customer_id"].tolist() == ["C1"]
    assert "orders: dropped 2 rows whose customer_id is not in customers (rows 2, 3: 'C9', 'C8')" in caplog.text


def test_empty_event_tables_are_valid_and_the_last_signup_dates_the_data():
    tables = validated_tables(raw(orders=ORDERS.iloc[:0]), "nps")
    assert tables.orders.empty and tables.data_end == pd.Timestamp(
        CUSTOMERS["signup_date"].max()
    ).normalize() + pd.Timedelta(days=1)


def test_one_customer_is_valid():
    tables = validated_tables(raw(customers=CUSTOMERS.iloc[:1], orders=ORDERS[ORDERS.customer_id == "C1"]), "nps")
    assert tables.customers["customer_id"].tolist() == ["C1"] and len(tables.orders) == 2


def test_hostile_text_is_kept_as_text():
    texts = [
        "<script>alert(1)</script>",
        "=cmd|' /C calc'!A0",
        "bell\x07 and nul\x00 inside",
        "kiitos 🙏🏽 palvelusta",
        "x" * 1_000_000,
    ]
    mentions = pd.DataFrame(
        {
            "mention_id": [f"M{i}" for i in range(5)],
            "customer_id": ["C1"] * 5,
            "posted_at": ["2024-03-01"] * 5,
            "text": texts,
        }
    )
    tables = validated_tables(raw(mentions=mentions), "nps")
    assert tables.mentions["text"].tolist() == texts


def test_orders_before_signup_are_kept_and_counted_in_a_warning(caplog):
    early = ORDERS.assign(ordered_at=["2023-12-01", "2024-01-15", "2024-03-05"])  # C1 on 1 Dec, C2 in January
    with caplog.at_level("WARNING"):
        tables = validated_tables(raw(orders=early), "nps")
    assert len(tables.orders) == 3
    assert "orders: 2 rows are before their customer's signup_date" in caplog.text


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.text(alphabet=st.sampled_from("ab7é \t\n\u00a0\u2003\u3000")))),
    st.integers(0, 3),
)
def test_ids_are_trimmed_exactly_as_pandas_strips_them(ids, skipped):
    """The shortcut that keeps clean ids uncopied gives what stripping every id gives, on sliced columns too."""
    values = pd.Series(ids, dtype="str").iloc[skipped:]
    assert trimmed_ids(values).equals(values.str.strip())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="ab ", max_size=3))))
def test_distinct_ids_are_counted_as_pandas_counts_them(ids):
    """Hashes counted first, ids only when hashes repeat: the count is nunique's either way."""
    values = pd.Series(ids, dtype="str")
    assert distinct_count(values) == values.nunique()
