"""End to end through the real stack: CLI -> Redis -> Dramatiq workers -> tesseract -> SeaweedFS."""

from __future__ import annotations

import hashlib
import json
import random
import time

import pikepdf
import pytest
from minio import Minio
from PIL import Image, ImageFilter

from pipeline import dossier as keys
from pipeline import steps
from samples.documents import make_document
from samples.generate import render_letter, render_lines, save_pages
from tests.helpers import run_sohoa
from tests.checks import cer, check_pdfa


@pytest.fixture(scope="module")
def page_images():
    """Letters (type khac, no fields): what these tests check is the way through the pipeline, not reading forms.

    Pages 1 and 3 continue the letters of pages 0 and 2, so each file below is one document.
    """
    rng = random.Random(99)
    return [render_letter(rng, 300, rng.uniform(-2, 2), first=index not in (1, 3)) for index in range(6)]


@pytest.fixture(scope="module")
def form_page():
    """A passport application's first page, with its true fields: a name, an ID number, an address."""
    rng = random.Random(98)
    document = make_document(rng, "to_khai_ho_chieu")
    image, _ = render_lines(rng, document.pages[0], 300, 0.5, noise=4.0)
    return image, document.fields


@pytest.fixture
def good_files(tmp_path, page_images):
    """One file of each accepted format, in the order they are handed in."""
    images = [image for image, _ in page_images]
    files = [tmp_path / "to-khai.pdf", tmp_path / "cccd.tif", tmp_path / "giay-uy-quyen.jpg", tmp_path / "bien-lai.png"]
    save_pages(images[0:2], files[0], 300)
    save_pages(images[2:4], files[1], 300)
    save_pages(images[4:5], files[2], 300)
    save_pages(images[5:6], files[3], 300)
    return files, [2, 2, 1, 1]


def ingest(dossier_id, *files, wait=True):
    args = ["ingest", *map(str, files), "--dossier", dossier_id, "--json"] + (["--wait", "--timeout", "240"] if wait else [])
    result = run_sohoa(*args)
    return result, json.loads(result.stdout) if result.stdout.strip() else None


def test_every_format_becomes_a_stored_record(workers, workspace, dossier_id, good_files, page_images, tmp_path):
    files, page_counts = good_files
    result, answer = ingest(dossier_id, *files)
    assert result.returncode == 0, result.stderr
    manifest = answer["manifest"]
    assert manifest["status"] == "complete" and manifest["reasons"] == []
    assert [d["source"]["name"] for d in manifest["documents"]] == [f.name for f in files]
    assert [d["page_count"] for d in manifest["documents"]] == page_counts
    # The manifest in the bucket is the one the CLI printed, and carries the dossier ID.
    assert workspace.records.get_json(keys.manifest_key(dossier_id))["documents"] == manifest["documents"]
    assert workspace.records.metadata(keys.manifest_key(dossier_id))["dossier-id"] == dossier_id

    truths = [truth for _, truth in page_images]
    first_page = 0
    for entry, file in zip(manifest["documents"], files):
        pdf = workspace.records.get(entry["pdf_key"])
        record = workspace.records.get_json(entry["json_key"])
        assert hashlib.sha256(pdf).hexdigest() == entry["sha256"] == record["pdf"]["sha256"]
        assert record["pdf"] == {"key": entry["pdf_key"], "sha256": entry["sha256"], "bytes": len(pdf), "pdfa": "2b"}
        assert (record["schema_version"], record["dossier_id"], record["doc_type"]) == (1, dossier_id, "khac")
        assert record["document_id"] == entry["document_id"] == keys.document_id(keys.stack_id(keys.file_sha256(file)), 0)
        assert record["fields"] == {} and record["needs_review"] is False and record["doc_type_confidence"] >= 0.75
        assert record["ocr"]["engine"].startswith("tesseract 5") and record["ocr"]["languages"] == ["vie"]
        assert [p["index"] for p in record["pages"]] == list(range(entry["page_count"]))
        assert [p["source"] for p in record["pages"]] == [
            {"kind": "file", "name": file.name, "page": i} for i in range(entry["page_count"])]
        for page in record["pages"]:
            assert abs(page["skew_corrected_deg"]) <= 2.1 and page["ocr_mean_confidence"] > 80
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in record["pages"][0]["text"]
        for key in (entry["pdf_key"], entry["json_key"]):
            assert workspace.records.metadata(key) == {"dossier-id": dossier_id, "document-type": "khac"}
        path = tmp_path / f"{entry['document_id']}.pdf"
        path.write_bytes(pdf)
        text = check_pdfa(path, entry["page_count"], dossier_id)
        # The searchable text is the page's text, diacritics intact (a few OCR slips allowed).
        truth = "\n".join(truths[first_page:first_page + entry["page_count"]])
        first_page += entry["page_count"]
        assert cer(text, truth) < 0.03


def test_running_the_same_dossier_again_makes_no_duplicates(workers, workspace, dossier_id, good_files):
    files, _ = good_files
    first, answer = ingest(dossier_id, *files[:2])
    assert first.returncode == 0, first.stderr
    stored = sorted(workspace.records.keys(keys.staging_prefix(dossier_id)))
    again, answer_again = ingest(dossier_id, *files[:2])
    assert again.returncode == 0, again.stderr
    assert sorted(workspace.records.keys(keys.staging_prefix(dossier_id))) == stored
    ids = lambda a: [d["document_id"] for d in a["manifest"]["documents"]]  # noqa: E731
    assert ids(answer_again) == ids(answer) and len(ids(answer)) == 2


def test_bad_files_are_refused_with_reasons_and_the_rest_is_stored(workers, workspace, dossier_id, good_files, tmp_path):
    files, _ = good_files
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    text = tmp_path / "ghi-chu.jpg"
    text.write_text("không phải ảnh", encoding="utf-8")
    corrupt = tmp_path / "hong.pdf"
    corrupt.write_bytes(files[0].read_bytes()[:400] + b"\x00" * 300)
    locked = tmp_path / "khoa.pdf"
    with pikepdf.open(files[0]) as pdf:
        pdf.save(locked, encryption=pikepdf.Encryption(owner="o", user="u"))
    bomb = tmp_path / "bom.png"
    Image.new("1", (20000, 20000), 1).save(bomb)
    result, answer = ingest(dossier_id, files[3], empty, text, corrupt, locked, bomb, tmp_path / "missing.pdf")
    assert result.returncode == 3, result.stderr  # needs review: something refused, the rest stored
    manifest = answer["manifest"]
    assert manifest["status"] == "needs_review"
    assert [d["source"]["name"] for d in manifest["documents"]] == [files[3].name]
    reasons = {r["file"]: r["reason"] for r in manifest["reasons"]}
    assert set(reasons) == {"empty.pdf", "ghi-chu.jpg", "hong.pdf", "khoa.pdf", "bom.png"}
    assert "empty" in reasons["empty.pdf"] and "encrypted" in reasons["khoa.pdf"]
    assert "damaged" in reasons["hong.pdf"] and "too large" in reasons["bom.png"]
    assert "not a PDF, TIFF, JPEG or PNG" in reasons["ghi-chu.jpg"]
    assert all(r["hint"] for r in manifest["reasons"])
    assert [r["file"] for r in answer["refused"]][-1].endswith("missing.pdf")

    status = run_sohoa("status", dossier_id, "--json")
    assert status.returncode == 3
    rows = {row["name"]: row for row in json.loads(status.stdout)["stacks"]}
    assert rows["bien-lai.png"]["state"] == "done" and rows["khoa.pdf"]["state"] == "failed"
    assert "encrypted" in rows["khoa.pdf"]["problems"][0]["reason"]


@pytest.mark.parametrize("bad_id", ["", "../../etc", "a/b", "x" * 80])
def test_invalid_dossier_id_is_refused_before_anything_is_stored(stack, workspace, good_files, bad_id):
    files, _ = good_files
    result = run_sohoa("ingest", str(files[3]), "--dossier", bad_id)
    assert result.returncode == 2
    assert "dossier ID" in result.stderr


def test_fetch_writes_the_dossier_under_its_keys(workers, dossier_id, good_files, tmp_path):
    files, _ = good_files
    result, answer = ingest(dossier_id, files[2])
    assert result.returncode == 0, result.stderr
    fetched = run_sohoa("fetch", dossier_id, "--out", str(tmp_path / "out"), "--json")
    assert fetched.returncode == 0, fetched.stderr
    doc = answer["manifest"]["documents"][0]
    written = {item["key"] for item in json.loads(fetched.stdout)["files"]}
    assert written == {keys.manifest_key(dossier_id), doc["pdf_key"], doc["json_key"]}
    assert hashlib.sha256((tmp_path / "out" / doc["pdf_key"]).read_bytes()).hexdigest() == doc["sha256"]


def test_stack_status_gives_a_downstream_client_what_it_needs(workers, dossier_id, good_files):
    """A plain S3 client with only what `stack status --json` prints can read the record."""
    files, _ = good_files
    assert ingest(dossier_id, files[3])[0].returncode == 0
    info = json.loads(run_sohoa("stack", "status", "--json").stdout)
    assert info["running"] == {"redis": True, "s3": True}
    assert info["broker_url"].startswith("redis://127.0.0.1:")
    plain = Minio(info["s3_endpoint"].removeprefix("http://"), info["s3_access_key"], info["s3_secret_key"], secure=False)
    manifest = json.loads(plain.get_object(info["bucket"], f"{dossier_id}/manifest.json").read())
    assert manifest["status"] == "complete"
    url = plain.presigned_get_object(info["bucket"], manifest["documents"][0]["pdf_key"])
    assert url.startswith("http://127.0.0.1:")


def test_a_stack_is_read_when_its_last_page_to_be_read_says_so(workspace, dossier_id):
    """Pages are read in any order; whichever is read last finds every other page read, the others do not."""
    stack = "stack-00000000000000a1"

    def read(index: int) -> None:
        workspace.staging.put_json(keys.page_key(dossier_id, stack, index, "ocr.json"), {})

    read(0)
    read(1)
    assert not steps.all_pages_read(workspace, dossier_id, stack, 4, 1)  # the stack's last page is still unread
    read(3)
    assert not steps.all_pages_read(workspace, dossier_id, stack, 4, 3)  # page 2 is still unread
    read(2)
    assert steps.all_pages_read(workspace, dossier_id, stack, 4, 2)  # page 2, read last, finds them all
    assert steps.all_pages_read(workspace, dossier_id, stack, 4)  # a scan closed after its pages were read
    workspace.staging.delete_prefix(keys.staging_prefix(dossier_id))


def test_a_message_handed_on_again_redoes_nothing(workspace, dossier_id, page_images, tmp_path):
    """The broker hands a message on again when its acknowledgement was lost: each step, run twice, stores once.

    The second runs find their inputs gone, so a step that did its work again would fail.
    """
    path = tmp_path / "thu.tif"
    save_pages([image for image, _ in page_images[0:2]], path, 300)
    stack = steps.receive_file(workspace, dossier_id, path).stack_id
    pages = steps.split_source(workspace, dossier_id, stack)
    assert [steps.process_page(workspace, dossier_id, stack, index) for index in pages] == [False, True]
    touched = steps.assemble_stack(workspace, dossier_id, stack)
    steps.publish_manifest(workspace, dossier_id)
    stored = {key: workspace.records.get(key) for key in workspace.records.keys(f"{dossier_id}/")}
    assert len(stored) == 3  # the letter's PDF, its JSON, the manifest

    def remove(name: str) -> None:
        workspace.staging.minio.remove_object(workspace.staging.name, keys.staging_key(dossier_id, stack, name))

    remove("source")
    for index in pages:
        remove(workspace.staging.get_json(keys.page_key(dossier_id, stack, index, "json"))["object"])
        remove(keys.page_name(index, "pdf"))
    assert steps.split_source(workspace, dossier_id, stack) == pages
    assert [steps.process_page(workspace, dossier_id, stack, index) for index in pages] == [True, True]
    assert steps.assemble_stack(workspace, dossier_id, stack) == touched == [dossier_id]
    assert {key: workspace.records.get(key) for key in workspace.records.keys(f"{dossier_id}/")} == stored


def test_a_step_that_keeps_failing_ends_as_a_visible_failure(workers, workspace, dossier_id, good_files):
    """The staged file vanishes (say, a lifecycle rule ran): retries, then the dossier says so."""
    from pipeline import actors

    files, _ = good_files
    received = steps.receive_file(workspace, dossier_id, files[1])  # a TIFF: split_source reads the file
    workspace.staging.minio.remove_object(workspace.staging.name, keys.staging_key(dossier_id, received.stack_id, "source"))
    actors.split_source.send(dossier_id, received.stack_id)
    deadline = time.monotonic() + 60
    manifest = None
    while time.monotonic() < deadline:
        manifest = workspace.records.get_json_or_none(keys.manifest_key(dossier_id))
        if manifest and manifest["status"] != "processing":
            break
        time.sleep(0.3)
    assert manifest and manifest["status"] == "failed", manifest
    (reason,) = manifest["reasons"]
    assert reason["stage"] == "split_source" and reason["file"] == files[1].name
    assert "gave up after 3 attempts" in reason["reason"] and "NoSuchKey" in reason["reason"]


def test_sideways_and_blurred_pages_are_stored_upright_with_warnings(workers, workspace, dossier_id, page_images,
                                                                      tmp_path):
    image, truth = page_images[0]
    sideways = tmp_path / "xoay.png"
    image.rotate(90, expand=True, fillcolor=255).save(sideways, dpi=(300, 300))
    blurred = tmp_path / "mo.jpg"
    image.filter(ImageFilter.GaussianBlur(2.5)).save(blurred, dpi=(300, 300), quality=85)
    result, answer = ingest(dossier_id, sideways, blurred)
    assert result.returncode == 0, result.stderr  # warnings never block a dossier
    manifest = answer["manifest"]
    assert manifest["status"] == "complete"
    assert [(w["file"], w["page"], w["code"]) for w in manifest["warnings"]] == [("mo.jpg", 0, "blurred")]
    upright = workspace.records.get_json(manifest["documents"][0]["json_key"])
    assert upright["pages"][0]["rotation_applied"] == 90 and upright["pages"][0]["warnings"] == []
    assert cer(upright["pages"][0]["text"], truth) < 0.03
    soft = workspace.records.get_json(manifest["documents"][1]["json_key"])
    assert soft["pages"][0]["warnings"][0]["code"] == "blurred"


def test_no_personal_data_reaches_the_logs(workers, dossier_id, form_page, tmp_path):
    """Names, ID numbers and addresses on the pages never appear in the workers' log (INFO and above)."""
    image, truth = form_page
    path = tmp_path / "to-khai.png"
    image.save(path, dpi=(300, 300))
    result, answer = ingest(dossier_id, path)
    assert result.returncode in (0, 3) and answer["manifest"]["status"] in ("complete", "needs_review")
    (document,) = answer["manifest"]["documents"]
    assert {"full_name", "id_number", "permanent_address"} <= set(document["fields"])  # read, so they were at hand
    log = workers.log.read_text(encoding="utf-8")
    assert f"dossier {dossier_id}" in log  # the log is there and speaks of this dossier
    for value in (truth["full_name"], truth["id_number"], truth["permanent_address"]):
        assert value not in log and value.upper() not in log


def test_an_unreachable_broker_is_told_and_nothing_is_lost(workers, dossier_id, good_files):
    """The broker is down: exit 5 with a sentence, no traceback; the same command later stores the file."""
    files, _ = good_files
    down = run_sohoa("ingest", str(files[2]), "--dossier", dossier_id, env={"SOHOA_BROKER_URL": "redis://127.0.0.1:1/0"})
    assert down.returncode == 5
    assert "the broker does not answer" in " ".join(down.stderr.split()) and "Traceback" not in down.stderr
    result, answer = ingest(dossier_id, files[2])
    assert result.returncode == 0, result.stderr
    assert answer["manifest"]["status"] == "complete" and len(answer["manifest"]["documents"]) == 1
