"""One trained work folder on a tiny world, shared by the end-to-end and failure tests (training it takes half a
minute)."""

import shutil

import pytest

from pipelines.cli import main

CONFIG = """
world: {customers: 800, seed: 5}
model:
  churn: {n_estimators: 60, learning_rate: 0.1}
  satisfaction: {n_estimators: 60, learning_rate: 0.1}
output: {csv: true}
promotion: {must_beat_baselines: false}
"""


def paths_of(root) -> list[str]:
    return ["--config", str(root / "config.yaml"), "--data", str(root / "world"), "--out", str(root / "work")]


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """(root, CLI arguments, exit code) of `surveyless demo`; root holds config.yaml, world/ and work/."""
    root = tmp_path_factory.mktemp("e2e")
    (root / "config.yaml").write_text(CONFIG)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREFECT_HOME", str(root / "prefect"))
        arguments = paths_of(root)
        code = main(["demo", *arguments])
        yield root, arguments, code


@pytest.fixture
def demo_copy(demo_run, tmp_path):
    """(root, CLI arguments) of a private copy of the demo's config, world and work folder: a test may rescore,
    retrain or break it without changing what any other test reads, so tests pass in any order."""
    root = demo_run[0]
    for part in ("world", "work"):
        shutil.copytree(root / part, tmp_path / part)
    shutil.copy(root / "config.yaml", tmp_path / "config.yaml")
    return tmp_path, paths_of(tmp_path)
