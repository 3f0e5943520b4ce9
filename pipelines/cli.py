"""The `surveyless` command: parses arguments, sets quiet logging and a progress display, runs a flow.

Exit codes (nothing half-written in any case):
0 success; 1 anything unexpected; 2 bad input, configuration, no model trained yet or outcomes not yet known;
74 an I/O failure (disk full, unwritable folder, MLflow store locked or unreadable);
75 another run holds this work folder's lock (try again later); 130 interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
import warnings
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from features.contract import ContractError
from models.artifact import ModelMismatch
from models.monitoring import NotYetKnown
from models.tracking import MissingModelError, StoreUnavailable
from pipelines.config import DEFAULT_CONFIG, Config, ConfigError, load_config
from pipelines.writers import RunInProgress

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_IO_ERROR = 74
EXIT_BUSY = 75
EXIT_INTERRUPTED = 130
EXPORT_KEY = "SURVEYLESS_EXPORT_KEY"
USER_ERRORS = {
    ContractError: "invalid input",
    ConfigError: "invalid configuration",
    MissingModelError: "no model yet",
    NotYetKnown: "not yet known",
    ModelMismatch: "the champion model does not fit this run",
}


def quiet_environment(work: Path, verbose: bool) -> None:
    """Keeps Prefect's state and MLflow's store inside the work folder, telemetry off, logs quiet.

    The CLI reports failures itself, so Prefect logs only critical problems unless --verbose.
    Values the user already set (a Prefect server URL, say) are kept.
    """
    defaults = {
        "PREFECT_HOME": str((work / ".prefect").resolve()),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "true",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "PREFECT_LOGGING_LEVEL": "INFO" if verbose else "CRITICAL",
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "GIT_PYTHON_REFRESH": "quiet",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    warnings.filterwarnings("ignore")
    logging.getLogger().setLevel(logging.WARNING)


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=None,
        help=f"YAML config (default: {DEFAULT_CONFIG.relative_to(DEFAULT_CONFIG.parents[1])})",
    )
    common.add_argument(
        "--data",
        default=None,
        help="input folder (CSV/Parquet per table), DuckDB file or SQLAlchemy database URL; overrides the config's `data`",
    )
    common.add_argument(
        "--out",
        type=Path,
        default=None,
        help="work folder holding the MLflow store, predictions and reports; overrides the config's `out`",
    )
    common.add_argument(
        "--verbose", action="store_true", help="show Prefect's logs and full tracebacks for unexpected errors"
    )

    root = argparse.ArgumentParser(
        prog="surveyless", description="Infer each customer's satisfaction and churn risk without surveys."
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "demo",
        parents=[common],
        help="generate the synthetic world, train, score and summarise",
        description="Generate the synthetic world into --data, train both models, score every customer and print a summary.",
    )
    generate = commands.add_parser(
        "generate",
        parents=[common],
        help="write a synthetic world in the input contract",
        description="Write a synthetic world (contract tables plus truth/) to --data, or to --world-out when given.",
    )
    generate.add_argument("--customers", type=int, help="customers to simulate (default: config world.customers)")
    generate.add_argument("--seed", type=int, help="seed (default: config world.seed)")
    generate.add_argument("--world-out", type=Path, help="folder to write the world to (default: --data)")
    commands.add_parser(
        "validate",
        parents=[common],
        help="check a data source against the input contract",
        description="Check --data against the input contract; print every problem, or a one-line summary.",
    )
    commands.add_parser(
        "train",
        parents=[common],
        help="train both models, compare with baselines and the champion, log to MLflow",
        description="Train churn and satisfaction models out of time on --data, register them in --out, and promote each to champion only if it passes the promotion gate.",
    )
    score = commands.add_parser(
        "score",
        parents=[common],
        help="score every active customer at a date",
        description="Score every active customer with the champion models; write predictions and the report into --out. "
        "Without --as-of: the day after the data's last event, plus every missed calendar date when the config says catch_up: all.",
    )
    score.add_argument(
        "--as-of",
        dest="as_of",
        help="scoring date YYYY-MM-DD; a past date reproduces that date's scores from the same data",
    )
    commands.add_parser(
        "retrain",
        parents=[common],
        help="train, gate, then score with whichever model is champion",
        description="Train both models, let the promotion gate decide, then score with the champion.",
    )
    build = commands.add_parser(
        "features",
        parents=[common],
        help="build (and cache) features at a date",
        description="Build features of every active customer at --as-of into --out/cache/features/.",
    )
    build.add_argument("--as-of", dest="as_of", help="date YYYY-MM-DD (default: the day after the data's last event)")
    evaluate = commands.add_parser(
        "evaluate",
        parents=[common],
        help="compare a past date's predictions with what customers then did",
        description="Once the churn horizon after --as-of is inside the data: churn AUC and calibration, satisfaction error on surveys answered since, "
        "and high-risk churn of treated vs control customers; logged to MLflow against the model version that scored.",
    )
    evaluate.add_argument("--as-of", dest="as_of", required=True, help="the scoring date YYYY-MM-DD to evaluate")
    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="run the config's schedules (retrain, score) with Prefect until stopped",
        description="Serve the retrain and score flows as Prefect deployments on the cron schedules in the config; Ctrl-C stops.",
    )
    serve.add_argument(
        "--for-seconds", type=float, default=None, help="stop after this many seconds (default: run until stopped)"
    )
    export = commands.add_parser(
        "export",
        parents=[common],
        help="copy a date's predictions for another team, customer ids replaced by a keyed hash",
        description=f"Write the predictions of --as-of (default: the latest complete date) to --to (.parquet or .csv) with every customer_id "
        f"replaced by HMAC-SHA256 under the key in the environment variable {EXPORT_KEY}: the same key gives the same pseudonyms in every export.",
    )
    export.add_argument("--as-of", dest="as_of", help="scoring date YYYY-MM-DD (default: the latest complete one)")
    export.add_argument("--to", type=Path, required=True, help="file to write, .parquet or .csv")
    sentiment = commands.add_parser(
        "sentiment",
        help="train a text sentiment model on labelled mentions",
        description="Sentiment scoring for social mentions.",
    )
    sentiment_commands = sentiment.add_subparsers(dest="sentiment_command", required=True, metavar="ACTION")
    sentiment_train = sentiment_commands.add_parser(
        "train",
        parents=[common],
        help="fit TF-IDF + logistic regression on labelled mentions; the pipeline then uses it",
        description="Fit a text model on a CSV/Parquet of labelled mentions (labels negative/neutral/positive, or numbers in -1..1), "
        "report held-out accuracy and macro-F1 beside the lexicon's, and save it as the next version in --out/sentiment/.",
    )
    sentiment_train.add_argument(
        "--labelled", type=Path, required=True, help="CSV or Parquet file of labelled mentions"
    )
    sentiment_train.add_argument("--text-column", default="text", help="column holding the text (default: text)")
    sentiment_train.add_argument("--label-column", default="label", help="column holding the label (default: label)")
    return root


class ConsoleWarnings(logging.Handler):
    def __init__(self, console: Console):
        super().__init__(logging.WARNING)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        self.console.print(f"surveyless: warning: {record.getMessage()}")


def show_warnings(console: Console) -> None:
    """Warnings of our own code (dropped rows, say) reach the user even when every library is kept quiet."""
    for name in ("features", "models", "pipelines"):
        logger = logging.getLogger(name)
        logger.handlers = [ConsoleWarnings(console)]
        logger.propagate = False


def interrupt(signum, frame) -> None:
    """SIGTERM (a scheduler stopping the job) unwinds like Ctrl-C: open runs are marked failed, temporary files removed."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    console = Console(stderr=False, highlight=False, markup=False)
    errors = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
    show_warnings(errors)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)
    try:
        config = load_config(arguments.config, arguments.data, arguments.out)
        quiet_environment(Path(config.out), arguments.verbose)
        return COMMANDS[arguments.command](arguments, config, console)
    except tuple(USER_ERRORS) as error:
        errors.print(f"surveyless: {USER_ERRORS[type(error)]}\n{error}")
        return EXIT_BAD_INPUT
    except RunInProgress as error:
        errors.print(f"surveyless: busy\n{error}")
        return EXIT_BUSY
    except (OSError, StoreUnavailable) as error:
        errors.print(
            f"surveyless: cannot read or write\n{error}\nEarlier predictions, reports and models are unchanged."
        )
        return EXIT_IO_ERROR
    except KeyboardInterrupt:
        errors.print("surveyless: interrupted; earlier predictions, reports and models are unchanged.")
        return EXIT_INTERRUPTED
    except Exception as error:
        if arguments.verbose:
            raise
        errors.print(f"surveyless: {type(error).__name__}: {error}\n(run again with --verbose for the traceback)")
        return EXIT_FAILURE


def run_generate(arguments, config: Config, console: Console) -> int:
    from pipelines.progress import showing_progress, stage
    from pipelines.writers import write_world

    overrides = {key: getattr(arguments, key, None) for key in ("customers", "seed")}
    spec = replace(config.world_spec, **{key: value for key, value in overrides.items() if value is not None})
    folder = Path(getattr(arguments, "world_out", None) or config.data)
    with showing_progress(console), stage(f"Simulating {spec.customers:,} customers", total=spec.customers) as advance:
        counts = write_world(spec, folder, advance)
    console.print(f"World written to {folder}: " + ", ".join(f"{name} {rows:,}" for name, rows in counts.items()))
    return 0


def run_validate(arguments, config: Config, console: Console) -> int:
    import pandas as pd

    from features.loaders import load_tables, shown_source

    tables = load_tables(config.data, config.satisfaction.scale, config.unknown_customers, config.sql_options)
    sizes = ", ".join(f"{name} {len(frame):,}" for name, frame in tables.present().items())
    last_day = (tables.data_end - pd.Timedelta(days=1)).date()
    console.print(
        f"OK {shown_source(config.data)}: {sizes}; sources {', '.join(tables.event_sources)}; last event on {last_day}."
    )
    return 0


def flow_paths(arguments, config: Config) -> dict[str, str | None]:
    """Flows take plain paths, so deployments and schedules can pass the same ones."""
    return {
        "config_path": str(arguments.config) if arguments.config else None,
        "data": str(config.data),
        "out": str(config.out),
    }


def run_train(arguments, config: Config, console: Console) -> dict:
    from pipelines.flows import run_flow, train_flow
    from pipelines.progress import showing_progress

    with showing_progress(console):
        return run_flow(train_flow, **flow_paths(arguments, config))


def run_score(arguments, config: Config, console: Console) -> dict:
    from pipelines.flows import run_flow, score_flow
    from pipelines.progress import showing_progress

    with showing_progress(console):
        return run_flow(score_flow, as_of=getattr(arguments, "as_of", None), **flow_paths(arguments, config))


def retrain_command(arguments, config: Config, console: Console) -> int:
    from pipelines.flows import retrain_flow, run_flow
    from pipelines.progress import showing_progress

    with showing_progress(console):
        result = run_flow(retrain_flow, **flow_paths(arguments, config))
    print_training(result["train"], console)
    print_scoring(result["score"], config, console)
    return 0


def features_command(arguments, config: Config, console: Console) -> int:
    from pipelines.flows import build_features_flow, run_flow
    from pipelines.progress import showing_progress

    with showing_progress(console):
        built = run_flow(build_features_flow, as_of=arguments.as_of, **flow_paths(arguments, config))
    console.print(
        f"Features at {built['as_of']}: {built['customers']:,} customers x {built['features']} features, cached in {Path(config.out) / 'cache' / 'features'}."
    )
    return 0


def evaluate_command(arguments, config: Config, console: Console) -> int:
    from pipelines.flows import evaluate_flow, run_flow
    from pipelines.progress import showing_progress

    with showing_progress(console):
        result = run_flow(evaluate_flow, as_of=arguments.as_of, **flow_paths(arguments, config))
    realised, churn = result["realised"], result["realised"]["churn"]
    console.print(
        f"Predictions of {result['as_of']} (churn model v{result['churn_model_version']}) against the {config.churn.horizon_days} days since, {realised['customers']:,} customers:"
    )
    if realised["in_sample"]:
        console.print(
            "  Caution: this model's training labels overlap this date's horizon, so it saw some of these outcomes; the figures are optimistic."
        )
    console.print(
        f"  churn ROC AUC {shown(churn, 'roc_auc')} (95% CI {shown(churn, 'roc_auc_low')}-{shown(churn, 'roc_auc_high')}), ECE {shown(churn, 'ece')}, Brier {shown(churn, 'brier', '.4f')}, churn rate {churn['churn_rate']:.1%}."
    )
    if "satisfaction" in realised:
        console.print(
            f"  satisfaction on {realised['satisfaction']['answers']:,} answers since: MAE {realised['satisfaction']['mae']:.2f}, Spearman {realised['satisfaction']['spearman']:.3f}."
        )
    treated, control = realised["high_risk_treated"], realised["high_risk_control"]
    rate = lambda group: "n/a" if group["churn_rate"] is None else f"{group['churn_rate']:.1%}"  # noqa: E731
    console.print(
        f"  high-risk churn: treated {rate(treated)} of {treated['customers']:,}, control {rate(control)} of {control['customers']:,}."
    )
    console.print(
        f"  {'ALERT: ' + result['alert'] if result['alert'] else 'No performance alert.'} Logged to MLflow run {result['mlflow_run_id']}."
    )
    return 0


def serve_command(arguments, config: Config, console: Console) -> int:
    from pipelines.serving import serve_schedules

    deployments = serve_schedules(config, arguments.config, arguments.for_seconds)
    console.print(f"Stopped serving {', '.join(deployments)}.")
    return 0


def train_command(arguments, config: Config, console: Console) -> int:
    print_training(run_train(arguments, config, console), console)
    return 0


def score_command(arguments, config: Config, console: Console) -> int:
    scored = run_score(arguments, config, console)
    print_scoring(scored, config, console)
    return 0


def demo_command(arguments, config: Config, console: Console) -> int:
    started = time.perf_counter()
    run_generate(arguments, config, console)
    trained = run_train(arguments, config, console)
    scored = run_score(arguments, config, console)
    print_training(trained, console)
    print_scoring(scored, config, console)
    console.print(f"Demo finished in {time.perf_counter() - started:.0f} s.")
    return 0


def shown(metrics: dict, name: str, spec: str = ".3f") -> str:
    """A metric for people; 'n/a' when it could not be measured (e.g. no churner among the validation rows)."""
    return format(metrics[name], spec) if name in metrics else "n/a"


def print_training(trained: dict, console: Console) -> None:
    if trained["skipped"]:
        console.print(
            f"Data and config unchanged since training run {trained['run_id']}: nothing new to learn, training skipped."
        )
    card = trained["card"]
    churn, satisfaction = card["churn"]["metrics"], card["satisfaction"].get("metrics")
    console.print(
        f"Sources: {', '.join(card['sources']) or 'customers only'}; mention sentiment: {card['mention_sentiment']}; {card['cutoffs']['count']} cutoffs."
    )
    console.print(f"Churn: {card['churn_definition']}.")
    console.print(
        f"Churn model, held out ({card['churn']['validation']}): ROC AUC {shown(churn, 'roc_auc')} (95% CI {shown(churn, 'roc_auc_low')}-{shown(churn, 'roc_auc_high')}), "
        f"PR AUC {shown(churn, 'pr_auc')}, Brier {shown(churn, 'brier', '.4f')}, ECE {shown(churn, 'ece')} ({shown(churn, 'calibrated_ece')} calibrated), "
        f"top-decile lift {shown(churn, 'top_decile_lift', '.2f')} on {churn['rows']:,.0f} customers (churn rate {churn['churn_rate']:.1%})."
    )
    console.print(
        "Baselines, same rows: "
        + "; ".join(
            f"{name} not applicable ({m['not_applicable']})"
            if "not_applicable" in m
            else f"{name} ROC AUC {shown(m, 'roc_auc')}"
            for name, m in trained["baselines"].items()
        )
        + "."
    )
    for name, decision in trained["decisions"].items():
        console.print(
            f"{name}: {'promoted to champion' if decision['promote'] else 'kept as challenger'} ({decision['reason']})."
        )
    if satisfaction is None:
        console.print(f"Satisfaction model: {card['satisfaction']['validation']}.")
        return
    console.print(
        f"Satisfaction model, held out ({card['satisfaction']['validation']}): Spearman {satisfaction['spearman']:.3f} "
        f"(95% CI {satisfaction['spearman_low']:.3f}-{satisfaction['spearman_high']:.3f}), MAE {satisfaction['mae']:.2f} on {satisfaction['rows']:,.0f} survey answers; "
        f"90% interval coverage {satisfaction['interval_coverage']:.1%}."
    )
    if card.get("segment_nps"):
        table = card["segment_nps"]
        console.print(
            "NPS by segment (surveyed / inferred / inferred with response-bias correction): "
            + "; ".join(
                f"{segment} {table['surveyed'].get(segment, float('nan')):.0f} / {table['inferred_uncorrected'][segment]:.0f} / {value:.0f}"
                for segment, value in table["inferred_corrected"].items()
            )
            + "."
        )


def print_scoring(scored: dict, config: Config, console: Console) -> None:
    import pandas as pd

    from models.tracking import tracking_uri

    predictions = pd.read_parquet(Path(scored["predictions"]) / "predictions.parquet")
    if scored["skipped"]:
        console.print(
            f"Predictions for {scored['as_of']} already made from the same data, config and models: kept as they are."
        )
    if len(scored["scored_dates"]) > 1:
        console.print(f"Caught up on {len(scored['scored_dates'])} dates: {', '.join(scored['scored_dates'])}.")
    console.print(
        f"Scored {scored['customers']:,} customers as of {scored['as_of']} ({(predictions['churn_risk'] == 'high').sum():,} high risk)."
    )
    top = Table(title="Top 5 customers at risk", show_lines=True)
    for column in ("customer", "churn", "satisfaction", "why"):
        top.add_column(column)
    for row in predictions.nlargest(5, "churn_probability").itertuples():
        top.add_row(
            row.customer_id,
            f"{row.churn_probability:.1%}",
            f"{row.satisfaction_score:.1f}",
            "\n".join((row.reason_1, row.reason_2, row.reason_3)),
        )
    console.print(top)
    console.print(f"Predictions: {scored['predictions']}/predictions.parquet")
    console.print(f"Report:      {scored['report']}")
    console.print(
        f"MLflow runs: {tracking_uri(Path(config.out))}  (browse: mlflow ui --backend-store-uri {tracking_uri(Path(config.out))})"
    )


def export_command(arguments, config: Config, console: Console) -> int:
    import pandas as pd

    from models.scoring import pseudonymised
    from pipelines.writers import complete_dates, prediction_folder_name, write_table_atomically

    key = os.environ.get(EXPORT_KEY, "")
    if not key:
        raise ConfigError(
            f"set the environment variable {EXPORT_KEY} to the export key (a long random secret, kept out of the config): exports never carry plain customer ids"
        )
    if arguments.to.suffix.lower() not in (".parquet", ".csv"):
        raise ConfigError(f"--to {arguments.to}: the export is written as .parquet or .csv")
    root = Path(config.out) / "predictions"
    dates = complete_dates(root)
    wanted = pd.Timestamp(arguments.as_of) if arguments.as_of else None
    as_of = wanted if wanted is not None else max(dates, default=None)
    if as_of not in dates:
        raise NotYetKnown(
            f"no complete predictions for {arguments.as_of or 'any date'} in {root}: score first (surveyless score)"
        )
    exported = pseudonymised(pd.read_parquet(root / prediction_folder_name(as_of) / "predictions.parquet"), key)
    write_table_atomically(exported, arguments.to)
    console.print(
        f"Exported {len(exported):,} predictions of {as_of.date()} to {arguments.to}, customer ids replaced by keyed hashes."
    )
    return 0


def sentiment_command(arguments, config: Config, console: Console) -> int:
    from features.loaders import read_table_file
    from features.sentiment import fit_text_model, labelled_mentions
    from pipelines.progress import showing_progress, stage
    from pipelines.writers import next_sentiment_version, write_sentiment_model

    texts, labels = labelled_mentions(
        read_table_file(arguments.labelled, "labelled mentions"), arguments.text_column, arguments.label_column
    )
    work = Path(config.out)
    with showing_progress(console), stage(f"Training sentiment model on {len(texts):,} labelled mentions"):
        scorer, metrics = fit_text_model(texts, labels, config.model.seed, next_sentiment_version(work))
        folder = write_sentiment_model(scorer, metrics, work)
    model, lexicon = metrics["text_model"], metrics["lexicon"]
    console.print(
        f"Held out ({metrics['rows']['test']:,.0f} mentions): text model accuracy {model['accuracy']:.3f}, macro-F1 {model['macro_f1']:.3f}; "
        f"lexicon accuracy {lexicon['accuracy']:.3f}, macro-F1 {lexicon['macro_f1']:.3f}."
    )
    console.print(f"Saved {folder}; the pipeline now scores mentions with it (version {scorer.version}).")
    return 0


COMMANDS = {
    "sentiment": sentiment_command,
    "export": export_command,
    "demo": demo_command,
    "generate": run_generate,
    "validate": run_validate,
    "train": train_command,
    "score": score_command,
    "retrain": retrain_command,
    "features": features_command,
    "evaluate": evaluate_command,
    "serve": serve_command,
}

if __name__ == "__main__":
    sys.exit(main())
