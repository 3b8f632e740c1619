"""Redis restarts in the middle of a batch job: the job still ends with every dossier stored once.

In a module of its own: the module-wide workers of other tests give up after
two short retries, and would fail dossiers during the outage.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from pipeline import dossier as keys
from storage import stack as local
from tests.helpers import SOHOA, Workers, run_sohoa


def test_a_job_survives_redis_restarting_midway(stack, workspace, archive, tmp_path):
    """Redis goes down after the files are handed in and comes back: the job ends, every dossier stored once."""
    archive, ids = archive
    workers = Workers(tmp_path / "worker.log", env={"SOHOA_MAX_RETRIES": "8", "SOHOA_RETRY_MIN_BACKOFF_MS": "500",
                                                     "SOHOA_RETRY_MAX_BACKOFF_MS": "4000"})
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
        manifest = workspace.records.get_json(keys.manifest_key(dossier_id))
        stored = sorted(k for k in workspace.records.keys(f"{dossier_id}/") if k.endswith(".pdf"))
        assert stored == sorted(d["pdf_key"] for d in manifest["documents"])  # once each, none left over
