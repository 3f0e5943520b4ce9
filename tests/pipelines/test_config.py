from pathlib import Path

import pytest

from pipelines.config import Config, ConfigError, load_config

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "default.yaml"


def test_default_yaml_documents_exactly_the_defaults():
    assert load_config(DEFAULT_CONFIG) == Config()


def test_unknown_keys_are_errors_that_name_the_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("churn:\n  horizon_dayz: 30\n")
    with pytest.raises(ConfigError, match=r"churn.horizon_dayz: Extra inputs are not permitted"):
        load_config(path)


def test_nested_model_settings_are_strict_too(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  churn:\n    n_trees: 10\n")
    with pytest.raises(ConfigError, match=r"model.churn.n_trees"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("churn:\n  horizon_days: 0\n", r"churn.horizon_days: Input should be greater than 0"),
        ("satisfaction:\n  scale: stars\n", r"satisfaction.scale: Input should be 'nps' or 'csat'"),
        ("cutoffs:\n  frequency: fortnightly\n", r"cutoffs.frequency"),
        ("- a list\n", r"must be a mapping"),
    ],
)
def test_bad_values_are_errors(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_partial_config_keeps_other_defaults_and_cli_overrides_win(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("churn:\n  horizon_days: 30\ndata: somewhere\n")
    config = load_config(path, data=Path("elsewhere"), out=Path("work2"))
    assert config.churn.horizon_days == 30 and config.churn.lapse_segments == ("consumer",)
    assert config.data == "elsewhere" and config.out == Path("work2")


def test_missing_config_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "absent.yaml")


def test_catch_up_scores_the_latest_date_or_every_missed_one():
    import pandas as pd

    from models.scoring import ScoringSettings

    done = [pd.Timestamp("2025-05-05")]
    end = pd.Timestamp("2025-06-03")
    assert ScoringSettings(frequency="W-MON", catch_up="latest").due_dates(done, end) == [end]
    every = ScoringSettings(frequency="W-MON", catch_up="all")
    assert every.due_dates(done, end) == [
        pd.Timestamp(d) for d in ("2025-05-12", "2025-05-19", "2025-05-26", "2025-06-02", "2025-06-03")
    ]
    assert every.due_dates([], end) == [end]


def test_risk_thresholds_must_be_ordered(tmp_path):
    import pytest

    from pipelines.config import ConfigError, load_config

    path = tmp_path / "bad.yaml"
    path.write_text("scoring: {risk_thresholds: {medium: 0.4, high: 0.3}}\n")
    with pytest.raises(ConfigError, match="medium"):
        load_config(path)


def test_a_database_url_given_on_the_command_line_stays_a_url():
    from pipelines.cli import parser

    url = "postgresql+psycopg://surveyless@db.internal:5432/crm"
    arguments = parser().parse_args(["validate", "--data", url])
    assert load_config(None, arguments.data).data == url
