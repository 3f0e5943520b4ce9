"""`surveyless serve`: the config's schedules as Prefect deployments, run by Prefect's own runner.

Schedules need a Prefect API with its scheduler running. When PREFECT_API_URL names one (a team's
server or Prefect Cloud), deployments register there; otherwise a local Prefect server is started
on a free loopback port, with its database in the work folder, and stopped on exit.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from features.loaders import is_database_url
from pipelines.config import Config

SERVER_START_SECONDS = 180


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def prefect_api(work: Path):
    """The Prefect API to register deployments with: the configured one, or a local server for the duration."""
    if os.environ.get("PREFECT_API_URL"):
        yield os.environ["PREFECT_API_URL"]
        return
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    log = (work / ".prefect" / "server.log").resolve()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=os.environ | {"PREFECT_API_URL": ""},
        )
    try:
        wait_for_health(url, server, log)
        os.environ["PREFECT_API_URL"] = url  # for the flow-run processes the runner starts
        yield url
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def wait_for_health(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the local Prefect server stopped while starting; see {log}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the local Prefect server did not answer within {SERVER_START_SECONDS} s; see {log}")


def deployments(config: Config, config_path: Path | None) -> list[tuple]:
    """One deployment per configured schedule, with the same plain-path parameters the CLI passes, beside its
    schedule."""
    from prefect.schedules import Cron

    from pipelines.flows import retrain_flow, score_flow

    parameters = {
        "config_path": str(Path(config_path).resolve()) if config_path else None,
        "data": config.data if is_database_url(config.data) else str(Path(config.data).resolve()),
        "out": str(Path(config.out).resolve()),
    }
    schedules = {retrain_flow: config.schedules.retrain, score_flow: config.schedules.score}
    return [
        (
            flow.to_deployment(
                name=f"surveyless-{flow.name}",
                parameters=parameters,
                schedules=[Cron(schedule.cron, timezone=schedule.timezone)],
            ),
            schedule,
        )
        for flow, schedule in schedules.items()
        if schedule is not None
    ]


def next_run(schedule) -> str:
    """When Prefect's scheduler will next start this cron, read the way Prefect reads it."""
    from prefect.server.schemas.schedules import CronSchedule

    upcoming = asyncio.run(CronSchedule(cron=schedule.cron, timezone=schedule.timezone).get_dates(1))
    return upcoming[0].isoformat(timespec="minutes")


def serve_schedules(config: Config, config_path: Path | None, for_seconds: float | None, console) -> list[str]:
    """Serves until stopped (Ctrl-C), or for `for_seconds`, saying what runs when and where to watch it; returns the
    deployments' names."""
    from prefect.runner import Runner
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    with prefect_api(Path(config.out)) as url, temporary_settings(updates={PREFECT_API_URL: url}):
        served = deployments(config, config_path)
        if not served:
            console.print("No schedule in the config (schedules.retrain, schedules.score): nothing to serve.")
            return []
        for deployment, schedule in served:
            console.print(
                f"Serving {deployment.name}: cron '{schedule.cron}' ({schedule.timezone}), next run "
                f"{next_run(schedule)}."
            )
        console.print(f"Prefect UI: {get_current_settings().ui_url}  (Ctrl-C stops serving)")
        runner = Runner(
            name="surveyless", pause_on_shutdown=True, limit=1
        )  # one run at a time: runs share the work folder
        for deployment, _ in served:
            runner.add_deployment(deployment)
        try:
            asyncio.run(asyncio.wait_for(runner.start(), timeout=for_seconds))
        except (TimeoutError, KeyboardInterrupt):
            pass
    return [deployment.name for deployment, _ in served]
