"""Scan-to-folder: a real folder, the real pipeline; files are taken once, refused with a reason, never lost."""

from __future__ import annotations

import json
import random
import shutil
import time

from pipeline import dossier as keys
from samples.generate import render_letter, render_receipt, save_pages
from scanners.folder import FolderInbox
from tests.helpers import run_sohoa

SETTLE = {"SOHOA_WATCH_SETTLE_S": "1"}


def wait_for_manifest(workspace, dossier_id, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        manifest = workspace.records.get_json_or_none(keys.manifest_key(dossier_id))
        if manifest and manifest["status"] != "processing":
            return manifest
        time.sleep(0.3)
    raise AssertionError(f"{dossier_id} not finished in {seconds} s")


def test_copier_drops_are_filed_by_dossier(workers, workspace, tmp_path):
    rng = random.Random(6)
    run = f"{rng.randint(0, 999999):06d}"
    by_folder, by_name = f"000.00.22.H26-{run}-0001", f"000.00.22.H26-{run}-0002"
    inbox = tmp_path / "inbox"
    (inbox / by_folder).mkdir(parents=True)
    pages = [render_letter(rng, 300, first=i == 0)[0] for i in range(2)]
    save_pages(pages, inbox / by_folder / "to-khai.pdf", 300)
    save_pages(pages[1:], inbox / f"{by_name}_cccd.jpg", 300)
    save_pages(pages[:1], inbox / "khong-ro-ho-so.png", 300)
    by_receipt = f"000.00.22.H26-{run}-0003"
    save_pages([render_receipt(rng, by_receipt, 300, 1.0)[0], pages[0]], inbox / "scan0001.pdf", 300)
    (inbox / f"{by_name}_hong.pdf").write_bytes(b"%PDF-1.4 broken")

    result = run_sohoa("watch", str(inbox), "--once", "--json", env=SETTLE)
    assert result.returncode == 0, result.stderr
    outcomes = {o["path"]: o for o in map(json.loads, result.stdout.splitlines())}
    assert set(outcomes) == {f"{by_folder}/to-khai.pdf", f"{by_name}_cccd.jpg", "khong-ro-ho-so.png",
                             f"{by_name}_hong.pdf", "scan0001.pdf"}
    assert outcomes["scan0001.pdf"]["dossier_id"] == by_receipt  # named by its receipt's QR code
    assert outcomes[f"{by_folder}/to-khai.pdf"]["dossier_id"] == by_folder
    assert outcomes[f"{by_name}_cccd.jpg"]["reason"] is None
    assert "no dossier ID" in outcomes["khong-ro-ho-so.png"]["reason"]
    assert "damaged" in outcomes[f"{by_name}_hong.pdf"]["reason"]
    assert [p for p in inbox.rglob("*") if p.is_file() and "done" not in p.parts and "error" not in p.parts] == []
    assert (inbox / "done" / by_folder / "to-khai.pdf").exists()
    reason_file = inbox / "error" / "unknown" / "khong-ro-ho-so.png.txt"
    assert "no dossier ID" in reason_file.read_text(encoding="utf-8")

    first = wait_for_manifest(workspace, by_folder)
    assert first["status"] == "complete" and first["documents"][0]["page_count"] == 2
    # The receipt and the letter behind it: two documents of the dossier the receipt names.
    named = wait_for_manifest(workspace, by_receipt)
    assert [(d["doc_type"], d["page_count"]) for d in named["documents"]] == [("phieu_tiep_nhan", 1), ("khac", 1)]
    second = wait_for_manifest(workspace, by_name)
    assert second["status"] == "needs_review"  # the broken PDF is on record beside the stored photo
    assert [d["source"]["name"] for d in second["documents"]] == [f"{by_name}_cccd.jpg"]

    # The same file dropped again (a copier resending after a restart) is no second document.
    shutil.copy(inbox / "done" / by_folder / "to-khai.pdf", inbox / f"{by_folder}-again.pdf")
    again = run_sohoa("watch", str(inbox), "--once", "--json", env=SETTLE)
    assert json.loads(again.stdout)["reason"] is None
    assert len(wait_for_manifest(workspace, by_folder)["documents"]) == 1


def test_a_file_still_being_written_is_left_alone(tmp_path):
    inbox = FolderInbox(tmp_path, tmp_path / "done", tmp_path / "error", r"(?P<dossier>X)", settle_s=1)
    growing = tmp_path / "scan.pdf"
    growing.write_bytes(b"%PDF-1.4 part one")
    assert inbox.ready_files() == []  # first sight
    time.sleep(1.1)
    growing.write_bytes(b"%PDF-1.4 part one, part two")
    assert inbox.ready_files() == []  # it grew: start over
    time.sleep(1.1)
    assert inbox.ready_files() == [growing]
