"""Dramatiq actors: thin wrappers that pass identifiers of staged objects between steps.

Messages hold a dossier ID, a stack ID and a page index, from which
pipeline.dossier derives the object keys; never image bytes. Importing this
module configures the broker from the settings (Redis or RabbitMQ), as
Dramatiq requires before actors are declared; `sohoa worker` runs it.

Retries: a step that raises is retried with exponential backoff: through an
outage (S3 server or broker away, storage full; pipeline.outage) for
`outage_patience_s`, after any other error `max_retries` times. When the
retries are spent, `record_failure` marks the stack failed with the last
error, so the dossier shows it.
Bad input raises nothing here: the steps record it and the batch goes on.
"""

from __future__ import annotations

import logging
import time
from functools import cache

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker

from pipeline import outage, steps
from pipeline.settings import Settings, load_settings

log = logging.getLogger("sohoa.actors")


def make_broker(settings: Settings) -> dramatiq.Broker:
    url = settings.broker_address
    if url.startswith(("amqp://", "amqps://")):
        return RabbitmqBroker(url=url)
    if url.startswith(("redis://", "rediss://", "unix://")):
        # Maintenance (handing a dead worker's messages to others) on 1% of commands
        # instead of 0.1%: a killed worker's pages are picked up in seconds, not minutes.
        return RedisBroker(url=url, heartbeat_timeout=settings.broker_heartbeat_timeout_s * 1000,
                           maintenance_chance=10_000)
    raise ValueError(f"broker_url {url!r}: use redis://... or amqp://...")


SETTINGS = load_settings()
dramatiq.set_broker(make_broker(SETTINGS))


def check_broker() -> None:
    """Raise the broker's connection error now if it cannot be reached (a client's first contact)."""
    broker = dramatiq.get_broker()
    if isinstance(broker, RedisBroker):
        broker.client.ping()
    else:
        broker.connection  # noqa: B018  (RabbitMQ: opening the connection is the check)


def send(actor: dramatiq.Actor, *args: object) -> None:
    """Send a step's follow-up, waiting out a broker that is away for a moment (a Redis restart).

    Raising instead would lose the step's work for a long while: without the
    broker the message being processed can be neither retried nor
    acknowledged, and Dramatiq's Redis broker hands on unacknowledged
    messages only from workers that died. The steps are idempotent, so a
    follow-up sent late is as good as one sent at once.
    """
    deadline = time.monotonic() + 4 * SETTINGS.broker_heartbeat_timeout_s
    while True:
        try:
            actor.send(*args)
            return
        except Exception as error:
            if outage.kind(error) != outage.UNREACHABLE or time.monotonic() > deadline:
                raise
            log.warning("broker unreachable; sending %s again in 1 s", actor.actor_name)
            time.sleep(1)


# An outage (S3 server or broker away, storage refusing writes) is retried for
# outage_patience_s; any other error max_retries times.
OUTAGE_RETRIES = outage.retries_spanning(SETTINGS.outage_patience_s, SETTINGS.retry_min_backoff_ms,
                                         SETTINGS.retry_max_backoff_ms)


def retry_when(retries: int, error: BaseException) -> bool:
    """Whether a failed step is tried again: patiently through an outage, a few times otherwise."""
    return retries < (OUTAGE_RETRIES if outage.kind(error) else SETTINGS.max_retries)


STAGE = {
    "retry_when": retry_when,
    "min_backoff": SETTINGS.retry_min_backoff_ms,
    "max_backoff": SETTINGS.retry_max_backoff_ms,
    "time_limit": SETTINGS.stage_time_limit_s * 1000,
    "on_retry_exhausted": "record_failure",
}


@cache
def workspace() -> steps.Workspace:
    """Opened once per worker process, on the first message."""
    return steps.Workspace.open(SETTINGS)


@dramatiq.actor(**STAGE)
def split_source(dossier_id: str, stack: str) -> None:
    pages = steps.split_source(workspace(), dossier_id, stack)
    for index in pages:
        send(process_page, dossier_id, stack, index)
    if not pages:
        send(publish_manifest, dossier_id)


@dramatiq.actor(**STAGE)
def process_page(dossier_id: str, stack: str, index: int) -> None:
    if steps.process_page(workspace(), dossier_id, stack, index):
        send(assemble_stack, dossier_id, stack)


@dramatiq.actor(**STAGE)
def assemble_stack(dossier_id: str, stack: str) -> None:
    for touched in steps.assemble_stack(workspace(), dossier_id, stack):
        send(publish_manifest, touched)


@dramatiq.actor(**{**STAGE, "on_retry_exhausted": None})
def publish_manifest(dossier_id: str) -> None:
    """Sent whenever a stack ends; only the last one writes the final manifest.

    Each stack writes its done/error marker before this runs, so of two
    stacks ending together at least the later one sees both finished.
    Checking first keeps a dossier of N stacks at N listings, not N full reads.
    """
    if steps.dossier_finished(workspace(), dossier_id):
        steps.publish_manifest(workspace(), dossier_id)


@dramatiq.actor(retry_when=retry_when, min_backoff=SETTINGS.retry_min_backoff_ms,
                max_backoff=SETTINGS.retry_max_backoff_ms)
def record_failure(message: dict, retry_info: dict) -> None:
    """Called by Dramatiq when a step's retries are spent (see `retry_when`)."""
    dossier_id, stack = message["args"][:2]
    last_line = (message["options"].get("traceback") or "unknown error").strip().splitlines()[-1]
    steps.record_failure(workspace(), dossier_id, stack, message["actor_name"], {
        "file": None, "page": message["args"][2] if len(message["args"]) > 2 else None,
        "reason": f"gave up after {retry_info['retries'] + 1} attempts: {last_line}",
        "hint": "Check that the S3 server and the broker are up, then ingest the file again.",
    })
    send(publish_manifest, dossier_id)
