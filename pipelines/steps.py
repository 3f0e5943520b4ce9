"""The steps flows are made of: pure functions from `features` and `models`, and the few I/O edges, each shown on
the progress display.

Inside a Prefect flow run a step is a Prefect task (seen in the UI, retried by Prefect); outside one it is the
plain function with the same retries, so a command run without a Prefect API starts no temporary server. Only
I/O steps retry, and never on the user's own mistakes. Frames pass between steps, so nothing is cached.
"""

from __future__ import annotations

import time

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.settings import get_current_settings

from features.builders import FeatureSettings
from features.loaders import load_tables
from features.sentiment import with_sentiment
from models.baselines import churn_baselines
from models.bias import fit_satisfaction_corrected
from models.plots import training_figures
from models.tracking.registry import champion_standing, load_champion, load_churn_champion
from models.tracking.runs import log_evaluation, log_scoring, log_training
from models.training import churn_reason_stability, fit_churn
from pipelines.errors import USER_ERRORS
from pipelines.progress import staged
from pipelines.report import write_report
from pipelines.writers import write_predictions

RETRIES = {"retries": 2, "retry_delay_seconds": (2, 10)}


def retry_unless_user_error(task, task_run, state) -> bool:
    """Retry I/O hiccups, never bad input or a missing model: those fail the same way every time."""
    return not isinstance(state.result(raise_on_failure=False), tuple(USER_ERRORS))


class Step:
    def __init__(self, label: str, function, retries: int = 0, retry_delay_seconds: tuple[int, ...] = ()):
        self.label, self.function, self.retries, self.delays = label, function, retries, tuple(retry_delay_seconds)
        self.run = staged(label, function)
        retrying = {
            "retries": retries,
            "retry_delay_seconds": list(self.delays),
            "retry_condition_fn": retry_unless_user_error,
        }
        self.task = task(self.run, name=function.__name__, cache_policy=NO_CACHE, **(retrying if retries else {}))

    def with_options(self, **options) -> Step:
        return Step(
            self.label, self.function, **{"retries": self.retries, "retry_delay_seconds": self.delays} | options
        )

    def __call__(self, *args, **kwargs):
        if FlowRunContext.get() is not None:
            return self.task(*args, **kwargs)
        for delay in self.delays[: self.retries]:
            try:
                return self.run(*args, **kwargs)
            except tuple(USER_ERRORS):
                raise
            except Exception:
                time.sleep(delay)
        return self.run(*args, **kwargs)


def run_flow(flow, **parameters):
    """A flow run through Prefect when there is a Prefect to report to (an API is configured, or this is inside
    another flow run), else its plain function: the same steps, without starting a temporary Prefect server."""
    if FlowRunContext.get() is not None or get_current_settings().api.url:
        return flow(**parameters)
    return flow.fn(**parameters)


def training_rows(executor, *arguments):
    return executor.training_rows(*arguments)


def scoring_rows(executor, *arguments):
    return executor.rows(*arguments)


def scored(executor, *arguments):
    return executor.scored(*arguments)


def champion_standings(work, names: dict[str, str]) -> dict:
    """Each registered model's champion, read in one step: the run's summary lists each step once."""
    return {kind: champion_standing(work, name) for kind, name in names.items()}


load_tables_step = Step("Loading and validating tables", load_tables, **RETRIES)
score_mentions_step = Step("Scoring mention sentiment", with_sentiment)
training_rows_step = Step("Building training sets over cutoffs and survey answers", training_rows)
fit_churn_step = Step("Training churn model", fit_churn)
fit_satisfaction_step = Step("Training satisfaction model, correcting survey response bias", fit_satisfaction_corrected)
baselines_step = Step("Scoring churn baselines on the same rows", churn_baselines)
standings_step = Step("Reading the champions (promotion gate)", champion_standings, **RETRIES)
themes_step = Step("Finding themes in what customers say", FeatureSettings.with_themes_found_in)
reason_stability_step = Step("Checking reason stability across seeds", churn_reason_stability)
figures_step = Step("Drawing SHAP and reliability plots", training_figures)
log_training_step = Step("Logging to MLflow and registering models", log_training, **RETRIES)
load_churn_champion_step = Step("Loading champion churn model", load_churn_champion, **RETRIES)
load_champion_step = Step("Loading champion satisfaction model", load_champion, **RETRIES)
scoring_rows_step = Step("Building features", scoring_rows)
scored_step = Step("Scoring customers and explaining scores", scored)
write_predictions_step = Step("Writing predictions", write_predictions, **RETRIES)
write_report_step = Step("Writing report", write_report, **RETRIES)
log_scoring_step = Step("Logging the scoring run to MLflow", log_scoring, **RETRIES)
log_evaluation_step = Step("Logging the evaluation to MLflow", log_evaluation, **RETRIES)
