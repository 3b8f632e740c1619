"""A worker SIGKILLed in the middle of a dossier: a new worker finishes it, every page once."""

from __future__ import annotations

import random

import pikepdf

from pipeline import dossier as keys
from pipeline import steps
from samples.generate import render_letter, save_pages
from tests.helpers import Workers, run_sohoa, wait_until


def test_killed_worker_loses_nothing_and_duplicates_nothing(stack, workspace, dossier_id, tmp_path):
    rng = random.Random(3)
    sizes = {"ho-so-a.pdf": 5, "ho-so-b.tif": 3, "ho-so-c.pdf": 2}
    for name, count in sizes.items():
        save_pages([render_letter(rng, 300, rng.uniform(-1, 1), first=i == 0)[0] for i in range(count)],
                   tmp_path / name, 300)
    # Queued while no worker runs, so the kill surely lands mid-dossier.
    queued = run_sohoa("ingest", *(str(tmp_path / n) for n in sizes), "--dossier", dossier_id)
    assert queued.returncode == 0, queued.stderr

    first = Workers(tmp_path / "first.log")
    first.start(processes=2)

    def pages_read() -> int:
        return sum(d.pages_read for d in steps.read_dossier(workspace, dossier_id))

    wait_until(lambda: pages_read() >= 2, 120, "the first pages to be read")
    first.kill()
    assert pages_read() < sum(sizes.values()), "the dossier finished before the kill: nothing was tested"
    manifest = workspace.records.get_json(keys.manifest_key(dossier_id))
    assert manifest["status"] == "processing"

    second = Workers(tmp_path / "second.log")
    second.start(processes=2)
    try:
        # The killed worker's unacknowledged messages come back after the heartbeat timeout (5 s here).
        manifest = wait_until(
            lambda: (m := workspace.records.get_json_or_none(keys.manifest_key(dossier_id)))
            and m["status"] != "processing" and m,
            180, "the dossier to complete after the restart",
        )
    finally:
        second.stop()
    assert manifest["status"] == "complete", manifest
    assert {d["source"]["name"]: d["page_count"] for d in manifest["documents"]} == sizes
    for entry in manifest["documents"]:
        record = workspace.records.get_json(entry["json_key"])
        source_pages = [p["source"]["page"] for p in record["pages"]]
        assert source_pages == list(range(sizes[entry["source"]["name"]]))  # each page once, in order
        pdf_path = tmp_path / "check.pdf"
        pdf_path.write_bytes(workspace.records.get(entry["pdf_key"]))
        with pikepdf.open(pdf_path) as pdf:
            assert len(pdf.pages) == entry["page_count"]
    stored = [k for k in workspace.records.keys(keys.staging_prefix(dossier_id)) if k.endswith(".pdf")]
    assert len(stored) == len(sizes)
