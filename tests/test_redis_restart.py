"""Redis restarts in the middle of a batch job: the job still ends with every dossier stored once.

In a module of its own, with workers of its own: the outage must meet only them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from storage import stack as local
from tests.helpers import SOHOA, Workers, assert_stored_once, run_sohoa


def test_a_job_survives_redis_restarting_midway(stack, workspace, archive, tmp_path):
    """Redis goes down after the files are handed in and comes back: the job ends, every dossier stored once."""
    archive, ids = archive
    workers = Workers(tmp_path / "worker.log")  # an outage is waited out (outage_patience_s), not retried twice
    workers.start(processes=2)
    try:
        batch = subprocess.Popen([SOHOA, "batch", str(archive), "--json"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while True:
            listed = [j for j in json.loads(run_sohoa("jobs", "list", "--json").stdout) if str(archive) == j["source"]]
            if listed and listed[0]["handed_in"] == listed[0]["items"]:
                break
            assert time.monotonic() < deadline, "the files were not handed in"
            time.sleep(0.3)
        redis, _ = local.services(stack)
        os.kill(redis.pid(), signal.SIGTERM)  # a clean restart: Redis writes its append-only file first
        time.sleep(3)
        local.up(stack)
        stdout, stderr = batch.communicate(timeout=300)
    finally:
        workers.stop()
    assert batch.returncode == 4, stderr  # the damaged file's dossier failed, as before; all else stored
    rows = {row["dossier_id"]: row for row in json.loads(stdout)["dossiers"]}
    assert [rows[i]["status"] for i in ids] == ["complete", "complete", "complete", "failed"]
    # The workers met the outage (their consumers reconnected) and rode it out.
    assert b"Restarting consumer" in (tmp_path / "worker.log").read_bytes()
    for dossier_id in ids[:3]:
        assert_stored_once(workspace, dossier_id)
