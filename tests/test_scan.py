"""The counter's scanner through SANE's own virtual devices (`test` and `pnm`), end to end."""

from __future__ import annotations

import io
import json
import random

import pytest
from PIL import Image

from pipeline import dossier as keys
from samples.documents import dossier_code, make_document, receipt
from samples.generate import fake_person, render_lines
from tests.checks import cer
from tests.helpers import run_sohoa


def scan(*args: str) -> tuple[int, list[dict]]:
    result = run_sohoa("scan", "--json", *args, timeout=400)
    events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.returncode, events


def test_list_shows_the_virtual_scanners_and_their_sources(stack):
    result = run_sohoa("scan", "--list", "--json")
    assert result.returncode == 0, result.stderr
    devices = {d["name"]: d for d in json.loads(result.stdout)}
    assert {"test:0", "pnm:0"} <= set(devices)
    assert "Automatic Document Feeder" in devices["test:0"]["source"]


def test_feeder_pages_enter_the_pipeline_as_they_come(workers, workspace, dossier_id):
    code, events = scan("--dossier", dossier_id, "--device", "test:0", "--source", "adf", "--dpi", "75")
    kinds = [e["event"] for e in events]
    assert kinds.count("captured") == 10  # the test backend's feeder holds ten sheets
    assert kinds.count("read") == 10 and kinds[-1] == "done"
    # Pages are read while the feeder still runs, not after the last one.
    assert kinds.index("captured") < kinds.index("read")
    done = events[-1]
    # The test backend's sheets carry a pattern and no text: every page is kept out as blank, and said so.
    assert done["pages_captured"] == 10 and code == 3 and done["status"] == "needs_review"
    assert done["manifest"]["documents"] == []
    assert [(p["page"], p["reason"], p["file"]) for p in done["manifest"]["skipped_pages"]] == [
        (i, "blank", "scan on test:0") for i in range(10)]
    assert "blank" in done["manifest"]["reasons"][0]["reason"]


@pytest.fixture
def form_page(tmp_path):
    """A passport application's first page as a PNM file, with its text and its true fields."""
    rng = random.Random(8)
    document = make_document(rng, "to_khai_ho_chieu", leaders=0)
    image, text = render_lines(rng, document.pages[0], 300, 1.0, noise=4.0)
    path = tmp_path / "to-khai.pgm"
    image.save(path)
    return path, text, document.fields


def test_a_vietnamese_form_on_the_flatbed_is_read_and_classified(workers, workspace, dossier_id, form_page):
    path, text, fields = form_page
    code, events = scan("--dossier", dossier_id, "--device", "pnm:0", "--source", "flatbed", "--dpi", "300",
                        "--option", f"filename={path}")
    assert code == 0, events
    (document,) = events[-1]["manifest"]["documents"]
    assert document["doc_type"] == "to_khai_ho_chieu" and document["fields"] == sorted(fields)
    record = workspace.records.get_json(document["json_key"])
    assert cer(record["pages"][0]["text"], text) < 0.03  # the signature reads as a few stray marks
    assert {name: field["value"] for name, field in record["fields"].items()} == fields


@pytest.mark.parametrize("fault, code, words", [
    ("status-jammed", "jammed", "jam"),
    ("status-coveropen", "cover_open", "cover"),
    ("status-nodocs", "no_documents", "feeder"),
    ("status-ioerror", "io_error", "cable"),
])
def test_device_faults_are_told_and_the_dossier_shows_them(workers, workspace, dossier_id, form_page, fault, code,
                                                           words):
    path = form_page[0]
    exit_code, events = scan("--dossier", dossier_id, "--device", "pnm:0", "--source", "flatbed",
                             "--option", f"filename={path}", "--option", f"{fault}=yes")
    faults = [e for e in events if e["event"] == "fault"]
    assert [f["code"] for f in faults] == [code] and words in (faults[0]["reason"] + faults[0]["hint"]).lower()
    assert exit_code == 4  # nothing scanned: the dossier failed, and says why
    manifest = workspace.records.get_json(keys.manifest_key(dossier_id))
    assert manifest["status"] == "failed" and manifest["reasons"][0]["reason"].endswith(faults[0]["reason"].split(": ", 1)[1])


def test_a_failed_scan_can_be_continued(workers, workspace, dossier_id, form_page):
    """A jam first; the same command again stores the page beside the failed attempt."""
    path = form_page[0]
    scan("--dossier", dossier_id, "--device", "pnm:0", "--source", "flatbed",
         "--option", f"filename={path}", "--option", "status-jammed=yes")
    code, events = scan("--dossier", dossier_id, "--device", "pnm:0", "--source", "flatbed",
                        "--option", f"filename={path}")
    manifest = events[-1]["manifest"]
    assert len(manifest["documents"]) == 1 and manifest["status"] == "needs_review"  # the jam stays on record
    assert code == 3


def test_unknown_device_is_named(workers, dossier_id):
    code, events = scan("--dossier", dossier_id, "--device", "nosuch:0", "--source", "flatbed")
    (fault,) = [e for e in events if e["event"] == "fault"]
    assert fault["code"] == "not_found" and "test:0" in fault["hint"]


def test_the_page_size_sets_the_scan_area(workers, workspace, dossier_id):
    """A5 (148 x 210 mm) on the test flatbed, which reaches 200 mm: 148 x 200 mm at 100 dpi, 583 x 787 pixels."""
    code, events = scan("--dossier", dossier_id, "--device", "test:0", "--source", "flatbed", "--dpi", "100",
                        "--page-size", "a5")
    assert events[-1]["pages_captured"] == 1 and len(events[-1]["manifest"]["skipped_pages"]) == 1
    (staged,) = [k for k in workspace.staging.keys(f"{dossier_id}/") if k.endswith("page-0000.page")]
    image = Image.open(io.BytesIO(workspace.staging.get(staged)))
    assert abs(image.width - 583) <= 3 and abs(image.height - 787) <= 3, image.size


def test_a_scan_without_dossier_id_is_named_by_its_receipt(workers, workspace, tmp_path):
    """The counter scans the receipt first and gives no ID: the QR code on it names the dossier."""
    rng = random.Random(12)
    code = dossier_code(rng)
    path = tmp_path / "phieu.pgm"
    render_lines(rng, receipt(rng, code, fake_person(rng), leaders=0).pages[0], 300, 0.5, noise=3.0)[0].save(path)
    exit_code, events = scan("--device", "pnm:0", "--source", "flatbed", "--dpi", "300", "--option",
                             f"filename={path}")
    (read,) = [e for e in events if e["event"] == "read"]
    assert (read["role"], read["doc_type"]) == ("start", "phieu_tiep_nhan")  # told live, before the summary
    done = events[-1]
    named = {d["dossier_id"]: d for d in done["dossiers"]}
    assert code in named and exit_code == 0, done
    (document,) = named[code]["manifest"]["documents"]
    assert document["doc_type"] == "phieu_tiep_nhan" and "dossier_id" in document["fields"]
    record = workspace.records.get_json(document["json_key"])
    assert record["fields"]["dossier_id"]["value"] == code
