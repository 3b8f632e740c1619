"""The S3 server goes away in the middle of a dossier and comes back: retries finish the job."""

from __future__ import annotations

import os
import random
import signal
import time

from pipeline import dossier as keys
from pipeline import steps
from samples.generate import render_letter, save_pages
from storage import stack as local
from tests.helpers import Workers, run_sohoa


def test_a_dossier_survives_the_s3_server_stopping_for_a_while(stack, workspace, dossier_id, tmp_path):
    rng = random.Random(12)
    path = tmp_path / "ho-so.tif"
    save_pages([render_letter(rng, 300, first=i == 0)[0] for i in range(4)], path, 300)
    # Retries patient enough for a restart: up to 8 attempts, 0.5 s to 4 s apart.
    workers = Workers(tmp_path / "worker.log", env={"SOHOA_MAX_RETRIES": "8", "SOHOA_RETRY_MIN_BACKOFF_MS": "500",
                                                     "SOHOA_RETRY_MAX_BACKOFF_MS": "4000"})
    workers.start(processes=2)
    try:
        assert run_sohoa("ingest", str(path), "--dossier", dossier_id).returncode == 0
        deadline = time.monotonic() + 120
        while sum(d.pages_read for d in steps.read_dossier(workspace, dossier_id)) < 1:
            assert time.monotonic() < deadline, "no page read"
            time.sleep(0.2)
        _, s3 = local.services(stack)
        os.kill(s3.pid(), signal.SIGKILL)  # the S3 server dies
        time.sleep(3)
        local.up(stack)  # and comes back, with its data
        deadline = time.monotonic() + 180
        while True:
            manifest = workspace.records.get_json_or_none(keys.manifest_key(dossier_id))
            if manifest and manifest["status"] != "processing":
                break
            assert time.monotonic() < deadline, "the dossier did not finish after the S3 server came back"
            time.sleep(0.5)
    finally:
        workers.stop()
    assert manifest["status"] == "complete", manifest
    assert manifest["documents"][0]["page_count"] == 4
    # The workers met the outage (refused connections) and rode it out: the S3
    # client's own retries first, Dramatiq's with backoff after those.
    assert b"NewConnectionError" in (tmp_path / "worker.log").read_bytes()
