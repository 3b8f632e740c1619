"""Faults in the middle of a batch job, against the real services: a worker killed outright, the S3
server gone for a whole minute, the S3 bucket's quota reached. Each job ends with every page stored
exactly once.

In a module of its own, with workers of its own: each fault must meet only them.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import urllib3

from pipeline import jobs
from samples.generate import render_letter, save_pages
from storage import stack as local
from tests.helpers import (Workers, assert_job_stored_once, assert_stored_once, finish, job_through_killed_workers,
                           make_archive, pages_read, run_sohoa, start_batch, wait_until)

DOSSIERS = 6


@pytest.fixture(scope="module")
def note(tmp_path_factory) -> Path:
    """A one-page letter, for the archive of many dossiers."""
    path = tmp_path_factory.mktemp("note") / "don.tif"
    save_pages([render_letter(random.Random(9), 300)[0]], path, 300)
    return path


def test_a_job_goes_on_after_its_worker_is_killed(stack, workspace, letter, tmp_path):
    ids = make_archive(tmp_path / "kho", letter, DOSSIERS)
    outcome = job_through_killed_workers(workspace, tmp_path / "kho", ids, tmp_path)
    assert_job_stored_once(workspace, ids, *outcome)


def test_a_job_waits_out_the_s3_server_gone_for_a_minute(stack, workspace, letter, tmp_path):
    ids = make_archive(tmp_path / "kho", letter, DOSSIERS)
    workers = Workers(tmp_path / "worker.log")
    workers.start(processes=2)
    batch = start_batch("batch", str(tmp_path / "kho"), "--json")
    _, s3 = local.services(stack)
    try:
        wait_until(lambda: pages_read(workspace, ids) >= 2, 180, "the first pages to be read")
        os.kill(s3.pid(), signal.SIGKILL)  # the S3 server dies mid-job
        time.sleep(60)
        assert batch.poll() is None, "the job gave up while the S3 server was away"
        local.up(stack)  # back, with its data
        code, answer, stderr = finish(batch)
    finally:
        local.up(stack)
        batch.kill()
        workers.stop()
    assert_job_stored_once(workspace, ids, code, answer, stderr)
    assert "the S3 server does not answer" in stderr and "answer again" in stderr  # told, then it went on
    log = (tmp_path / "worker.log").read_text()
    assert "NewConnectionError" in log and "Retrying message" in log  # the workers met the outage and waited


def weed_shell(stack, commands: str) -> str:
    """Commands for SeaweedFS's own admin shell (the one an operator uses), against the test stack's master."""
    return subprocess.run([local.weed_binary(), "shell", f"-master=127.0.0.1:{stack.stack_s3_port + 1}"],
                          input=commands, capture_output=True, text=True, timeout=60).stdout


def writable(workspace) -> bool:
    try:
        workspace.staging.put("_quota-test/probe", b"x", "application/octet-stream")
        return True
    except urllib3.exceptions.MaxRetryError:
        return False


def test_a_full_quota_stops_the_intake_and_loses_nothing(stack, workspace, note, tmp_path):
    """The staging bucket reaches its quota mid-intake: exit 7 with what to do; after room is made, resume ends it."""
    ids = make_archive(tmp_path / "kho", note, dossiers=30)
    bucket = stack.staging_bucket
    # Ballast, so the bucket is over a 1 MB quota whatever else the test session has stored.
    workspace.staging.put("_quota-test/ballast", os.urandom(3 << 20), "application/octet-stream")
    batch = start_batch("batch", str(tmp_path / "kho"), "--json")
    try:
        job_id = wait_until(lambda: [j for j in jobs.job_ids(workspace)
                                     if jobs.load(workspace, j)["source"] == str((tmp_path / "kho").resolve())], 60,
                            "the job's plan")[0]
        deadline = time.monotonic() + 60
        while sum(1 for _ in workspace.staging.keys(jobs.job_key(job_id, "item-"))) < 3:  # a listing: quick
            assert time.monotonic() < deadline, "no file was handed in"
            time.sleep(0.01)
        batch.send_signal(signal.SIGSTOP)  # held while the quota is set, so that it lands mid-intake
        before = len(jobs.handed_in(workspace, job_id))
        assert before < len(ids), "every file was handed in before the quota: nothing was tested"
        weed_shell(stack, f"s3.bucket.quota -name={bucket} -op=set -sizeMB=1\n")
        wait_until(lambda: "read only" in weed_shell(stack, "s3.bucket.quota.enforce -apply\n"), 60,
                   "SeaweedFS to see the bucket over its quota")
        wait_until(lambda: not writable(workspace), 60, "the S3 server to refuse writes")
        batch.send_signal(signal.SIGCONT)
        code, answer, stderr = finish(batch, timeout=300)
    finally:
        batch.send_signal(signal.SIGCONT)
        batch.kill()
        weed_shell(stack, f"s3.bucket.quota -name={bucket} -op=remove\ns3.bucket.quota.enforce -apply\n")
        wait_until(lambda: writable(workspace), 60, "the bucket to take writes again")
        workspace.staging.delete_prefix("_quota-test/")
    assert code == 7, stderr
    assert "refuses to store" in stderr and f"sohoa jobs resume {job_id}" in stderr
    assert answer["stopped"] == "storage_full" and before <= answer["handed_in"] < len(ids)
    handed = jobs.handed_in(workspace, job_id)
    assert len(handed) == answer["handed_in"]  # what the command said it handed in, and not one file more

    resumed = run_sohoa("jobs", "resume", job_id, "--workers", "2", "--json", timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert [row["status"] for row in json.loads(resumed.stdout)["dossiers"]] == ["complete"] * len(ids)
    for dossier_id in ids:
        assert_stored_once(workspace, dossier_id, pages=1)
