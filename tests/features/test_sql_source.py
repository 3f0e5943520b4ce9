"""Reading the contract's tables from a real PostgreSQL server gives the same features as the folder source."""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest

from features.builders import FeatureSettings, build_features
from features.contract import ContractError
from features.loaders import SqlSettings, load_tables, shown_source
from features.synthetic import WorldSpec, generate_world
from pipelines.writers import write_world

pytestmark = pytest.mark.slow  # a real PostgreSQL server

SCHEMA = "crm"
RENAMED = {"orders": "crm_orders"}


def postgres_binaries() -> Path | None:
    found = shutil.which("initdb") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))), None)
    return Path(found).parent if found else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway PostgreSQL server on a loopback port, its data in a temporary folder (as user postgres when run as
    root)."""
    binaries = postgres_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed here (`make test` installs Debian's postgresql package when it can)")
    folder = Path(tempfile.mkdtemp(prefix="surveyless-postgres-"))
    as_user = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()
    started = subprocess.run(
        [*as_user, binaries / "initdb", "-D", data, "-U", "surveyless", "--auth=trust", "-E", "UTF8"],
        capture_output=True,
        text=True,
    )
    if started.returncode == 0:
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        started = subprocess.run(
            [*as_user, binaries / "pg_ctl", "-D", data, "-l", folder / "server.log", "-w", "-o", options, "start"],
            capture_output=True,
            text=True,
        )
    if started.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"PostgreSQL could not start here: {(started.stderr or started.stdout).strip()[-300:]}")
    yield f"postgresql+psycopg://surveyless@127.0.0.1:{port}/postgres"
    subprocess.run([*as_user, binaries / "pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def world_in_both(postgres_url, tmp_path_factory):
    """One generated world, written as a folder of Parquet files and into schema `crm` (orders renamed)."""
    import sqlalchemy as sa

    world = generate_world(WorldSpec(customers=600, seed=4))
    folder = tmp_path_factory.mktemp("world")
    write_world(WorldSpec(customers=600, seed=4), folder, "nps")
    engine = sa.create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(sa.schema.CreateSchema(SCHEMA, if_not_exists=True))
        for name, frame in world.tables.items():
            frame.to_sql(RENAMED.get(name, name), connection, schema=SCHEMA, index=False, if_exists="replace")
    engine.dispose()
    return postgres_url, folder


def test_tables_from_postgresql_give_the_features_of_the_folder(world_in_both):
    url, folder = world_in_both
    from_database = load_tables(url, "nps", sql=SqlSettings(schema=SCHEMA, tables=RENAMED))
    from_folder = load_tables(folder, "nps")
    assert (
        from_database.event_sources == from_folder.event_sources
        and len(from_database.orders) == len(from_folder.orders) > 1000
    )
    for as_of in (pd.Timestamp("2025-03-01"), from_folder.data_end):
        pdt.assert_frame_equal(
            build_features(from_database, as_of, FeatureSettings(), 90).sort_index(),
            build_features(from_folder, as_of, FeatureSettings(), 90).sort_index(),
        )


def test_since_leaves_older_events_in_the_database(world_in_both):
    url, _ = world_in_both
    since = pd.Timestamp("2025-06-01")
    tables = load_tables(url, "nps", sql=SqlSettings(schema=SCHEMA, tables=RENAMED, since=since))
    assert tables.orders["ordered_at"].min() >= since and tables.activities["occurred_at"].min() >= since
    assert tables.customers["signup_date"].min() < pd.Timestamp("2024-02-01")  # customers are never cut


def test_hostile_table_names_are_quoted_not_run(world_in_both):
    url, _ = world_in_both
    hostile = {"orders": 'crm_orders"; DROP TABLE crm.customers; --'}
    tables = load_tables(url, "nps", sql=SqlSettings(schema=SCHEMA, tables=hostile))
    assert (
        tables.orders is None
        and len(load_tables(url, "nps", sql=SqlSettings(schema=SCHEMA, tables=RENAMED)).customers) == 600
    )


def test_unreachable_or_malformed_databases_are_contract_errors(postgres_url):
    port = postgres_url.rsplit(":", 1)[1].split("/")[0]
    with pytest.raises(
        ContractError, match=r"source: cannot read postgresql\+psycopg://surveyless@127.0.0.1:\d+/nowhere: .*nowhere"
    ):
        load_tables(postgres_url.replace("/postgres", "/nowhere"), "nps")
    with pytest.raises(ContractError, match=r"source: the database URL is not usable"):
        load_tables("nosuchdialect://x", "nps")
    assert port.isdigit()


def test_printed_sources_never_show_a_password():
    assert shown_source("postgresql+psycopg://ana:s3cret@db:5432/crm") == "postgresql+psycopg://ana:***@db:5432/crm"
    assert shown_source("work/world") == "work/world"
