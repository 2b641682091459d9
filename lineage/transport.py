"""`OutboxTransport`: an openlineage-python transport that appends every event to the outbox.

openlineage-python 1.54 builds a transport from config by dotted path: the factory imports
`transport.type` when it is not a registered name, checks it subclasses `Transport`, and calls
`cls(cls.config_class.from_dict(transport_config))`. So `openlineage.yml` with

    transport:
      type: lineage.transport.OutboxTransport
      path: /abs/outbox.sqlite3   # optional, absolute; default <data dir>/lineage/outbox.sqlite3
      strict: false

selects it for dbt-ol and the Dagster side alike. Delivery to Marquez is the outbox's business
(later), not the emitter's: a run never waits on, or fails because of, the lineage backend.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attr
from openlineage.client.serde import Serde
from openlineage.client.transport.transport import Config, Transport

from lineage.dbt_seeds import add_seed_inputs
from lineage.outbox import Outbox

if TYPE_CHECKING:
    from openlineage.client.client import Event

log = logging.getLogger(__name__)


@attr.define
class OutboxConfig(Config):
    path: str | None = None
    # Raise when an event cannot be stored (tests, tools). Off by default: a full disk must not
    # fail the pipeline run that emitted the event.
    strict: bool = False

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> OutboxConfig:
        # Other keys are ignored on purpose: with OPENLINEAGE_URL set, the client injects
        # `transports.default_http` into whatever transport config it finds.
        path = params.get("path") or None
        if path and not Path(path).is_absolute():
            # dbt runs in dbt/, Dagster in the repo root: a relative path would split the outbox.
            raise ValueError(f"outbox transport path must be absolute, got {path!r}")
        return cls(path=path, strict=_as_bool(params.get("strict", False)))


class OutboxTransport(Transport):
    kind = "outbox"
    config_class = OutboxConfig

    def __init__(self, config: OutboxConfig) -> None:
        self.config = config
        self.outbox = Outbox(config.path)

    def emit(self, event: Event) -> int | None:
        """Append the event; returns its outbox sequence number, or None if it could not be stored."""
        try:
            body = Serde.to_json(event)
            if '"dbt_node"' in body:  # a dbt-ol node event: complete its seed inputs (lineage/dbt_seeds.py)
                body = json.dumps(add_seed_inputs(json.loads(body)))
            return self.outbox.append(body)
        except Exception as exc:
            if self.config.strict:
                raise
            log.warning("OpenLineage event not stored in the outbox %s: %s", self.outbox.path, exc, exc_info=True)
            return None


def _as_bool(value: Any) -> bool:
    # Values from OPENLINEAGE__TRANSPORT__STRICT arrive as parsed JSON or as plain strings.
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
