"""The lake watcher of `lakehouse up`: a new day's files start their run within ~0.5 s of landing.

Dagster's daemon evaluates sensors in a loop that passes every 5 s at best, so `raw_file_sensor`
asks for a day's run 0-5 s (median ~3.8 s here) after its files land. This process looks at
the lake every `POLL_S` (stats only, as the sensor does: orchestration/ingest/lake_scan.py) and
asks Dagster for the run at once, through the webserver's GraphQL API (Dagster's Python
client): the same job (`partition_pipeline`), the same day, the same queue, launcher, pools and
lineage as a sensor run.

The sensor stays in charge: the watcher's runs carry the sensor's name and the run key the
sensor's own tick would give the same arrivals (`file_sensor.run_key`), so Dagster's sensor
daemon skips a request the watcher already made (and the sensor's `already_covered` check skips
the day); files that landed while the watcher was not running, or that it failed to submit, are
the sensor's next tick. It starts nothing while the sensor is stopped (the UI's switch).
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path

from lakehouse_core.settings import Settings, child_env
from orchestration.services import background

POLL_S = 0.25
# How often the sensor's on/off switch is read again.
SENSOR_STATE_S = 5.0
LOCATION = "orchestration.definitions"  # `dagster dev -m orchestration.definitions`
REPOSITORY = "__repository__"
TRIGGER_TAG = "lakehouse/trigger"


def declare(settings: Settings) -> background.Service:
    command = (sys.executable, "-m", "orchestration.services.lake_watcher", "serve")
    return background.Service(
        label="the lake watcher",
        command=command,
        env=child_env(DAGSTER_HOME=str(settings.dagster_home), PYTHONUNBUFFERED="1", **settings.dagster_cli_env()),
        pid_file=settings.run_dir / "lake-watcher.pid",
        log_file=settings.log_dir / "lake-watcher.log",
        marks=(b"orchestration.services.lake_watcher", b"serve"),
        start_timeout_s=1.0,
        stop_timeout_s=10,
        banner=f"starting: the lake watcher ({settings.raw_dir}, every {POLL_S:g}s)",
    )


def start(settings: Settings) -> tuple[int, bool]:
    return background.start(declare(settings))


def stop(settings: Settings) -> bool:
    return background.stop(declare(settings))


def running_pid(settings: Settings) -> int | None:
    return background.running_pid(declare(settings))


class _Dagster:
    """The webserver's GraphQL API (Dagster's Python client) and the instance."""

    def __init__(self, settings: Settings) -> None:
        import dagster as dg
        from dagster_graphql import DagsterGraphQLClient

        self.instance = dg.DagsterInstance.get()
        self.client = DagsterGraphQLClient("127.0.0.1", port_number=settings.dagster_port, timeout=30)
        self.graphql_url = f"http://127.0.0.1:{settings.dagster_port}/graphql"
        self._sensor_on: tuple[float, bool] | None = None

    def sensor_running(self) -> bool:
        now = time.monotonic()
        if self._sensor_on is None or now - self._sensor_on[0] > SENSOR_STATE_S:
            self._sensor_on = (now, self._read_sensor_state())
        return self._sensor_on[1]

    def _read_sensor_state(self) -> bool:
        from orchestration.defs.file_sensor import raw_file_sensor

        query = """query($selector: SensorSelector!) { sensorOrError(sensorSelector: $selector) {
            __typename ... on Sensor { sensorState { status } } } }"""
        selector = {
            "repositoryLocationName": LOCATION,
            "repositoryName": REPOSITORY,
            "sensorName": raw_file_sensor.name,
        }
        # A plain POST on the loopback (urllib, like the services' readiness probes): the Python
        # client has no public call for a sensor's state.
        request = urllib.request.Request(
            self.graphql_url,
            data=json.dumps({"query": query, "variables": {"selector": selector}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # HTTPError on a 4xx/5xx
            answer = json.load(response)["data"]["sensorOrError"]
        return answer.get("__typename") == "Sensor" and answer["sensorState"]["status"] == "RUNNING"

    def submit(self, day: str, key: str) -> str:
        from dagster._core.storage.tags import RUN_KEY_TAG, SENSOR_NAME_TAG

        from orchestration.defs.file_sensor import raw_file_sensor
        from orchestration.defs.jobs import partition_pipeline

        tags = {
            "dagster/partition": day,
            SENSOR_NAME_TAG: raw_file_sensor.name,
            RUN_KEY_TAG: key,
            TRIGGER_TAG: "lake_watcher",
        }
        return self.client.submit_job_execution(
            partition_pipeline.name, repository_location_name=LOCATION, repository_name=REPOSITORY, tags=tags
        )


def serve() -> None:
    from lakehouse_core.settings import get_settings
    from orchestration.defs.file_sensor import already_covered, run_key
    from orchestration.ingest.lake_scan import scan_lake

    settings = get_settings()
    raw_dir: Path = settings.raw_dir
    cursor = scan_lake(raw_dir, _empty_cursor()).cursor  # what is there now is the sensor's business
    dagster = _Dagster(settings)
    print(f"watching {raw_dir} every {POLL_S:g}s", flush=True)
    while True:
        time.sleep(POLL_S)
        result = scan_lake(raw_dir, cursor)
        if not result.days:
            continue
        try:
            if not dagster.sensor_running():
                cursor = result.cursor  # switched off: neither now nor later (the sensor decides then)
                continue
            for day in result.days:
                if already_covered(dagster.instance, day, result.arrived_ns[day]):
                    continue
                run_id = dagster.submit(day, run_key(day, result.cursor))
                print(f"{day}: {len(result.files)} new files -> run {run_id}", flush=True)
        except Exception as exc:  # the webserver not up yet, restarting...: the sensor takes them
            print(f"could not start runs for {', '.join(result.days)} ({exc}); the sensor will", flush=True)
        cursor = result.cursor


def _empty_cursor():
    from orchestration.ingest.lake_scan import LakeCursor

    return LakeCursor()


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        serve()
    else:
        sys.exit("usage: python -m orchestration.services.lake_watcher serve")
