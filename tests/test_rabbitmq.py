"""The pipeline on RabbitMQ (`broker_url: amqp://...`), the broker production may use instead of Redis.

A RabbitMQ node of the tests' own (tests/rabbitmq.py) carries batch jobs
through their workers killed and through the node itself restarting; S3 is
the usual test stack. Each job ends with every page stored exactly once.
"""

from __future__ import annotations

import time

import pika
import pytest

from tests.helpers import (Workers, all_pages_read, assert_job_stored_once, finish, job_through_killed_workers,
                           make_archive, pages_read, run_sohoa, start_batch, wait_until)
from tests.rabbitmq import RabbitMQ, free_port

DOSSIERS = 4


@pytest.fixture(scope="module")
def rabbitmq(tmp_path_factory):
    node = RabbitMQ(tmp_path_factory.mktemp("rabbitmq"))
    node.start()
    yield node
    node.stop()


def queue_exists(url: str, name: str) -> bool:
    """Asked of the node itself: a passive declare fails for a queue nobody declared."""
    with pika.BlockingConnection(pika.URLParameters(url)) as connection:
        try:
            connection.channel().queue_declare(name, passive=True)
            return True
        except pika.exceptions.ChannelClosedByBroker:
            return False


def test_a_job_on_rabbitmq_survives_its_workers_killed(stack, workspace, letter, rabbitmq, tmp_path):
    """RabbitMQ hands a dead worker's unacknowledged messages on as soon as its connection drops."""
    assert not queue_exists(rabbitmq.url, "default")
    ids = make_archive(tmp_path / "kho", letter, DOSSIERS)
    outcome = job_through_killed_workers(workspace, tmp_path / "kho", ids, tmp_path, {"SOHOA_BROKER_URL": rabbitmq.url})
    assert_job_stored_once(workspace, ids, *outcome)
    assert queue_exists(rabbitmq.url, "default")  # the messages went through this node, not the tests' Redis


def test_a_job_on_rabbitmq_goes_on_after_the_broker_restarts(stack, workspace, letter, rabbitmq, tmp_path):
    """Queues and messages are durable: a node stopped cleanly mid-job and started again loses none of them."""
    on_rabbitmq = {"SOHOA_BROKER_URL": rabbitmq.url}
    ids = make_archive(tmp_path / "kho", letter, DOSSIERS)
    workers = Workers(tmp_path / "worker.log", on_rabbitmq)
    workers.start(processes=2)
    batch = start_batch("batch", str(tmp_path / "kho"), "--json", env=on_rabbitmq)
    try:
        wait_until(lambda: pages_read(workspace, ids) >= 2, 180, "the first pages to be read")
        rabbitmq.stop()  # SIGTERM: the node closes its connections and stops
        assert not all_pages_read(workspace, ids), "the job ended before the stop: nothing was tested"
        time.sleep(5)
        rabbitmq.start()
        outcome = finish(batch)
    finally:
        batch.kill()
        workers.stop()
    assert_job_stored_once(workspace, ids, *outcome)
    assert b"Restarting consumer" in (tmp_path / "worker.log").read_bytes()  # the workers met the outage


def test_a_rabbitmq_that_does_not_answer_is_named(stack, letter, rabbitmq, tmp_path):
    make_archive(tmp_path / "kho", letter, 1)
    closed = rabbitmq.url.replace(f":{rabbitmq.amqp_port}/", f":{free_port(rabbitmq.epmd_port + 1)}/")
    result = run_sohoa("batch", str(tmp_path / "kho"), env={"SOHOA_BROKER_URL": closed})
    assert result.returncode == 5, result.stderr
    assert "the broker does not answer" in result.stderr

    wrong_password = rabbitmq.url.replace(rabbitmq.password, "not-" + rabbitmq.password)
    result = run_sohoa("batch", str(tmp_path / "kho"), env={"SOHOA_BROKER_URL": wrong_password})
    assert result.returncode == 5, result.stderr
    assert "the broker refuses the user name or password" in result.stderr
