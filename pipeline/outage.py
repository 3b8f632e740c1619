"""Services away for a while: the faults that are waited out, not failed on.

An S3 server or broker restarting, or an S3 server refusing writes until an
operator frees disk space or raises a quota: the work is not wrong, only
early. Steps retry these for `outage_patience_s` (pipeline.actors), a batch
job waits for them and stops handing in files while storage is full
(pipeline.cli), and every other error keeps its few retries.

SeaweedFS answers a write into a bucket over its quota (made read-only by
`s3.bucket.quota.enforce`) with HTTP 500, which the minio client retries
and then reports as "too many 500 error responses": a refusal cannot be
told from a server failing on its own, and both are waited out alike.
MinIO names a full disk and a quota (XMinioStorageFull,
XMinioAdminBucketQuotaExceeded).

A broker that refuses our user name or password is no outage: waiting does
not mend a setting (`login_refused`).
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable
from typing import TypeVar

import dramatiq.errors
import pika.exceptions
import redis.exceptions
import urllib3.exceptions
from minio.error import S3Error, ServerError

UNREACHABLE = "unreachable"  # no answer: the S3 server or the broker is down or restarting
REFUSING = "refusing"  # the S3 server answers, but will not store: full disk, quota, or failing

T = TypeVar("T")

# S3 error codes of a server that will not store now: full, over quota, overloaded, failing.
REFUSAL_CODES = {"XMinioStorageFull", "XMinioAdminBucketQuotaExceeded", "QuotaExceeded", "ServiceUnavailable",
                 "SlowDown", "InternalError"}


# The broker answers but will not let us in (Redis's is a kind of its connection errors).
LOGIN_REFUSED = (redis.exceptions.AuthenticationError, pika.exceptions.AuthenticationError,
                 pika.exceptions.ProbableAuthenticationError, pika.exceptions.ProbableAccessDeniedError)


def login_refused(error: BaseException) -> bool:
    """True when the broker turned down the credentials or virtual host of `broker_url`."""
    return isinstance(error, LOGIN_REFUSED)


def kind(error: BaseException) -> str | None:
    """UNREACHABLE, REFUSING, or None for an error that is not an outage."""
    if login_refused(error):
        return None
    if isinstance(error, urllib3.exceptions.MaxRetryError) and isinstance(error.reason, urllib3.exceptions.ResponseError):
        return REFUSING  # the server answered, with 5xx, every time
    if isinstance(error, ServerError) or isinstance(error, S3Error) and error.code in REFUSAL_CODES:
        return REFUSING
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return REFUSING  # this machine's own disk (a worker's temporary files)
    if isinstance(error, (urllib3.exceptions.HTTPError, redis.exceptions.ConnectionError,
                          redis.exceptions.TimeoutError, dramatiq.errors.BrokerConnectionError,
                          pika.exceptions.AMQPConnectionError)):
        return UNREACHABLE
    return None


def describe(error: BaseException) -> str:
    """What a person is told of an outage."""
    if kind(error) == REFUSING:
        return ("the S3 server refuses to store objects (its disk may be full or a bucket quota reached; "
                f"{_last_line(error)})")
    service = "the S3 server" if isinstance(error, urllib3.exceptions.HTTPError) else "the broker"
    return f"{service} does not answer ({_last_line(error)})"


def _last_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[-1][:200] if text else type(error).__name__


def retries_spanning(seconds: float, min_backoff_ms: int, max_backoff_ms: int) -> int:
    """How many retries Dramatiq's backoff takes to span `seconds` at the least.

    Its delay doubles from the minimum up to the maximum, with jitter that
    never brings a capped delay under half the maximum.
    """
    waited_ms, retries = 0.0, 0
    while waited_ms < seconds * 1000:
        waited_ms += min(min_backoff_ms * 2 ** retries, max_backoff_ms / 2)
        retries += 1
    return retries


def wait_out(call: Callable[[], T], patience_s: float, on_wait: Callable[[BaseException | None], None],
             step_s: float = 2.0) -> T:
    """`call()`, tried again every `step_s` while the services do not answer, for `patience_s` at most.

    For a client following long work (a batch job): an S3 server or broker
    restarting must not end it. `on_wait(error)` is told when an outage
    begins and `on_wait(None)` when it is over. Refusals and every other
    error are raised at once, as is the outage once patience is spent.
    """
    began = None
    while True:
        try:
            result = call()
        except Exception as error:
            if kind(error) != UNREACHABLE:
                raise
            if began is None:
                began = time.monotonic()
                on_wait(error)
            elif time.monotonic() - began > patience_s:
                raise
            time.sleep(step_s)
            continue
        if began is not None:
            on_wait(None)
        return result
