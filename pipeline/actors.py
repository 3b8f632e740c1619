"""Dramatiq actors: thin wrappers that pass identifiers of staged objects between steps.

Messages hold a dossier ID, a stack ID and a page index, from which
pipeline.dossier derives the object keys; never image bytes. Importing this
module configures the broker from the settings (Redis or RabbitMQ), as
Dramatiq requires before actors are declared; `sohoa worker` runs it.

Retries: a step that raises (S3 or the broker away for a moment) is retried
with exponential backoff; when the retries are spent, `record_failure` marks
the stack failed with the last error, so the dossier shows it.
Bad input raises nothing here: the steps record it and the batch goes on.
"""

from __future__ import annotations

import logging
from functools import cache

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker

from pipeline import steps
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

STAGE = {
    "max_retries": SETTINGS.max_retries,
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
        process_page.send(dossier_id, stack, index)
    if not pages:
        publish_manifest.send(dossier_id)


@dramatiq.actor(**STAGE)
def process_page(dossier_id: str, stack: str, index: int) -> None:
    if steps.process_page(workspace(), dossier_id, stack, index):
        assemble_stack.send(dossier_id, stack)


@dramatiq.actor(**STAGE)
def assemble_stack(dossier_id: str, stack: str) -> None:
    for touched in steps.assemble_stack(workspace(), dossier_id, stack):
        publish_manifest.send(touched)


@dramatiq.actor(**{**STAGE, "on_retry_exhausted": None})
def publish_manifest(dossier_id: str) -> None:
    """Sent whenever a stack ends; only the last one writes the final manifest.

    Each stack writes its done/error marker before this runs, so of two
    stacks ending together at least the later one sees both finished.
    Checking first keeps a dossier of N stacks at N listings, not N full reads.
    """
    if steps.dossier_finished(workspace(), dossier_id):
        steps.publish_manifest(workspace(), dossier_id)


@dramatiq.actor(max_retries=SETTINGS.max_retries, min_backoff=SETTINGS.retry_min_backoff_ms)
def record_failure(message: dict, retry_info: dict) -> None:
    """Called by Dramatiq when a step has failed `max_retries` times in a row."""
    dossier_id, stack = message["args"][:2]
    last_line = (message["options"].get("traceback") or "unknown error").strip().splitlines()[-1]
    steps.record_failure(workspace(), dossier_id, stack, message["actor_name"], {
        "file": None, "page": message["args"][2] if len(message["args"]) > 2 else None,
        "reason": f"gave up after {retry_info['retries'] + 1} attempts: {last_line}",
        "hint": "Check that the S3 server and the broker are up, then ingest the file again.",
    })
    publish_manifest.send(dossier_id)
