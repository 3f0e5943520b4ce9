"""One real run through the CLI on a tiny world: generate, train (Prefect + MLflow), score, validate."""

import json
import re
import shutil
from html import unescape
from pathlib import Path

import pandas as pd
import pytest

from features.loaders import load_tables
from features.sentiment import LexiconScorer, with_sentiment
from features.training_sets import churn_rows
from models.prediction_file import COLUMN_NAMES, json_schema
from models.training import churn_probability
from pipelines.cli import main
from tests.pipelines.conftest import CONFIG

pytestmark = pytest.mark.slow


def prediction_folder(root):
    (folder,) = (root / "work" / "predictions").glob("as_of=*")
    return folder


def test_demo_exits_cleanly(demo_run):
    assert demo_run[2] == 0


def test_prediction_file_has_the_contract_columns_and_one_row_per_customer_who_can_churn(demo_run):
    from features.labels import ChurnDefinition, churn_population

    root = demo_run[0]
    folder = prediction_folder(root)
    predictions = pd.read_parquet(folder / "predictions.parquet")
    tables = load_tables(root / "world", "nps")
    population = churn_population(tables, tables.data_end, ChurnDefinition().resolved(tables))
    assert list(predictions.columns) == list(COLUMN_NAMES)
    assert len(predictions) == len(population) and (predictions.set_index("customer_id")["status"] == population).all()
    assert set(population) == {"active", "lapsed"} and len(population) > 0.95 * (
        tables.customers["signup_date"] < tables.data_end
    ).sum() - len(tables.churn_events)
    assert predictions["churn_probability"].between(0, 1).all()
    assert predictions["satisfaction_score"].between(0, 10).all()
    assert (predictions["satisfaction_lower"] <= predictions["satisfaction_score"]).all() and (
        predictions["satisfaction_score"] <= predictions["satisfaction_upper"]
    ).all()
    assert set(predictions["nps_category"]) <= {"promoter", "passive", "detractor"}
    shown = predictions["reason_1"] != ""
    assert shown.mean() > 0.5 and predictions.loc[shown, "reason_1"].str.contains(r"pts churn risk\)$").all()
    assert (predictions.loc[shown, "next_action"] != "").all() and (predictions.loc[~shown, "next_action"] == "").all()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["rows"] == len(predictions) and folder.name == f"as_of={tables.data_end.date()}"


def test_registered_champions_load_and_match_the_prediction_file(demo_run):
    from models.tracking.registry import CHURN_MODEL, SATISFACTION_MODEL, load_champion

    root = demo_run[0]
    predictions = pd.read_parquet(prediction_folder(root) / "predictions.parquet")
    churn = load_champion(root / "work", CHURN_MODEL)
    satisfaction = load_champion(root / "work", SATISFACTION_MODEL)
    assert predictions["churn_model_version"].unique().tolist() == [churn.version]
    assert predictions["satisfaction_model_version"].unique().tolist() == [satisfaction.version]
    assert predictions["run_id"].unique().tolist() == [churn.run_id]
    tables = with_sentiment(load_tables(root / "world", "nps"), LexiconScorer.shipped())
    rows = churn_rows(tables, predictions["as_of"].iloc[0], churn.recipe.churn, churn.recipe.features).reindex(
        predictions["customer_id"]
    )
    reproduced = churn_probability(churn, rows)
    assert reproduced == pytest.approx(predictions["churn_probability"].to_numpy(), abs=1e-12)


def test_real_output_validates_against_the_published_json_schema(demo_run):
    from jsonschema import Draft202012Validator, FormatChecker

    predictions = pd.read_parquet(prediction_folder(demo_run[0]) / "predictions.parquet")
    rows = json.loads(predictions.assign(as_of=predictions["as_of"].dt.strftime("%Y-%m-%d")).to_json(orient="records"))
    validator = Draft202012Validator(json_schema(), format_checker=FormatChecker())
    assert [error.message for row in rows for error in validator.iter_errors(row)] == []
    manifest = json.loads((prediction_folder(demo_run[0]) / "manifest.json").read_text())
    assert {
        "data_fingerprint",
        "config_hash",
        "drift",
        "churn_model_version",
        "satisfaction_model_version",
        "created_at",
        "sha256",
    } <= set(manifest)
    compared, features = set(manifest["drift"]["feature_psi"]), set(load_champion_features(demo_run[0]))
    growing = set(manifest["drift"]["not_compared"])
    assert growing == {"tenure_days", "days_since_first_order", "days_from_first_to_last_order", "order_days"}
    assert (
        compared <= features - growing
        and {f for f in features - compared - growing if not f.startswith("brand_")} == set()
    )  # brand-wide values are one per date
    assert (demo_run[0] / "work" / "predictions" / "latest").read_text().strip() == prediction_folder(demo_run[0]).name


def load_champion_features(root):
    from models.tracking.registry import CHURN_MODEL, load_champion

    return load_champion(root / "work", CHURN_MODEL).feature_names


def test_risk_bands_follow_the_thresholds_and_the_control_group_is_about_five_percent(demo_run):
    predictions = pd.read_parquet(prediction_folder(demo_run[0]) / "predictions.parquet")
    expected = pd.cut(
        predictions["churn_probability"], [0, 0.1, 0.3, 1], right=False, labels=["low", "medium", "high"]
    ).astype(str)
    assert (predictions["churn_risk"] == expected).all()
    assert 0.02 < predictions["control_group"].mean() < 0.09


def test_report_shows_the_headline_numbers_and_a_priority_list_by_value_at_risk(demo_run):
    (report,) = (demo_run[0] / "work" / "reports").glob("as_of=*/report.html")
    html = report.read_text()
    predictions = pd.read_parquet(prediction_folder(demo_run[0]) / "predictions.parquet")
    assert "Who to call first" in html and "Surveyed NPS" in html and "data:image/png;base64," in html
    assert f"<b>{len(predictions):,}</b>customers scored" in html
    assert f"<b>{(predictions['churn_risk'] == 'high').sum():,}</b>high-risk customers" in html
    assert re.search(r'id="high-risk"><b>[\d,]+</b>high-risk customers<br><span class="muted">carrying [\d.]+%', html)
    assert "Likelihood to recommend (0–10)" in html and "Satisfaction (NPS)" not in html
    priority = html[html.index('id="priority-list"') : html.index("</table>", html.index('id="priority-list"'))]
    listed = re.findall(r'<td data-label="Value at risk" class="num">€([\d,]+)</td>', priority)
    amounts = [int(amount.replace(",", "")) for amount in listed]
    assert len(amounts) == 25 and amounts == sorted(amounts, reverse=True)
    assert "<script" not in html and "http://" not in html.replace("http-equiv", "")


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
MEASURE = """<!doctype html><html><body style="margin:0">
<iframe id="f" src="{page}" style="width:{width}px;height:900px;border:0"></iframe>
<script>
document.getElementById('f').addEventListener('load', () => {{
  const page = document.getElementById('f').contentDocument;
  const cells = [...page.querySelectorAll('td')].filter(cell => cell.textContent.trim());
  const images = [...page.querySelectorAll('img')].map(image => image.getBoundingClientRect().right);
  document.body.setAttribute('data-measured', JSON.stringify({{
    scroll: page.documentElement.scrollWidth, client: page.documentElement.clientWidth,
    narrowest: Math.min(...cells.map(cell => cell.getBoundingClientRect().width)), image: Math.max(...images)}}));
}});
</script></body></html>"""


def chromium() -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (`make test-slow` installs Debian's chromium package)")
    return browser


def finnish_report(demo_copy) -> Path:
    root, arguments = demo_copy
    (root / "finnish.yaml").write_text(CONFIG + "language: fi\n")
    assert main(["score", "--as-of", "2025-09-01", "--config", str(root / "finnish.yaml"), *arguments[2:]]) == 0
    return root / "work" / "reports" / "as_of=2025-09-01" / "report.html"


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("language", ["en", "fi"])
def test_the_report_never_scrolls_sideways_and_every_column_is_readable(demo_run, demo_copy, tmp_path, language, width):
    import subprocess

    if language == "fi":
        report = finnish_report(demo_copy)
    else:
        (report,) = (demo_run[0] / "work" / "reports").glob("as_of=*/report.html")
    wrapper = tmp_path / "measure.html"
    wrapper.write_text(MEASURE.format(page=report.resolve().as_uri(), width=width))
    flags = [*CHROMIUM_FLAGS, "--allow-file-access-from-files", "--virtual-time-budget=5000", "--dump-dom"]
    dom = subprocess.run([chromium(), *flags, wrapper.as_uri()], capture_output=True, text=True, timeout=120).stdout
    measured = json.loads(re.search(r'data-measured="([^"]+)"', dom).group(1).replace("&quot;", '"'))
    assert measured["scroll"] <= measured["client"], measured
    assert measured["image"] <= measured["client"] and measured["narrowest"] >= (300 if width < 760 else 40), measured


def test_report_renders_in_headless_chromium_without_console_errors(demo_run, tmp_path):
    import subprocess

    root = demo_run[0]
    latest = (root / "work" / "predictions" / "latest").read_text().strip()
    page = (root / "work" / "reports" / latest / "report.html").resolve().as_uri()
    shot = tmp_path / "report.png"
    rendered = subprocess.run(
        [
            chromium(),
            *CHROMIUM_FLAGS,
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,4000",
            f"--screenshot={shot}",
            page,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rendered.returncode == 0 and shot.stat().st_size > 20_000
    assert [line for line in rendered.stderr.splitlines() if ":CONSOLE" in line] == []
    dom = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, "--dump-dom", page], capture_output=True, text=True, timeout=120
    ).stdout
    predictions = pd.read_parquet(root / "work" / "predictions" / latest / "predictions.parquet")
    assert f'id="customers-scored"><b>{len(predictions):,}</b>' in dom
    assert f'id="high-risk"><b>{(predictions["churn_risk"] == "high").sum():,}</b>' in dom
    assert 'id="inferred-nps"><b>' in dom


def test_an_unchanged_rerun_skips_and_keeps_the_files(demo_copy, capsys):
    root, arguments = demo_copy
    folder = prediction_folder(root)
    before = (folder / "manifest.json").read_text()
    assert main(["score", *arguments]) == 0
    assert "already made from the same data, config and models" in capsys.readouterr().out
    assert (folder / "manifest.json").read_text() == before
    assert main(["train", *arguments]) == 0
    assert "training skipped" in capsys.readouterr().out


def test_a_backfill_adds_its_own_folder_reproducibly_and_leaves_latest(demo_copy):
    root, arguments = demo_copy
    assert main(["score", "--as-of", "2025-06-01", *arguments]) == 0
    folder = root / "work" / "predictions" / "as_of=2025-06-01"
    first = (folder / "predictions.parquet").read_bytes()
    assert (pd.read_parquet(folder / "predictions.parquet")["as_of"] == pd.Timestamp("2025-06-01")).all()
    shutil.rmtree(folder)
    shutil.rmtree(root / "work" / "cache")
    assert main(["score", "--as-of", "2025-06-01", *arguments]) == 0
    assert (folder / "predictions.parquet").read_bytes() == first
    assert (root / "work" / "predictions" / "latest").read_text().strip() != "as_of=2025-06-01"


def test_evaluate_compares_a_past_date_with_what_customers_did(demo_copy, capsys):
    import mlflow

    from models.tracking.store import use_store

    root, arguments = demo_copy
    assert main(["score", "--as-of", "2025-06-01", *arguments]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--as-of", "2025-06-01", *arguments]) == 0
    output = " ".join(capsys.readouterr().out.split())
    assert (
        "churn ROC AUC 0." in output and "training labels overlap this date's horizon" in output
    )  # the demo model learned 2025-06 outcomes
    log = pd.read_csv(root / "work" / "evaluations.csv")
    assert log["as_of"].tolist() == ["2025-06-01"] and 0.5 < log["roc_auc"].iloc[0] <= 1
    use_store(root / "work")
    (run,) = mlflow.search_runs(
        experiment_names=["surveyless"], filter_string="tags.kind = 'evaluation'", output_format="list"
    )
    assert (
        run.data.tags["churn_model_version"] == "1"
        and run.data.tags["in_sample"] == "true"
        and "realised_roc_auc" in run.data.metrics
    )


def test_evaluate_before_the_horizon_has_passed_is_refused(demo_run, capsys):
    root, arguments, _ = demo_run
    latest = (root / "work" / "predictions" / "latest").read_text().strip().removeprefix("as_of=")
    assert main(["evaluate", "--as-of", latest, *arguments]) == 2
    assert "not yet known" in capsys.readouterr().err


ENGLISH_WORDS = ("the", "last", "days", "orders", "customers", "churn", "risk", "since", "value", "and", "of")


def visible_text(html: str) -> str:
    body = re.sub(r"<style.*?</style>|<title>.*?</title>", "", html, flags=re.S)
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", body)))  # keeps no-break spaces


def test_the_finnish_report_has_no_english_words_or_number_formats(demo_copy):
    from pipelines.report import TEXT

    html = finnish_report(demo_copy).read_text()
    text = visible_text(html)
    assert '<html lang="fi">' in html and "Kenelle soittaa ensin" in text and "Kipupisteet" in text
    assert not [word for word in ENGLISH_WORDS if re.search(rf"\b{word}\b", text, re.IGNORECASE)]
    english = {value for key, value in TEXT["en"].items() if isinstance(value, str) and value != TEXT["fi"][key]}
    assert not [p for p in english if "{" not in p and len(p) > 3 and re.search(rf"\b{re.escape(p)}\b", text)]
    assert not re.findall(r"\b[1-9]\d{0,2}(?:,\d{3})+\b", text), "English thousands separators"
    assert not re.findall(r"\d\.\d", text), "English decimal points"
    assert re.search(r"\d\u00a0\d{3}", text) and re.search(r"\d,\d %", text)
    predictions = pd.read_parquet(demo_copy[0] / "work" / "predictions" / "as_of=2025-09-01" / "predictions.parquet")
    reasons = predictions["reason_1"][predictions["reason_1"] != ""]
    assert len(reasons) and reasons.str.endswith("%-yks. poistumariski)").all()


def test_bad_input_exits_2_with_a_message_and_changes_no_output(demo_run, tmp_path, capsys):
    root, arguments, _ = demo_run
    broken = tmp_path / "broken"
    shutil.copytree(root / "world", broken)
    orders = pd.read_parquet(broken / "orders.parquet")
    orders.loc[3, "customer_id"] = "NOBODY"
    orders.to_parquet(broken / "orders.parquet")
    before = {p: p.stat().st_mtime_ns for p in (root / "work" / "predictions").rglob("*") if not p.name.startswith(".")}
    assert main(["score", *arguments[:2], "--data", str(broken), "--out", str(root / "work")]) == 2
    assert "orders: column 'customer_id' has 1 ids not in customers (rows 4: 'NOBODY')" in capsys.readouterr().err
    assert {
        p: p.stat().st_mtime_ns for p in (root / "work" / "predictions").rglob("*") if not p.name.startswith(".")
    } == before


def test_training_into_a_new_work_folder_works(demo_run, tmp_path, monkeypatch):
    root, arguments, _ = demo_run
    monkeypatch.delenv("PREFECT_HOME")
    fresh = tmp_path / "not" / "yet" / "there"
    assert main(["train", *arguments[:4], "--out", str(fresh)]) == 0
    assert (fresh / "mlflow.db").exists() and (fresh / ".prefect").is_dir()


def test_validate_prints_a_one_line_summary(demo_run, capsys):
    root, arguments, _ = demo_run
    assert main(["validate", *arguments]) == 0
    output = capsys.readouterr().out
    assert output.startswith("OK ") and "customers 800" in output


def test_console_output_is_quiet(demo_copy, capsys):
    root, arguments = demo_copy
    assert main(["score", *arguments]) == 0
    output = capsys.readouterr()
    assert " INFO " not in output.out + output.err and "Traceback" not in output.out + output.err


def test_a_model_failing_the_gate_stays_challenger_and_the_champion_stays(demo_copy, capsys):
    from models.tracking.registry import CHURN_MODEL, load_champion

    root, arguments = demo_copy
    champion_before = load_champion(root / "work", CHURN_MODEL).version
    strict = root / "strict.yaml"
    strict.write_text(CONFIG.replace("promotion: {must_beat_baselines: false}", "promotion: {min_improvement: 0.5}"))
    assert main(["train", "--config", str(strict), *arguments[2:]]) == 0
    assert "surveyless-churn: kept as challenger (roc_auc" in " ".join(capsys.readouterr().out.split())
    assert load_champion(root / "work", CHURN_MODEL).version == champion_before
    log = pd.read_csv(root / "work" / "promotion_log.csv", dtype=str)
    assert log["decision"].tolist()[-2:] == ["challenger", "challenger"] and log["decision"].iloc[0] == "champion"


def test_model_card_and_baselines_are_logged(demo_run):
    import mlflow

    from models.tracking.store import use_store

    use_store(demo_run[0] / "work")
    run = mlflow.search_runs(
        experiment_names=["surveyless"], order_by=["start_time ASC"], max_results=1, output_format="list"
    )[0]
    assert {
        "baseline_recency_rule_roc_auc",
        "baseline_logistic_regression_roc_auc",
        "baseline_bg_nbd_no_order_roc_auc",
        "churn_roc_auc_low",
    } <= set(run.data.metrics)
    assert run.data.tags["churn_decision"] == "champion" and len(run.data.tags["data_fingerprint"]) == 16
    card = mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/model_card.md")
    assert (
        "| LightGBM |" in card
        and "| bg_nbd_no_order |" in card
        and "Churn: contract end (churn_events) within 90 days" in card
    )


def test_a_served_schedule_fires_a_scoring_run(demo_copy, capsys):
    from pipelines.cache import config_hash
    from pipelines.config import load_config

    root, arguments = demo_copy
    served = root / "served.yaml"
    served.write_text(
        CONFIG
        + "scoring: {risk_thresholds: {medium: 0.15, high: 0.35}}\nschedules: {retrain: null, score: {cron: '* * * * * "
        "*/5', timezone: Europe/Helsinki}}\n"
    )
    expected = config_hash(load_config(served))
    assert main(["serve", "--config", str(served), *arguments[2:], "--for-seconds", "60"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "Serving surveyless-score: cron '* * * * * */5' (Europe/Helsinki), next run 20" in said
    assert "Prefect UI: http://127.0.0.1:" in said and "surveyless-retrain" not in said
    latest = (root / "work" / "predictions" / "latest").read_text().strip()
    assert json.loads((root / "work" / "predictions" / latest / "manifest.json").read_text())["config_hash"] == expected


def test_mlflow_tells_what_each_run_did(demo_run):
    import mlflow

    from models.tracking.registry import CHURN_MODEL
    from models.tracking.store import use_store

    use_store(demo_run[0] / "work")
    runs = mlflow.search_runs(experiment_names=["surveyless"], order_by=["start_time ASC"], output_format="list")
    training, scoring = runs[0], next(run for run in runs if run.data.tags["kind"] == "scoring")
    assert re.fullmatch(r"train on data to 2025-12-\d\d, 20\d\d-\d\d-\d\d \d\d:\d\d UTC", training.info.run_name)
    assert {dataset.dataset.name for dataset in training.inputs.dataset_inputs} >= {"churn training rows"}
    predictions = pd.read_parquet(prediction_folder(demo_run[0]) / "predictions.parquet")
    assert scoring.info.run_name.startswith(f"score {predictions['as_of'].iloc[0].date()}, ")
    assert scoring.data.metrics["customers_scored"] == len(predictions)
    assert scoring.data.metrics["customers_risk_high"] == (predictions["churn_risk"] == "high").sum()
    assert "prediction_psi" in scoring.data.metrics
    version = mlflow.MlflowClient().get_model_version(CHURN_MODEL, "1")
    assert version.tags["decision"] == "champion" and 0.5 < float(version.tags["roc_auc"]) <= 1
    assert "Churn model on " in version.description and "Gate: champion" in version.description


def test_the_whole_priority_list_can_be_exported_for_the_cx_team(demo_copy):
    root, arguments = demo_copy
    (root / "export.yaml").write_text(CONFIG + "report: {priority_list_csv: true, currency: SEK}\n")
    assert main(["score", "--as-of", "2025-10-01", "--config", str(root / "export.yaml"), *arguments[2:]]) == 0
    folder = root / "work" / "reports" / "as_of=2025-10-01"
    listed = pd.read_csv(folder / "priority_list.csv")
    predictions = pd.read_parquet(root / "work" / "predictions" / "as_of=2025-10-01" / "predictions.parquet")
    assert len(listed) == len(predictions) and listed["value_at_risk"].is_monotonic_decreasing
    assert {"segment", "value", "value_at_risk", "next_action", "control_group"} <= set(listed.columns)
    assert "SEK" in (folder / "report.html").read_text()
