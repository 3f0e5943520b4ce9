from pathlib import Path

from pipelines.docs import contract_markdown, features_markdown, predictions_markdown

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_tables_are_the_declared_ones():
    for table in (contract_markdown(), predictions_markdown(), features_markdown()):
        assert table in README
