from pathlib import Path

from pipelines.docs import with_reference_tables

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_tables_are_the_declared_ones():
    assert README.count("<!-- table:") == 3
    assert with_reference_tables(README) == README, "README tables are stale: run `make docs`"


def test_prefect_yaml_carries_the_default_config_schedules():
    from pipelines.docs import PREFECT_YAML, prefect_yaml

    assert PREFECT_YAML.read_text(encoding="utf-8") == prefect_yaml(), "prefect.yaml is stale: run `make docs`"
