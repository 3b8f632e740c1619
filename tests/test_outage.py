"""What is waited out and what is not: real errors from real clients, sorted by pipeline.outage."""

from __future__ import annotations

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
import urllib3
from minio import Minio
from minio.error import S3Error

from pipeline import outage


def error_of(call) -> BaseException:
    try:
        call()
    except Exception as exc:  # the error the real client raises
        return exc
    raise AssertionError("no error")


def nobody_listens() -> int:
    return 1  # port 1 on loopback: refused at once


def broker_away() -> redis.Redis:
    """A Redis client of a broker that is down, trying once (redis-py's own retries take seconds)."""
    return redis.Redis(port=nobody_listens(), retry=Retry(NoBackoff(), 0))


def test_a_service_that_does_not_answer_is_an_outage():
    s3 = Minio(f"127.0.0.1:{nobody_listens()}", access_key="a", secret_key="b", secure=False,
               http_client=urllib3.PoolManager(retries=urllib3.Retry(total=0)))
    away = error_of(lambda: s3.bucket_exists("dossiers"))
    assert outage.kind(away) == outage.UNREACHABLE and outage.describe(away).startswith("the S3 server does not")
    away = error_of(broker_away().ping)
    assert outage.kind(away) == outage.UNREACHABLE and outage.describe(away).startswith("the broker does not")


def test_a_broker_refusing_the_password_is_no_outage(stack):
    """A user the tests' Redis does not know is refused (RabbitMQ's refusal: test_rabbitmq)."""
    refused = error_of(redis.Redis(port=stack.stack_redis_port, username="nobody", password="not-this-one").ping)
    assert isinstance(refused, redis.exceptions.ConnectionError)  # redis-py counts it among connection errors
    assert outage.login_refused(refused) and outage.kind(refused) is None  # a setting to mend: not waited out


def test_a_full_disk_is_an_outage_and_a_missing_object_is_not(workspace):
    def fill() -> None:
        with open("/dev/full", "wb") as disk:  # the kernel's always-full device: ENOSPC
            disk.write(b"page")
    full = error_of(fill)
    assert outage.kind(full) == outage.REFUSING and "disk may be full" in outage.describe(full)
    missing = error_of(lambda: workspace.staging.get("no/such/key"))
    assert isinstance(missing, S3Error) and outage.kind(missing) is None  # a step's own fault: a few retries only
    assert outage.kind(ValueError("bad page")) is None


def test_wait_out_goes_on_once_the_service_is_back_and_gives_up_after_patience():
    broker, told, calls = broker_away(), [], []

    def twice_away() -> str:
        calls.append(1)
        if len(calls) < 3:
            broker.ping()  # refused: the broker is restarting
        return "done"
    assert outage.wait_out(twice_away, 30, told.append, step_s=0.05) == "done"
    assert len(calls) == 3 and isinstance(told[0], redis.exceptions.ConnectionError) and told[1:] == [None]

    with pytest.raises(redis.exceptions.ConnectionError):
        outage.wait_out(broker.ping, 0.3, lambda error: None, step_s=0.05)
    with pytest.raises(ValueError):  # not an outage: raised at once
        outage.wait_out(lambda: int("x"), 30, told.append, step_s=0.05)


def test_patient_retries_span_the_patience():
    # 1 + 2 + 4 + 8 + 16 s, then at least 30 s each (jitter keeps a capped delay above half the cap).
    assert outage.retries_spanning(31, 1000, 60000) == 5
    assert outage.retries_spanning(61, 1000, 60000) == 6
    assert outage.retries_spanning(3600, 1000, 60000) == 5 + 119
