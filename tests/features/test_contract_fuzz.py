"""Validation either accepts a table set or raises the contract's own error, whatever the input holds."""

import math

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.contract import ContractError, validated_tables
from features.schema import TABLE_SPECS
from features.tables import Tables

CELLS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "C1",
            "C2",
            "2024-03-01",
            "2024-03-01T10:00:00+02:00",
            "2024-13-45",
            "completed",
            "complaint",
            "inbound",
            "=1+1",
            "\x00",
            "🙂",
            "",
        ]
    ),
    st.datetimes().map(pd.Timestamp),
)


PLAUSIBLE = {
    "id": st.sampled_from(["C1", "C2", "C3", "X1", "X2"]),
    "timestamp": st.sampled_from(
        ["2024-03-01", "2024-03-02T10:00:00", "2024-02-29T23:59:59+02:00", pd.Timestamp("2024-01-05")]
    ),
    "number": st.floats(-10, 10) | st.integers(0, 10),
    "text": st.text(max_size=20),
}


def rarely(one_in: int) -> st.SearchStrategy:
    return st.sampled_from([False] * (one_in - 1) + [True])


def cell(column) -> st.SearchStrategy:
    """Mostly values of the column's kind, sometimes anything at all."""
    fitting = st.sampled_from(column.allowed) if column.allowed else PLAUSIBLE.get(column.kind, CELLS)
    return st.one_of(*[fitting] * 9, CELLS)


@st.composite
def raw_table(draw, name: str) -> pd.DataFrame:
    """The table's required columns (one maybe lost), some optional ones, maybe a stray one."""
    spec = TABLE_SPECS[name]
    columns = [c for c in spec.columns if c.required or draw(st.booleans())]
    if columns and draw(rarely(10)):
        columns.pop(draw(st.integers(0, len(columns) - 1)))
    rows = draw(st.integers(0, 6))
    frame = pd.DataFrame({c.name: pd.Series([draw(cell(c)) for _ in range(rows)], dtype=object) for c in columns})
    return frame.assign(stray=draw(CELLS)) if draw(rarely(10)) else frame


@st.composite
def raw_tables(draw) -> dict[str, pd.DataFrame]:
    """Customers nearly always, some event tables, rarely a table the contract does not know."""
    names = ([] if draw(rarely(10)) else ["customers"]) + draw(
        st.lists(st.sampled_from([n for n in TABLE_SPECS if n != "customers"]), unique=True, min_size=1, max_size=3)
    )
    tables = {name: draw(raw_table(name)) for name in names}
    return tables | {"widgets": pd.DataFrame({"a": [1]})} if draw(rarely(20)) else tables


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables=raw_tables(), scale=st.sampled_from(["nps", "csat"]), drop_unknown=st.booleans())
def test_validation_accepts_or_names_the_problem(tables, scale, drop_unknown):
    try:
        result = validated_tables(
            tables, scale, now=pd.Timestamp("2030-01-01"), unknown_customers="drop" if drop_unknown else "error"
        )
    except ContractError as error:
        assert error.problems and all(p.table and p.message for p in error.problems)
        return
    assert isinstance(result, Tables) and result.customers["customer_id"].notna().all()
    for name, frame in result.present().items():
        for column in TABLE_SPECS[name].columns:
            if column.kind == "number" and column.name in frame:
                assert not any(isinstance(v, str) for v in frame[column.name]) and all(
                    isinstance(v, float) for v in frame[column.name] if not math.isnan(v)
                )


MUTANTS = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", " ", "x", "1e400", "2024-02-30", "0001-01-01", "-1", "1,5", "C0000001 ", "true"]),
    st.datetimes().map(pd.Timestamp),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_one_changed_cell_keeps_the_meaning_or_is_named(small_world, data):
    """Any single cell of a valid world set to anything: validation either still accepts it, with every other cell
    as it was, or fails naming that cell's table or column."""
    tables = {name: frame.head(300) for name, frame in small_world.tables.items()}
    tables["customers"] = small_world.tables["customers"]
    name = data.draw(st.sampled_from(sorted(tables)))
    column = data.draw(st.sampled_from([c.name for c in TABLE_SPECS[name].columns if c.name in tables[name]]))
    row = data.draw(st.integers(0, len(tables[name]) - 1))
    mutated = tables[name].astype({column: object})
    mutated.iloc[row, mutated.columns.get_loc(column)] = data.draw(MUTANTS)
    try:
        result = validated_tables(tables | {name: mutated}, "nps", now=pd.Timestamp("2030-01-01"))
    except ContractError as error:
        # a changed customer id or signup may instead contradict the rows that depend on it, named by their table
        named = [p for p in error.problems if p.table == name or p.column == column or name == "customers"]
        assert named, error
        return
    original = validated_tables(tables, "nps")
    unchanged = getattr(result, name).drop(index=getattr(result, name).index[row]).drop(columns=column, errors="ignore")
    expected = (
        getattr(original, name).drop(index=getattr(original, name).index[row]).drop(columns=column, errors="ignore")
    )
    pd.testing.assert_frame_equal(unchanged, expected, check_dtype=False)
