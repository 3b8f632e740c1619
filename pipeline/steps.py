"""The pipeline's steps: each fetches its inputs from staging, runs stage functions, stores the result.

One function per Dramatiq actor (see actors.py), callable directly in tests.
A step is idempotent: run twice (a retry, a worker killed halfway) it writes
the same objects under the same keys, so every page ends up stored once.
Each returns what should happen next; the actor sends those messages.

One page's path: `receive_file` (CLI) -> `split_source` -> `process_page`
(quality warnings, straighten, clean-up, OCR) -> `assemble_document` (PDF/A + JSON)
-> `publish_manifest`.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline import dossier as keys
from pipeline.assemble import build_pdf
from pipeline.ingest import BadInput, Inspection, SourcePage, inspect, read_pages
from pipeline.ocr import OcrEngine, Tesseract
from pipeline.read import read_page
from pipeline.record import DocumentState, document_record, manifest, now
from pipeline.settings import Settings
from storage.s3 import Bucket, buckets

log = logging.getLogger("sohoa.steps")


@dataclass
class Workspace:
    """What every step needs: the settings, the two buckets and the OCR engine."""

    settings: Settings
    records: Bucket
    staging: Bucket
    engine: OcrEngine

    @classmethod
    def open(cls, settings: Settings) -> Workspace:
        records, staging = buckets(settings)
        return cls(settings, records, staging, Tesseract(settings.languages, settings.tesseract_psm))


@dataclass(frozen=True)
class Received:
    """The outcome of handing one file to a dossier."""

    document_id: str
    pages: int
    problem: BadInput | None = None
    already_stored: bool = False


def receive_file(ws: Workspace, dossier_id: str, path: Path) -> Received:
    """Put a file into staging as one document of the dossier (the client's half of ingest).

    A file that was already digitized into this dossier is not done again. A
    file that cannot be read is kept in staging with its reason, so the
    dossier shows it and nothing that was handed in disappears.
    """
    digest = keys.file_sha256(path)
    doc_id = keys.document_id(digest)
    source_key = keys.staging_key(dossier_id, doc_id, "source.json")
    previous = ws.staging.get_json_or_none(source_key)
    if previous and ws.staging.get_json_or_none(keys.staging_key(dossier_id, doc_id, "done.json")):
        return Received(doc_id, previous.get("pages", 0), already_stored=True)
    if previous:  # handed in before but not finished: start that document afresh
        ws.staging.delete_prefix(keys.staging_prefix(dossier_id, doc_id))
    try:
        found, problem = inspect(path, ws.settings.dpi, ws.settings.max_page_pixels), None
    except BadInput as exc:
        found, problem = Inspection("unknown", 0, False, ws.settings.dpi), exc
    ws.staging.upload(keys.staging_key(dossier_id, doc_id, "source"), str(path), "application/octet-stream")
    source = {
        "name": path.name, "kind": "file", "format": found.format, "sha256": digest,
        "bytes": path.stat().st_size, "pages": found.pages, "page_is_file": found.page_is_file,
        "dpi": found.dpi, "order": previous["order"] if previous else time.time_ns(),
    }
    ws.staging.put_json(source_key, source)
    if problem:
        record_failure(ws, dossier_id, doc_id, "ingest", problem.as_dict())
    log.info("dossier %s: received document %s (%d pages)", dossier_id, doc_id, found.pages)
    return Received(doc_id, found.pages, problem)


def receive_scan(ws: Workspace, dossier_id: str, device: str) -> str:
    """Open a new document for pages coming off a scanner; returns its ID.

    A scan has no file to hash, so its ID is made from the moment it started:
    scanning the same papers again is a new document of the dossier.
    """
    started = time.time_ns()
    doc_id = "doc-scan-" + hashlib.sha256(f"{dossier_id}/{device}/{started}".encode()).hexdigest()[:12]
    source = {"name": f"scan on {device}", "kind": "scanner", "format": "scan", "sha256": None, "bytes": None,
              "pages": 0, "page_is_file": False, "dpi": None, "order": started}
    ws.staging.put_json(keys.staging_key(dossier_id, doc_id, "source.json"), source)
    return doc_id


def stage_page(ws: Workspace, dossier_id: str, doc_id: str, index: int, data: bytes | None,
               source_page: int, dpi: int) -> None:
    """Put one page in staging: its image (unless the source file is the page) and its entry."""
    name = "source" if data is None else keys.page_name(index, "page")
    if data is not None:
        ws.staging.put(keys.staging_key(dossier_id, doc_id, name), data, "application/octet-stream")
    ws.staging.put_json(keys.page_key(dossier_id, doc_id, index, "json"),
                        {"object": name, "source_page": source_page, "dpi": dpi})


def close_document(ws: Workspace, dossier_id: str, doc_id: str, count: int, problems: list[dict]) -> bool:
    """Say how many pages the document has, once all are staged; True when all are read already.

    Until this is written the document is still growing (a scanner still feeding).
    """
    ws.staging.put_json(keys.staging_key(dossier_id, doc_id, "pages.json"), {"count": count, "problems": problems})
    return count > 0 and _pages_read(ws, dossier_id, doc_id) == count


def _pages_read(ws: Workspace, dossier_id: str, doc_id: str) -> int:
    return sum(1 for key in ws.staging.keys(keys.staging_prefix(dossier_id, doc_id)) if key.endswith(".ocr.json"))


def split_source(ws: Workspace, dossier_id: str, doc_id: str) -> list[int]:
    """Put the file's pages in staging as images; returns the pages to OCR.

    A file that is one JPEG or PNG page is its own page image: nothing is
    downloaded or copied.
    """
    source = ws.staging.get_json(keys.staging_key(dossier_id, doc_id, "source.json"))
    if source["page_is_file"]:
        stage_page(ws, dossier_id, doc_id, 0, None, 0, source["dpi"])
        close_document(ws, dossier_id, doc_id, 1, [])
        return [0]
    count, problems = 0, []
    with tempfile.TemporaryDirectory(prefix="sohoa-split-") as tmp:
        local = Path(tmp) / source["name"]
        ws.staging.download(keys.staging_key(dossier_id, doc_id, "source"), str(local))
        try:
            for item in read_pages(local, ws.settings.dpi, ws.settings.max_page_pixels):
                if isinstance(item, BadInput):
                    problems.append(item.as_dict())
                    continue
                stage_page(ws, dossier_id, doc_id, count, item.data, item.index, item.dpi)
                count += 1
        except BadInput as exc:
            record_failure(ws, dossier_id, doc_id, "ingest", exc.as_dict())
            return []
    if not count:
        reason = problems[0] if problems else {"file": source["name"], "page": None,
                                               "reason": "no page could be read", "hint": "Scan the file again."}
        record_failure(ws, dossier_id, doc_id, "ingest", reason)
        return []
    close_document(ws, dossier_id, doc_id, count, problems)
    log.info("dossier %s document %s: %d pages staged, %d refused", dossier_id, doc_id, count, len(problems))
    return list(range(count))


def process_page(ws: Workspace, dossier_id: str, doc_id: str, index: int) -> bool:
    """Straighten and read one page into a searchable page PDF; True when it was the document's last."""
    entry = ws.staging.get_json(keys.page_key(dossier_id, doc_id, index, "json"))
    data = ws.staging.get(keys.staging_key(dossier_id, doc_id, entry["object"]))
    image = SourcePage(index, data, entry["dpi"]).image()
    started = time.perf_counter()
    read = read_page(image, entry["dpi"], ws.engine, ws.settings.jpeg_quality)
    ws.staging.put(keys.page_key(dossier_id, doc_id, index, "pdf"), read.pdf, "application/pdf")
    result = dict(read.result, source_page=entry["source_page"])
    # Written last: its presence is what says the page is read.
    ws.staging.put_json(keys.page_key(dossier_id, doc_id, index, "ocr.json"), result)
    log.info("dossier %s document %s page %d: read in %.1f s, confidence %.1f",
             dossier_id, doc_id, index, time.perf_counter() - started, result["mean_confidence"])
    plan = ws.staging.get_json_or_none(keys.staging_key(dossier_id, doc_id, "pages.json"))
    return plan is not None and _pages_read(ws, dossier_id, doc_id) == plan["count"]


def assemble_document(ws: Workspace, dossier_id: str, doc_id: str) -> None:
    """Build the document's PDF/A and JSON and store them in the record bucket."""
    source = ws.staging.get_json(keys.staging_key(dossier_id, doc_id, "source.json"))
    count = ws.staging.get_json(keys.staging_key(dossier_id, doc_id, "pages.json"))["count"]
    pages = [ws.staging.get_json(keys.page_key(dossier_id, doc_id, i, "ocr.json")) for i in range(count)]
    searchable = [ws.staging.get(keys.page_key(dossier_id, doc_id, i, "pdf")) for i in range(count)]
    pdf = build_pdf(searchable, title=f"Hồ sơ {dossier_id}", identifier=f"{dossier_id}/{doc_id}")
    pdf_key, json_key = keys.pdf_key(dossier_id, doc_id), keys.record_key(dossier_id, doc_id)
    digest = hashlib.sha256(pdf).hexdigest()
    record = document_record(
        dossier_id=dossier_id, document_id=doc_id, source=source, pages=pages,
        pdf={"key": pdf_key, "sha256": digest, "bytes": len(pdf), "pdfa": "2b"},
        ocr=ws.engine.describe(), created_at=now(ws.settings.timezone),
    )
    metadata = {"dossier-id": dossier_id, "document-type": record["doc_type"]}
    ws.records.put(pdf_key, pdf, "application/pdf", metadata)
    ws.records.put_json(json_key, record, metadata)
    done = {"doc_type": record["doc_type"], "page_count": len(pages), "pdf_key": pdf_key,
            "json_key": json_key, "sha256": digest, "bytes": len(pdf),
            "warnings": [dict(w, page=p["source_page"]) for p in pages for w in p["warnings"]]}
    ws.staging.put_json(keys.staging_key(dossier_id, doc_id, "done.json"), done)
    log.info("dossier %s document %s: stored, %d pages, %d bytes", dossier_id, doc_id, len(pages), len(pdf))


def record_failure(ws: Workspace, dossier_id: str, doc_id: str, stage: str, problem: dict) -> None:
    """Mark a document failed, with the reason a person can act on and the file it concerns."""
    if not problem.get("file"):
        source = ws.staging.get_json_or_none(keys.staging_key(dossier_id, doc_id, "source.json"))
        problem = dict(problem, file=source["name"] if source else None)
    ws.staging.put_json(keys.staging_key(dossier_id, doc_id, "error.json"), dict(problem, stage=stage))
    log.warning("dossier %s document %s failed at %s", dossier_id, doc_id, stage)


def _listing(ws: Workspace, dossier_id: str) -> dict[str, set[str]]:
    """The staged object names of each document of the dossier, from one listing."""
    names: dict[str, set[str]] = {}
    for key in ws.staging.keys(keys.staging_prefix(dossier_id)):
        _, doc_id, name = key.split("/", 2)
        names.setdefault(doc_id, set()).add(name)
    return {doc_id: present for doc_id, present in names.items() if "source.json" in present}


def read_dossier(ws: Workspace, dossier_id: str) -> list[DocumentState]:
    """The state of every document of the dossier, from the staging area alone."""
    documents = []
    for doc_id, present in _listing(ws, dossier_id).items():
        def load(name: str) -> dict | None:
            return ws.staging.get_json(keys.staging_key(dossier_id, doc_id, name)) if name in present else None
        plan, done = load("pages.json"), load("done.json")
        documents.append(DocumentState(
            document_id=doc_id, source=load("source.json"),
            page_count=plan["count"] if plan else None,
            pages_read=sum(1 for name in present if name.endswith(".ocr.json")),
            page_problems=plan["problems"] if plan else [],
            done=done, error=load("error.json"), warnings=done["warnings"] if done else [],
        ))
    return sorted(documents, key=lambda d: d.source["order"])


def dossier_finished(ws: Workspace, dossier_id: str) -> bool:
    """True when every document is stored or failed; one listing, no reads."""
    return all({"done.json", "error.json"} & present for present in _listing(ws, dossier_id).values())


def publish_manifest(ws: Workspace, dossier_id: str) -> dict:
    """Write the manifest from the staging state, last, after the records it lists.

    Two workers finishing documents at once may write in either order; each
    reads the state again after writing and writes once more if it changed,
    so the manifest that stays is the one made from the final state.
    """
    for _ in range(10):
        documents = read_dossier(ws, dossier_id)
        current = manifest(dossier_id, documents, now(ws.settings.timezone))
        ws.records.put_json(keys.manifest_key(dossier_id), current, {"dossier-id": dossier_id})
        if read_dossier(ws, dossier_id) == documents:
            break
    log.info("dossier %s: manifest %s, %d documents", dossier_id, current["status"], len(current["documents"]))
    return current


def final_manifest(ws: Workspace, dossier_id: str, timeout_s: float, on_poll: Callable[[], None]) -> dict:
    """Poll until the dossier's manifest is final (or time is up) and return it; `on_poll` shows progress.

    One small read a poll, whatever the dossier's size, so a waiting client
    never competes with the workers for the S3 server.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        on_poll()
        current = ws.records.get_json_or_none(keys.manifest_key(dossier_id)) or {"status": "processing"}
        if current["status"] != "processing" or time.monotonic() > deadline:
            return current
        time.sleep(0.3)
