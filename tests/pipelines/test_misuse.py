"""Hostile input and misuse through the CLI, as a table of cases: each exits 2 with a message naming the table,
column, file, option or key at fault, before any heavy work, and leaves every earlier output byte-identical."""

import os
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from pipelines.cli import EXIT_BAD_INPUT, main
from tests.pipelines.conftest import CONFIG
from tests.pipelines.helpers import (
    arguments_for,
    as_text,
    changed,
    rewrite,
    rewrite_as_csv,
    snapshot,
    table,
)

pytestmark = pytest.mark.slow
STRONG_KEY = "k" * 16 + "0123456789abcdef0123"


def score(root) -> list[str]:
    return ["score", *arguments_for(root)]


def breaking(mutate):
    """A case that breaks the world with `mutate(root)`, then scores it."""

    def prepare(root):
        mutate(root)
        return score(root)

    return prepare


def configured(text: str, command: str = "score", model: str | None = None):
    """A case that runs `command` with CONFIG plus `text`, or with `model` in place of CONFIG's model section."""

    def prepare(root):
        base = CONFIG if model is None else CONFIG.split("model:")[0] + model + "\noutput:" + CONFIG.split("output:")[1]
        (root / "bad.yaml").write_text(base + text)
        return [command, *arguments_for(root, root / "bad.yaml")]

    return prepare


def written(file_name: str, content: bytes):
    """A case that replaces a table's file with `file_name` holding `content`."""

    def mutate(root):
        (root / "world" / f"{file_name.split('.')[0]}.parquet").unlink()
        (root / "world" / file_name).write_bytes(content)

    return breaking(mutate)


def command(*argv, key: str | None = STRONG_KEY):
    def prepare(root):
        os.environ.pop("SURVEYLESS_EXPORT_KEY", None)
        if key is not None:
            os.environ["SURVEYLESS_EXPORT_KEY"] = key
        return [part.format(root=root) for part in argv] + arguments_for(root)

    return prepare


def foreign_files(folder_name: str, *argv):
    def prepare(root):
        folder = root / folder_name
        folder.mkdir(exist_ok=True)
        (folder / "thesis.docx").write_bytes(b"years of work")
        return [part.format(root=root) for part in argv]

    return prepare


def cell(name, column, row, value):
    return breaking(lambda root: changed(root, name, column, row, value))


def shifted(name, column, reference, days, rows=(0,)):
    """Sets `column` of `rows` to `reference` + `days`."""

    def mutate(root):
        frame = table(root, name)
        frame.loc[list(rows), column] = frame.loc[list(rows), reference] + pd.Timedelta(days=days)
        rewrite(root, name, frame)

    return breaking(mutate)


def first_signup_after_churn(root):
    churn, customers = table(root, "churn_events"), table(root, "customers")
    customers.loc[customers["customer_id"] == churn["customer_id"].iloc[0], "signup_date"] = churn["churned_at"].iloc[
        0
    ] + pd.Timedelta(days=3)
    rewrite(root, "customers", customers)


def churned_twice(root):
    churn = table(root, "churn_events")
    rewrite(
        root,
        "churn_events",
        pd.concat([churn, churn.head(1).assign(churned_at=churn["churned_at"].iloc[0] + pd.Timedelta(days=9))]),
    )


def padded_duplicate_id(root):
    customers = table(root, "customers")
    extra = customers.head(1).assign(customer_id=customers["customer_id"].iloc[0] + " ")
    rewrite(root, "customers", pd.concat([customers, extra], ignore_index=True))


def csat_answers_on_nps(root):
    surveys = table(root, "surveys")
    rewrite(root, "surveys", surveys.assign(score=np.clip(np.round(surveys["score"] / 2), 1, 5)))


def boolean_amounts(root):
    orders = table(root, "orders")
    rewrite(root, "orders", orders.assign(amount=orders["amount"] > 50))


def semicolons(root):
    rewrite_as_csv(root, "orders", table(root, "orders"), sep=";")


def both_files(root):
    table(root, "orders").to_csv(root / "world" / "orders.csv", index=False)


def wrong_case(root):
    (root / "world" / "orders.parquet").rename(root / "world" / "Orders.parquet")


def broken_link(root):
    (root / "world" / "orders.parquet").unlink()
    (root / "world" / "orders.parquet").symlink_to(root / "nowhere.parquet")


def directory(root):
    (root / "world" / "orders.parquet").unlink()
    (root / "world" / "orders.parquet").mkdir()


def sentiment(value):
    return breaking(
        lambda root: rewrite(
            root,
            "mentions",
            table(root, "mentions")
            .assign(sentiment=0.2)
            .assign(sentiment=lambda f: f["sentiment"].where(f.index != 0, value)),
        )
    )


def text_amount(value):
    return breaking(
        lambda root: rewrite_as_csv(
            root,
            "orders",
            table(root, "orders")
            .astype({"amount": object})
            .assign(amount=lambda f: f["amount"].where(f.index != 4, value)),
        )
    )


def mixed_zones(root):
    mentions = as_text(table(root, "mentions"), "posted_at")
    rewrite(
        root,
        "mentions",
        mentions.assign(posted_at=lambda f: f["posted_at"].where(f.index == 0, f["posted_at"] + "+02:00")),
    )


def damaged_duckdb(root):
    (root / "world.duckdb").write_bytes(b"not a database at all" * 100)
    return ["validate", "--data", str(root / "world.duckdb"), "--out", str(root / "work")]


def real_tables(root):
    """The demo's world without truth/: contract tables as a company's own export would hold them."""
    shutil.rmtree(root / "world" / "truth")
    return ["generate", "--data", str(root / "world"), "--customers", "50", "--out", str(root / "work")]


def exported_onto_predictions(root):
    latest = (root / "work" / "predictions" / "latest").read_text().strip()
    return command("export", "--to", f"{{root}}/work/predictions/{latest}/predictions.parquet")(root)


CASES = {
    # numbers
    "amount inf": (
        cell("orders", "amount", 3, np.inf),
        r"orders: column 'amount' has 1 invalid values \(rows 4: inf\); expected finite numbers",
    ),
    "amount -inf": (
        cell("orders", "amount", 0, -np.inf),
        r"orders: column 'amount' has 1 invalid values \(rows 1: -inf\)",
    ),
    "amount overflowing": (
        cell("orders", "amount", 5, 1e300),
        r"orders: column 'amount' has 1 invalid values \(rows 6: 1e\+300\)",
    ),
    "amount NaN": (cell("orders", "amount", 2, np.nan), r"orders: column 'amount' has 1 empty values \(rows 3"),
    "amounts as booleans": (
        breaking(boolean_amounts),
        r"orders: column 'amount' has \d+ invalid values .*not true/false",
    ),
    "amount as text true": (text_amount("true"), r"orders: column 'amount' has 1 invalid values \(rows 5: 'true'\)"),
    "amount with decimal comma": (
        text_amount("12,50"),
        r"orders: column 'amount' has 1 invalid values \(rows 5: '12,50'\)",
    ),
    "amount as word": (text_amount("twelve"), r"orders: column 'amount' has 1 invalid values \(rows 5: 'twelve'\)"),
    "negative amount not refunded": (
        breaking(
            lambda root: rewrite(
                root,
                "orders",
                table(root, "orders").assign(
                    amount=lambda f: f["amount"].where(f.index != 3, -50.0), status="completed"
                ),
            )
        ),
        r"orders: column 'amount' has 1 negative amounts on orders not returned or refunded \(rows 4: -50.0\)",
    ),
    "discount above 1": (
        cell("orders", "discount", 1, 1.5),
        r"orders: column 'discount' has 1 values outside 0..1 \(rows 2: 1.5\)",
    ),
    "discount below 0": (
        cell("orders", "discount", 1, -0.1),
        r"orders: column 'discount' has 1 values outside 0..1 \(rows 2: -0.1\)",
    ),
    "discount inf": (cell("orders", "discount", 1, np.inf), r"orders: column 'discount' has 1 invalid values"),
    "sentiment above 1": (sentiment(1.5), r"mentions: column 'sentiment' has 1 values outside -1..1 \(rows 1: 1.5\)"),
    "sentiment NaN is allowed but inf is not": (
        sentiment(-np.inf),
        r"mentions: column 'sentiment' has 1 invalid values",
    ),
    "opportunity value inf": (
        cell("activities", "value", 0, np.inf),
        r"activities: column 'value' has 1 invalid values",
    ),
    "survey score 11": (
        cell("surveys", "score", 0, 11.0),
        r"surveys: column 'score' has 1 scores off the nps scale 0..10 \(rows 1: 11.0\)",
    ),
    "survey score inf": (cell("surveys", "score", 0, np.inf), r"surveys: column 'score' has 1 invalid values"),
    "CSAT answers on the NPS scale": (
        breaking(csat_answers_on_nps),
        r"surveys: column 'score' has \d+ answers, all within 1..5, .*satisfaction.scale: csat",
    ),
    # identifiers and relations
    "ids equal once trimmed": (
        breaking(padded_duplicate_id),
        r"customers: column 'customer_id' has 2 ids that are equal once surrounding spaces are removed",
    ),
    "duplicate order id": (
        breaking(
            lambda root: rewrite(
                root,
                "orders",
                table(root, "orders").assign(
                    order_id=lambda f: f["order_id"].where(f.index != 1, f["order_id"].iloc[0])
                ),
            )
        ),
        r"orders: column 'order_id' has 2 duplicated ids \(rows 1, 2",
    ),
    "unknown customer": (
        cell("activities", "customer_id", 6, "GHOST"),
        r"activities: column 'customer_id' has 1 ids not in customers \(rows 7: 'GHOST'\)",
    ),
    "empty customer id": (
        cell("customers", "customer_id", 0, None),
        r"customers: column 'customer_id' has 1 empty values",
    ),
    "unknown activity type": (
        cell("activities", "type", 0, "fax"),
        r"activities: column 'type' has 1 invalid values \(rows 1: 'fax'\); expected one of",
    ),
    "unknown order status": (
        cell("orders", "status", 0, "lost"),
        r"orders: column 'status' has 1 invalid values \(rows 1: 'lost'\)",
    ),
    "all-null required column": (
        breaking(lambda root: rewrite(root, "activities", table(root, "activities").assign(type=None))),
        r"activities: column 'type' has \d+ empty values",
    ),
    # time
    "delivered before ordered": (
        shifted("orders", "delivered_at", "ordered_at", -2),
        r"orders: column 'delivered_at' has 1 rows delivered before ordered \(rows 1",
    ),
    "resolved before occurred": (
        shifted("activities", "resolved_at", "occurred_at", -1),
        r"activities: column 'resolved_at' has 1 rows resolved before they occurred",
    ),
    "churn before signup": (
        breaking(first_signup_after_churn),
        r"churn_events: column 'churned_at' has 1 contract ends before the customer's signup_date",
    ),
    "two churn events": (
        breaking(churned_twice),
        r"churn_events: column 'customer_id' has 2 rows for customers who ended their contract more than once",
    ),
    "order in 1800": (
        cell("orders", "ordered_at", 0, pd.Timestamp("1800-01-01")),
        r"orders: column 'ordered_at' has 1 invalid values \(rows 1: 1800-01-01 00:00:00\); "
        r"expected ISO 8601 timestamps from 1900-01-01 on",
    ),
    "signup in year 1": (
        cell("customers", "signup_date", 0, "0001-01-01"),
        r"customers: column 'signup_date' has 1 invalid values \(rows 1: '0001-01-01'\)",
    ),
    "order in 2099": (
        cell("orders", "ordered_at", 0, pd.Timestamp("2099-01-01")),
        r"orders: column 'ordered_at' has 1 times after this run's time",
    ),
    "unparseable timestamp": (
        cell("activities", "occurred_at", 2, "yesterday"),
        r"activities: column 'occurred_at' has 1 invalid values \(rows 3: 'yesterday'\)",
    ),
    "time zones mixed": (
        breaking(mixed_zones),
        r"mentions: column 'posted_at' mixes timestamps with and without a UTC offset",
    ),
    "survey answered at nothing": (
        cell("surveys", "answered_at", 0, None),
        r"surveys: column 'answered_at' has 1 empty values",
    ),
    # files
    "missing customers": (
        breaking(lambda root: (root / "world" / "customers.parquet").unlink()),
        r"customers: table is missing",
    ),
    "missing column": (
        breaking(lambda root: rewrite(root, "orders", table(root, "orders").drop(columns="amount"))),
        r"orders: column 'amount' is missing",
    ),
    "empty customers": (
        breaking(lambda root: rewrite(root, "customers", table(root, "customers").iloc[:0])),
        r"customers: has no rows",
    ),
    "empty file": (written("orders.parquet", b""), r"orders: orders.parquet is empty \(0 bytes\)"),
    "corrupt parquet": (
        written("orders.parquet", b"PAR1 this is not parquet"),
        r"orders: orders.parquet is not readable Parquet",
    ),
    "header-only CSV of customers": (written("customers.csv", b"customer_id,signup_date\n"), r"customers: has no rows"),
    "CSV without header": (written("orders.csv", b"\n\n"), r"orders: orders.csv is not readable CSV"),
    "table file is a folder": (breaking(directory), r"orders: orders.parquet is not a file"),
    "table file is a broken link": (
        breaking(broken_link),
        r"orders: orders.parquet is a link to .*nowhere.parquet, which does not exist",
    ),
    "table file named in other letters": (breaking(wrong_case), r"orders: Orders.parquet is named in other letters"),
    "both CSV and Parquet": (breaking(both_files), r"orders: has both orders.csv and orders.parquet"),
    "semicolon CSV": (breaking(semicolons), r"orders: orders.csv looks separated by semicolons"),
    "not UTF-8": (
        written("customers.csv", b"customer_id,signup_date\nC\xe41,2024-01-01\n"),
        r"customers: customers.csv is not UTF-8 text: line 2, byte 26 \(0xe4\)",
    ),
    "damaged DuckDB file": (damaged_duckdb, r"source: world.duckdb is not a readable DuckDB file"),
    "data that does not exist": (
        lambda root: ["validate", "--data", str(root / "nowhere"), "--out", str(root / "work")],
        r"source: .*nowhere is neither a folder",
    ),
    # command line
    "as-of not a date": (command("score", "--as-of", "2025-13-01"), r"argument --as-of: '2025-13-01' is not a date"),
    "as-of with a time zone": (
        command("score", "--as-of", "2025-06-01T00:00+02:00"),
        r"argument --as-of: .* is not a date YYYY-MM-DD \(no time, no zone\)",
    ),
    "as-of a word": (command("features", "--as-of", "yesterday"), r"argument --as-of: 'yesterday' is not a date"),
    "as-of beyond the data": (
        command("score", "--as-of", "2026-03-01"),
        r"--as-of 2026-03-01 is after the data's last day",
    ),
    "features beyond the data": (
        command("features", "--as-of", "2026-02-01"),
        r"--as-of 2026-02-01 is after the data's last day",
    ),
    "evaluate a date never scored": (
        command("evaluate", "--as-of", "2024-03-01"),
        r"no complete predictions for 2024-03-01",
    ),
    "unknown command": (lambda root: ["rescore", *arguments_for(root)], r"invalid choice: 'rescore'"),
    "customers zero": (
        lambda root: ["generate", "--customers", "0", "--world-out", str(root / "new-world"), *arguments_for(root)],
        r"--customers/--seed: customers: Input should be greater than 0",
    ),
    # configuration
    "boolean for a number": (
        configured("", model="model: {seed: true}"),
        r"model.seed: Value error, expected a number, got the boolean True",
    ),
    "boolean in windows": (
        configured("features: {windows_days: [30, yes]}\n"),
        r"features.windows_days: Value error, expected a number",
    ),
    "window not positive": (
        configured("features: {windows_days: [0, 30]}\n"),
        r"features.windows_days: Value error, windows must be distinct positive numbers",
    ),
    "windows repeated": (
        configured("features: {windows_days: [30, 30]}\n"),
        r"features.windows_days: .*distinct positive",
    ),
    "first cutoff after last": (
        configured("cutoffs: {first: 2025-06-01, last: 2025-01-01}\n"),
        r"cutoffs: Value error, first cutoff 2025-06-01 is after the last 2025-01-01",
    ),
    "zero trees": (
        configured("", "train", model="model: {churn: {n_estimators: 0}}"),
        r"model.churn.n_estimators: Input should be greater than 0",
    ),
    "cutoff step zero": (
        configured("cutoffs: {frequency: 0D}\n"),
        r"cutoffs.frequency: Value error, the step between cutoffs must move forward",
    ),
    "key given twice": (
        configured("churn: {horizon_days: 30}\nchurn: {horizon_days: 60}\n"),
        r"the key 'churn' is given twice",
    ),
    "unknown key": (configured("churn: {horizon_dayz: 30}\n"), r"churn.horizon_dayz: Extra inputs are not permitted"),
    "unknown language": (configured("language: sv\n"), r"language: Input should be 'en' or 'fi'"),
    "threshold as boolean": (
        configured("scoring: {risk_thresholds: {medium: true, high: 0.3}}\n"),
        r"scoring.risk_thresholds.medium: Value error, expected a number",
    ),
    "config not a mapping": (
        lambda root: (
            (root / "list.yaml").write_text("- a\n- b\n"),
            ["score", *arguments_for(root, root / "list.yaml")],
        )[1],
        r"must be a mapping",
    ),
    "config missing": (
        lambda root: ["score", *arguments_for(root, root / "absent.yaml")],
        r"cannot read config .*absent.yaml",
    ),
    "work folder is a file": (
        lambda root: (
            (root / "file").write_text("x"),
            [
                "score",
                "--config",
                str(root / "config.yaml"),
                "--data",
                str(root / "world"),
                "--out",
                str(root / "file"),
            ],
        )[1],
        r"out: .*file is a file",
    ),
    # export
    "export without key": (
        command("export", "--to", "{root}/x.parquet", key=None),
        r"set the environment variable SURVEYLESS_EXPORT_KEY",
    ),
    "export with a weak key": (
        command("export", "--to", "{root}/x.parquet", key="secret"),
        r"SURVEYLESS_EXPORT_KEY has 6 characters; use at least 32",
    ),
    "export onto the committed predictions": (
        exported_onto_predictions,
        r"--to .*predictions.parquet already exists: an export never replaces a file",
    ),
    "export onto a user's file": (
        lambda root: ((root / "mine.csv").write_text("precious"), command("export", "--to", "{root}/mine.csv")(root))[
            1
        ],
        r"--to .*mine.csv already exists",
    ),
    "export into the work folder": (
        command("export", "--to", "{root}/work/hashed.parquet"),
        r"--to .*hashed.parquet is inside the work folder",
    ),
    "export as Excel": (
        command("export", "--to", "{root}/x.xlsx"),
        r"--to .*x.xlsx: the export is written as .parquet or .csv",
    ),
    "export a date never scored": (
        command("export", "--to", "{root}/x.parquet", "--as-of", "2024-02-01"),
        r"no complete predictions for 2024-02-01",
    ),
    # generate and demo
    "generate over someone's folder": (
        foreign_files("theirs", "generate", "--data", "{root}/theirs", "--customers", "50"),
        r"theirs holds files a synthetic world does not \(thesis.docx\): it is not replaced",
    ),
    "demo over someone's folder": (
        foreign_files("theirs", "demo", "--data", "{root}/theirs", "--out", "{root}/work2"),
        r"theirs holds files a synthetic world does not",
    ),
    "generate over someone's tables": (
        real_tables,
        r"world holds files a synthetic world does not \(activities.parquet, .*without truth/: real data\?",
    ),
    "generate onto a file": (
        lambda root: ((root / "f").write_text("x"), ["generate", "--world-out", str(root / "f"), *arguments_for(root)])[
            1
        ],
        r"f is a file, not a folder",
    ),
    "sentiment from a missing file": (
        lambda root: ["sentiment", "train", "--labelled", str(root / "absent.csv"), *arguments_for(root)],
        r"labelled mentions: .*absent.csv does not exist",
    ),
}


def everything(root) -> dict:
    """Outputs of earlier runs and the files of the user's that a case must not touch."""
    files = [p for p in root.rglob("*") if p.is_file() and "world" not in p.parts and not p.name.startswith(".")]
    return snapshot(root / "work") | {p: p.read_bytes() for p in files if p.suffix in (".docx", ".csv", ".parquet")}


@pytest.mark.parametrize("case", CASES)
def test_misuse_exits_2_naming_what_is_wrong_and_changes_no_output(demo_copy, capsys, case, monkeypatch):
    root = demo_copy[0]
    monkeypatch.setenv("SURVEYLESS_EXPORT_KEY", STRONG_KEY)
    prepare, message = CASES[case]
    argv = prepare(root)
    before = everything(root)
    capsys.readouterr()
    assert main(argv) == EXIT_BAD_INPUT
    error = " ".join(capsys.readouterr().err.split())
    assert "Traceback" not in error and re.search(message, error), error
    assert everything(root) == before
