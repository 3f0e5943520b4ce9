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
from datetime import date
from pathlib import Path

from rich.console import Console

from models.tracking.store import StoreUnavailable
from pipelines.config import Config, ConfigError, load_config, with_world
from pipelines.errors import USER_ERRORS
from pipelines.summaries import print_evaluation, print_scoring, print_training
from pipelines.writers import RunInProgress

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_IO_ERROR = 74
EXIT_BUSY = 75
EXIT_INTERRUPTED = 130
EXPORT_KEY = "SURVEYLESS_EXPORT_KEY"
MIN_EXPORT_KEY_LENGTH = 32


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


def calendar_date(text: str) -> str:
    """A date as YYYY-MM-DD, without time or zone: scores are made as of the start of a calendar day."""
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD (no time, no zone)") from None


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=None,
        help="YAML config; keys it leaves out keep their defaults (documented in configs/default.yaml)",
    )
    common.add_argument(
        "--data",
        default=None,
        help="input folder (CSV/Parquet per table), DuckDB file or SQLAlchemy database URL; overrides the config's "
        "`data`",
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
        description="Generate the synthetic world into --data, train both models, score every customer and print a "
        "summary.",
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
        description="Train churn and satisfaction models out of time on --data, register them in --out, and promote "
        "each to champion only if it passes the promotion gate.",
    )
    score = commands.add_parser(
        "score",
        parents=[common],
        help="score every active customer at a date",
        description="Score every active customer with the champion models; write predictions and the report into "
        "--out. "
        "Without --as-of: the day after the data's last event, plus every missed calendar date when the config says "
        "catch_up: all.",
    )
    score.add_argument(
        "--as-of",
        dest="as_of",
        type=calendar_date,
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
    build.add_argument(
        "--as-of",
        dest="as_of",
        type=calendar_date,
        help="date YYYY-MM-DD (default: the day after the data's last event)",
    )
    evaluate = commands.add_parser(
        "evaluate",
        parents=[common],
        help="compare a past date's predictions with what customers then did",
        description="Once the churn horizon after --as-of is inside the data: churn AUC and calibration, satisfaction "
        "error on surveys answered since, "
        "and high-risk churn of treated vs control customers; logged to MLflow against the model version that scored.",
    )
    evaluate.add_argument(
        "--as-of", dest="as_of", type=calendar_date, required=True, help="the scoring date YYYY-MM-DD to evaluate"
    )
    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="run the config's schedules (retrain, score) with Prefect until stopped",
        description="Serve the retrain and score flows as Prefect deployments on the cron schedules in the config; "
        "Ctrl-C stops.",
    )
    serve.add_argument(
        "--for-seconds", type=float, default=None, help="stop after this many seconds (default: run until stopped)"
    )
    export = commands.add_parser(
        "export",
        parents=[common],
        help="copy a date's predictions for another team, customer ids replaced by a keyed hash",
        description="Write the predictions of --as-of (default: the latest complete date) to --to (.parquet or .csv) "
        "with every customer_id "
        f"replaced by HMAC-SHA256 under the key in the environment variable {EXPORT_KEY}: the same key gives the same "
        "pseudonyms in every export.",
    )
    export.add_argument(
        "--as-of", dest="as_of", type=calendar_date, help="scoring date YYYY-MM-DD (default: the latest complete one)"
    )
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
        description="Fit a text model on a CSV/Parquet of labelled mentions (labels negative/neutral/positive, or "
        "numbers in -1..1), "
        "report held-out accuracy and macro-F1 beside the lexicon's, and save it as the next version in "
        "--out/sentiment/.",
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
    """SIGTERM (a scheduler stopping the job) unwinds like Ctrl-C: open runs are marked failed, temporary files
    removed."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    try:
        arguments = parser().parse_args(argv)
    except SystemExit as stop:  # argparse has printed the usage error (exit 2) or the help (exit 0)
        return stop.code
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

    spec = with_world(config, getattr(arguments, "customers", None), getattr(arguments, "seed", None))
    folder = Path(getattr(arguments, "world_out", None) or config.data)
    with showing_progress(console), stage(f"Simulating {spec.customers:,} customers", total=spec.customers) as advance:
        counts = write_world(spec, folder, config.satisfaction.scale, advance)
    console.print(f"World written to {folder}: " + ", ".join(f"{name} {rows:,}" for name, rows in counts.items()))
    return 0


def run_validate(arguments, config: Config, console: Console) -> int:
    import pandas as pd

    from features.loaders import load_tables, shown_source

    tables = load_tables(config.data, config.satisfaction.scale, config.unknown_customers, config.sql)
    sizes = ", ".join(f"{name} {len(frame):,}" for name, frame in tables.present().items())
    last_day = (tables.data_end - pd.Timedelta(days=1)).date()
    sources = ", ".join(tables.event_sources)
    console.print(f"OK {shown_source(config.data)}: {sizes}; sources {sources}; last event on {last_day}.")
    return 0


def run(flow_name: str, arguments, config: Config, console: Console, **parameters) -> dict:
    """Runs a flow with the progress display; flows take plain paths, so deployments can pass the same ones."""
    from pipelines import flows
    from pipelines.progress import showing_progress
    from pipelines.steps import run_flow

    paths = {
        "config_path": str(arguments.config) if arguments.config else None,
        "data": str(config.data),
        "out": str(config.out),
    }
    with showing_progress(console):
        return run_flow(getattr(flows, flow_name), **parameters, **paths)


def train_command(arguments, config: Config, console: Console) -> int:
    print_training(run("train_flow", arguments, config, console), console)
    return 0


def score_command(arguments, config: Config, console: Console) -> int:
    print_scoring(run("score_flow", arguments, config, console, as_of=arguments.as_of), Path(config.out), console)
    return 0


def retrain_command(arguments, config: Config, console: Console) -> int:
    result = run("retrain_flow", arguments, config, console)
    print_training(result["train"], console)
    print_scoring(result["score"], Path(config.out), console)
    return 0


def demo_command(arguments, config: Config, console: Console) -> int:
    started = time.perf_counter()
    run_generate(arguments, config, console)
    trained = run("train_flow", arguments, config, console)
    scored = run("score_flow", arguments, config, console, as_of=None)
    print_training(trained, console)
    print_scoring(scored, Path(config.out), console)
    console.print(f"Demo finished in {time.perf_counter() - started:.0f} s.")
    return 0


def features_command(arguments, config: Config, console: Console) -> int:
    built = run("build_features_flow", arguments, config, console, as_of=arguments.as_of)
    cache = Path(config.out) / "cache" / "features"
    console.print(
        f"Features at {built['as_of']}: {built['customers']:,} customers x {built['features']} features, cached in "
        f"{cache}."
    )
    return 0


def evaluate_command(arguments, config: Config, console: Console) -> int:
    print_evaluation(run("evaluate_flow", arguments, config, console, as_of=arguments.as_of), console)
    return 0


def serve_command(arguments, config: Config, console: Console) -> int:
    from pipelines.serving import serve_schedules

    served = serve_schedules(config, arguments.config, arguments.for_seconds, console)
    console.print(f"Stopped serving {', '.join(served)}.")
    return 0


def export_command(arguments, config: Config, console: Console) -> int:
    import pandas as pd

    from pipelines.writers import export_predictions

    key = os.environ.get(EXPORT_KEY, "")
    if not key:
        raise ConfigError(
            f"set the environment variable {EXPORT_KEY} to the export key (a long random secret, kept out of the "
            "config): exports never carry plain customer ids"
        )
    if len(key) < MIN_EXPORT_KEY_LENGTH:
        raise ConfigError(
            f"{EXPORT_KEY} has {len(key)} characters; use at least {MIN_EXPORT_KEY_LENGTH} random ones "
            "(python -c 'import secrets; print(secrets.token_hex(32))'): "
            "a short key lets anyone recover ids by guessing"
        )
    if arguments.to.suffix.lower() not in (".parquet", ".csv"):
        raise ConfigError(f"--to {arguments.to}: the export is written as .parquet or .csv")
    if arguments.to.exists() or arguments.to.is_symlink():
        raise ConfigError(f"--to {arguments.to} already exists: an export never replaces a file; choose a new name")
    if arguments.to.resolve().is_relative_to(Path(config.out).resolve()):
        raise ConfigError(f"--to {arguments.to} is inside the work folder {config.out}: export to a place of your own")
    wanted = pd.Timestamp(arguments.as_of) if arguments.as_of else None
    as_of, rows = export_predictions(Path(config.out) / "predictions", wanted, key, arguments.to)
    console.print(
        f"Exported {rows:,} predictions of {as_of.date()} to {arguments.to}, customer ids replaced by keyed hashes."
    )
    return 0


def sentiment_command(arguments, config: Config, console: Console) -> int:
    from features.loaders import read_table_file
    from features.sentiment import fit_text_model, labelled_mentions
    from pipelines.progress import showing_progress, stage
    from pipelines.writers import next_sentiment_version, write_sentiment_model

    labelled = read_table_file(arguments.labelled, "labelled mentions")
    texts, labels = labelled_mentions(labelled, arguments.text_column, arguments.label_column)
    work = Path(config.out)
    with showing_progress(console), stage(f"Training sentiment model on {len(texts):,} labelled mentions"):
        scorer, metrics = fit_text_model(texts, labels, config.model.seed, next_sentiment_version(work))
        folder = write_sentiment_model(scorer, metrics, work)
    model, lexicon = metrics["text_model"], metrics["lexicon"]
    console.print(
        f"Held out ({metrics['rows']['test']:,.0f} mentions): text model accuracy {model['accuracy']:.3f}, "
        f"macro-F1 {model['macro_f1']:.3f}; lexicon accuracy {lexicon['accuracy']:.3f}, macro-F1 "
        f"{lexicon['macro_f1']:.3f}."
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
