"""The pipeline's steps: each fetches its inputs from staging, runs stage functions, stores the result.

One function per Dramatiq actor (see actors.py), callable directly in tests.
A step is idempotent: run twice (a retry, a worker killed halfway) it writes
the same objects under the same keys, so every page ends up stored once.
Each returns what should happen next; the actor sends those messages.

One page's path: `receive_file` (CLI) or `stage_page` (scanner) ->
`split_source` -> `process_page` (quality warnings, straighten, clean-up,
OCR: pipeline.read) -> `assemble_stack` (split the stack into documents and
dossiers, type them, read their fields, write each PDF/A + JSON) ->
`publish_manifest`. The unit in staging is the stack: the papers handed in
at once (a file or a scan session), see pipeline.dossier.
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
from pipeline.classifier import PageClassifier
from pipeline.doctypes import DocumentTypes, load_document_types
from pipeline.ingest import BadInput, Inspection, SourcePage, inspect, read_pages
from pipeline.ocr import OcrEngine, Tesseract
from pipeline.read import read_page
from pipeline.record import StackState, document_record, manifest, now, review_reasons
from pipeline.settings import Settings
from pipeline.understand import Document, assign_dossiers, split_stack
from storage.s3 import Bucket, buckets

log = logging.getLogger("sohoa.steps")


@dataclass
class Workspace:
    """What every step needs: the settings, the two buckets, the OCR engine, the document types and model."""

    settings: Settings
    records: Bucket
    staging: Bucket
    engine: OcrEngine
    document_types: DocumentTypes
    classifier: PageClassifier

    @classmethod
    def open(cls, settings: Settings) -> Workspace:
        records, staging = buckets(settings)
        return cls(settings, records, staging, Tesseract(settings.languages, settings.tesseract_psm),
                   load_document_types(settings.document_types), PageClassifier.load(settings.classifier_model))


@dataclass(frozen=True)
class Received:
    """The outcome of handing one file to a dossier."""

    dossier_id: str
    stack_id: str
    pages: int
    problem: BadInput | None = None
    already_stored: bool = False


def receive_file(ws: Workspace, dossier_id: str | None, path: Path) -> Received:
    """Put a file into staging as one stack of the dossier (the client's half of ingest).

    Without a dossier ID the file waits in an inbox dossier of its own until
    its receipts name the dossiers it belongs to. A file that was already
    digitized into this dossier is not done again. A file that cannot be read
    is kept in staging with its reason, so the dossier shows it and nothing
    that was handed in disappears.
    """
    digest = keys.file_sha256(path)
    stack = keys.stack_id(digest)
    dossier_id = dossier_id or keys.inbox_id(digest)
    source_key = keys.staging_key(dossier_id, stack, "source.json")
    previous = ws.staging.get_json_or_none(source_key)
    if previous and ws.staging.get_json_or_none(keys.staging_key(dossier_id, stack, "done.json")):
        return Received(dossier_id, stack, previous.get("pages", 0), already_stored=True)
    if previous:  # handed in before but not finished: start that stack afresh
        ws.staging.delete_prefix(keys.staging_prefix(dossier_id, stack))
    try:
        found, problem = inspect(path, ws.settings.dpi, ws.settings.max_page_pixels), None
    except BadInput as exc:
        found, problem = Inspection("unknown", 0, False, ws.settings.dpi), exc
    ws.staging.upload(keys.staging_key(dossier_id, stack, "source"), str(path), "application/octet-stream")
    source = {
        "name": path.name, "kind": "file", "format": found.format, "sha256": digest,
        "bytes": path.stat().st_size, "pages": found.pages, "page_is_file": found.page_is_file,
        "dpi": found.dpi, "order": previous["order"] if previous else time.time_ns(),
        "dossier_from_receipt": dossier_id.startswith("inbox-"),
    }
    ws.staging.put_json(source_key, source)
    if problem:
        record_failure(ws, dossier_id, stack, "ingest", problem.as_dict())
    log.info("dossier %s: received stack %s (%d pages)", dossier_id, stack, found.pages)
    return Received(dossier_id, stack, found.pages, problem)


def receive_scan(ws: Workspace, dossier_id: str | None, device: str) -> tuple[str, str]:
    """Open a new stack for pages coming off a scanner; returns (the dossier it is staged under, its ID).

    A scan has no file to hash, so its ID is made from the moment it started:
    scanning the same papers again is a new stack of the dossier. Without a
    dossier ID the stack waits in an inbox until its receipts name its dossiers.
    """
    started = time.time_ns()
    digest = hashlib.sha256(f"{dossier_id}/{device}/{started}".encode()).hexdigest()
    stack, home = "scan-" + digest[:12], dossier_id or keys.inbox_id(digest)
    source = {"name": f"scan on {device}", "kind": "scanner", "format": "scan", "sha256": None, "bytes": None,
              "pages": 0, "page_is_file": False, "dpi": None, "order": started,
              "dossier_from_receipt": dossier_id is None}
    ws.staging.put_json(keys.staging_key(home, stack, "source.json"), source)
    return home, stack


def stage_page(ws: Workspace, dossier_id: str, stack: str, index: int, data: bytes | None,
               source_page: int, dpi: int) -> None:
    """Put one page in staging: its image (unless the source file is the page) and its entry."""
    name = "source" if data is None else keys.page_name(index, "page")
    if data is not None:
        ws.staging.put(keys.staging_key(dossier_id, stack, name), data, "application/octet-stream")
    ws.staging.put_json(keys.page_key(dossier_id, stack, index, "json"),
                        {"object": name, "source_page": source_page, "dpi": dpi})


def close_stack(ws: Workspace, dossier_id: str, stack: str, count: int, problems: list[dict]) -> None:
    """Say how many pages the stack has, once all are staged.

    Until this is written the stack is still growing (a scanner still feeding).
    """
    ws.staging.put_json(keys.staging_key(dossier_id, stack, "pages.json"), {"count": count, "problems": problems})


def all_pages_read(ws: Workspace, dossier_id: str, stack: str, count: int, index: int | None = None) -> bool:
    """Whether every page of a stack of `count` pages is read; `index`: the page just read, if one was.

    Pages are read in about the order they were queued, so the stack's last
    page is nearly always among the last read: while it is unread, a page
    still to come will ask again, and this one need not list the stack. (A
    listing costs 0.5 s at 1,000 pages; one for every page read made a long
    file cost the square of its length.) Whichever page is read last finds
    every other marker in place, so the stack is never left waiting.
    """
    last = count - 1
    if index != last and not ws.staging.exists(keys.page_key(dossier_id, stack, last, "ocr.json")):
        return False
    read = sum(1 for key in ws.staging.keys(keys.staging_prefix(dossier_id, stack)) if key.endswith(".ocr.json"))
    return read == count


def split_source(ws: Workspace, dossier_id: str, stack: str) -> list[int]:
    """Put the file's pages in staging as images; returns the pages to OCR.

    A file that is one page image (JPEG, PNG, TIFF) is its own page image:
    nothing is downloaded or copied. A stack staged already (its message
    handed on again) is not staged again.
    """
    plan = ws.staging.get_json_or_none(keys.staging_key(dossier_id, stack, "pages.json"))
    if plan is not None:
        return list(range(plan["count"]))
    source = ws.staging.get_json(keys.staging_key(dossier_id, stack, "source.json"))
    if source["page_is_file"]:
        stage_page(ws, dossier_id, stack, 0, None, 0, source["dpi"])
        close_stack(ws, dossier_id, stack, 1, [])
        return [0]
    count, problems = 0, []
    with tempfile.TemporaryDirectory(prefix="sohoa-split-") as tmp:
        local = Path(tmp) / source["name"]
        ws.staging.download(keys.staging_key(dossier_id, stack, "source"), str(local))
        try:
            for item in read_pages(local, ws.settings.dpi, ws.settings.max_page_pixels):
                if isinstance(item, BadInput):
                    problems.append(item.as_dict())
                    continue
                stage_page(ws, dossier_id, stack, count, item.data, item.index, item.dpi)
                count += 1
        except BadInput as exc:
            record_failure(ws, dossier_id, stack, "ingest", exc.as_dict())
            return []
    if not count:
        reason = problems[0] if problems else {"file": source["name"], "page": None,
                                               "reason": "no page could be read", "hint": "Scan the file again."}
        record_failure(ws, dossier_id, stack, "ingest", reason)
        return []
    close_stack(ws, dossier_id, stack, count, problems)
    log.info("dossier %s stack %s: %d pages staged, %d refused", dossier_id, stack, count, len(problems))
    return list(range(count))


def process_page(ws: Workspace, dossier_id: str, stack: str, index: int) -> bool:
    """Straighten and read one page into a searchable page PDF; True when it was the stack's last.

    A page read already is not read again: the broker hands a message on
    again when its acknowledgement was lost (a broker restart, a worker
    killed just after the step).
    """
    if ws.staging.exists(keys.page_key(dossier_id, stack, index, "ocr.json")):
        log.info("dossier %s stack %s page %d: read already", dossier_id, stack, index)
        return _was_last(ws, dossier_id, stack, index)
    entry = ws.staging.get_json(keys.page_key(dossier_id, stack, index, "json"))
    data = ws.staging.get(keys.staging_key(dossier_id, stack, entry["object"]))
    image = SourcePage(index, data, entry["dpi"]).image()
    started = time.perf_counter()
    read = read_page(image, entry["dpi"], ws.engine, ws.settings.jpeg_quality)
    ws.staging.put(keys.page_key(dossier_id, stack, index, "pdf"), read.pdf, "application/pdf")
    result = dict(read.result, source_page=entry["source_page"])
    # Written last: its presence is what says the page is read.
    ws.staging.put_json(keys.page_key(dossier_id, stack, index, "ocr.json"), result)
    log.info("dossier %s stack %s page %d: read in %.1f s, confidence %.1f",
             dossier_id, stack, index, time.perf_counter() - started, result["mean_confidence"])
    return _was_last(ws, dossier_id, stack, index)


def _was_last(ws: Workspace, dossier_id: str, stack: str, index: int) -> bool:
    """Whether page `index`, just read, finds the whole stack read (a scan still feeding has no plan yet)."""
    plan = ws.staging.get_json_or_none(keys.staging_key(dossier_id, stack, "pages.json"))
    return plan is not None and all_pages_read(ws, dossier_id, stack, plan["count"], index)


def assemble_stack(ws: Workspace, dossier_id: str, stack: str) -> list[str]:
    """Split the read stack into documents, and store each one's PDF/A and JSON; returns the dossiers touched.

    Documents go to the dossier their receipt names (pipeline.understand.assign_dossiers);
    under each other dossier a copy of the stack's source and done markers says
    what was published there, so that dossier's manifest lists it. A stack
    stored already (its message handed on again) is not stored again: its
    records and their checksums stay those a report may have filed.
    """
    finished = ws.staging.get_json_or_none(keys.staging_key(dossier_id, stack, "done.json"))
    if finished is not None:
        log.info("dossier %s stack %s: stored already", dossier_id, stack)
        return _dossiers_of(dossier_id, finished["documents"])
    source = ws.staging.get_json(keys.staging_key(dossier_id, stack, "source.json"))
    count = ws.staging.get_json(keys.staging_key(dossier_id, stack, "pages.json"))["count"]
    pages = [ws.staging.get_json(keys.page_key(dossier_id, stack, i, "ocr.json")) for i in range(count)]
    found = split_stack(pages, ws.document_types, ws.classifier)
    groups = assign_dossiers(found.documents, None if source.get("dossier_from_receipt") else dossier_id)
    published, reasons = [], []
    owner = [dossier_id] * len(pages)  # each page's dossier: its document's, or else the one's before it
    if not found.documents:
        reasons.append({"dossier_id": dossier_id, "document_id": None, "file": source["name"], "page": None,
                        "reason": "every page is blank or a separator sheet",
                        "hint": "Check that the printed side was scanned, then scan again."})
    for target, documents, group_reasons in groups:
        if target is None:
            target = dossier_id
            group_reasons = [*group_reasons, f"no receipt with a readable dossier code: the pages are kept as "
                                             f"dossier {dossier_id}; hand the file in again with --dossier"]
        reasons += [{"dossier_id": target, "document_id": None, "file": source["name"], "page": None,
                     "reason": reason, "hint": "Check the receipt against the dossier."} for reason in group_reasons]
        for document in documents:
            published.append(_publish_document(ws, dossier_id, target, stack, source, document, pages))
            owner[document.pages[0]:] = [target] * (len(pages) - document.pages[0])
    skipped = [dict(s, page=pages[s["page"]]["source_page"], dossier_id=owner[s["page"]]) for s in found.skipped]
    warnings = [dict(w, page=p["source_page"], dossier_id=owner[i]) for i, p in enumerate(pages) for w in p["warnings"]]
    reasons += [r for entry in published for r in entry.pop("review")]
    done = {"documents": published, "skipped": skipped, "reasons": reasons, "warnings": warnings}
    touched = _dossiers_of(dossier_id, published)
    for target in touched[1:]:
        mine = {key: [item for item in done[key] if item["dossier_id"] == target] for key in done}
        ws.staging.put_json(keys.staging_key(target, stack, "source.json"), dict(source, handed_in_as=dossier_id))
        ws.staging.put_json(keys.staging_key(target, stack, "done.json"), mine)
    # Written last: its presence is what says the stack is stored.
    ws.staging.put_json(keys.staging_key(dossier_id, stack, "done.json"), done)
    log.info("dossier %s stack %s: %d documents stored, %d pages skipped, %d dossiers",
             dossier_id, stack, len(published), len(skipped), len(touched))
    return touched


def _dossiers_of(home: str, documents: list[dict]) -> list[str]:
    """The stack's own dossier first, then each other dossier its documents went to."""
    return [home, *(target for target in dict.fromkeys(d["dossier_id"] for d in documents) if target != home)]


def _publish_document(ws: Workspace, home: str, dossier_id: str, stack: str, source: dict, document: Document,
                      pages: list[dict]) -> dict:
    """Write one document's PDF/A and JSON into the dossier's records; returns its manifest entry and review reasons.

    `home` is the dossier the stack was staged under, where its page PDFs are.
    """
    doc_id = keys.document_id(stack, pages[document.pages[0]]["source_page"])
    mine = [pages[i] for i in document.pages]
    searchable = [ws.staging.get(keys.page_key(home, stack, i, "pdf")) for i in document.pages]
    pdf = build_pdf(searchable, title=f"Hồ sơ {dossier_id}", identifier=f"{dossier_id}/{doc_id}")
    pdf_key, json_key = keys.pdf_key(dossier_id, doc_id), keys.record_key(dossier_id, doc_id)
    digest = hashlib.sha256(pdf).hexdigest()
    review = review_reasons(document, ws.document_types.thresholds)
    record = document_record(
        dossier_id=dossier_id, document_id=doc_id, source=source, pages=mine, doc_type=document.doc_type,
        confidence=document.confidence, fields=document.fields, review=review,
        pdf={"key": pdf_key, "sha256": digest, "bytes": len(pdf), "pdfa": "2b"},
        ocr=ws.engine.describe(), created_at=now(ws.settings.timezone),
    )
    metadata = {"dossier-id": dossier_id, "document-type": document.doc_type}
    ws.records.put(pdf_key, pdf, "application/pdf", metadata)
    ws.records.put_json(json_key, record, metadata)
    source_pages = [p["source_page"] for p in mine]
    return {"dossier_id": dossier_id, "document_id": doc_id, "doc_type": document.doc_type,
            "doc_type_confidence": document.confidence, "page_count": len(mine), "pages": source_pages,
            "pdf_key": pdf_key, "json_key": json_key, "sha256": digest, "bytes": len(pdf),
            "fields": sorted(document.fields),
            "review": [dict(r, dossier_id=dossier_id, document_id=doc_id, file=source["name"], page=source_pages[0])
                       for r in review]}


def record_failure(ws: Workspace, dossier_id: str, stack: str, stage: str, problem: dict) -> None:
    """Mark a stack failed, with the reason a person can act on and the file it concerns."""
    if not problem.get("file"):
        source = ws.staging.get_json_or_none(keys.staging_key(dossier_id, stack, "source.json"))
        problem = dict(problem, file=source["name"] if source else None)
    ws.staging.put_json(keys.staging_key(dossier_id, stack, "error.json"), dict(problem, stage=stage))
    log.warning("dossier %s stack %s failed at %s", dossier_id, stack, stage)


def _listing(ws: Workspace, dossier_id: str) -> dict[str, set[str]]:
    """The staged object names of each stack of the dossier, from one listing."""
    names: dict[str, set[str]] = {}
    for key in ws.staging.keys(keys.staging_prefix(dossier_id)):
        _, stack, name = key.split("/", 2)
        names.setdefault(stack, set()).add(name)
    return {stack: present for stack, present in names.items() if "source.json" in present}


def read_dossier(ws: Workspace, dossier_id: str, listing: dict[str, set[str]] | None = None) -> list[StackState]:
    """The state of every stack of the dossier, from the staging area alone (`listing`: made already)."""
    stacks = []
    for stack, present in (listing if listing is not None else _listing(ws, dossier_id)).items():
        def load(name: str) -> dict | None:
            return ws.staging.get_json(keys.staging_key(dossier_id, stack, name)) if name in present else None
        plan, done = load("pages.json"), load("done.json")
        source = load("source.json")
        stacks.append(StackState(
            stack_id=stack, source=source,
            page_count=plan["count"] if plan else source.get("pages") if done else None,
            pages_read=sum(1 for name in present if name.endswith(".ocr.json")),
            page_problems=plan["problems"] if plan else [],
            done=done, error=load("error.json"),
        ))
    return sorted(stacks, key=lambda d: d.source["order"])


def dossier_finished(ws: Workspace, dossier_id: str) -> bool:
    """True when every stack is stored or failed; one listing, no reads."""
    return all({"done.json", "error.json"} & present for present in _listing(ws, dossier_id).values())


def publish_manifest(ws: Workspace, dossier_id: str) -> dict:
    """Write the manifest from the staging state, last, after the records it lists.

    Two workers finishing stacks at once may write in either order; each
    lists the staging state again after writing and writes once more if an
    object came or went meanwhile, so the manifest that stays is the one made
    from the final state. (A marker rewritten in place, by a step run twice,
    is followed by that step's own publish_manifest message.)
    """
    listing = _listing(ws, dossier_id)
    for _ in range(10):
        current = manifest(dossier_id, read_dossier(ws, dossier_id, listing), now(ws.settings.timezone))
        ws.records.put_json(keys.manifest_key(dossier_id), current, {"dossier-id": dossier_id})
        again = _listing(ws, dossier_id)
        if again == listing:
            break
        listing = again
    log.info("dossier %s: manifest %s, %d documents", dossier_id, current["status"], len(current["documents"]))
    return current


def final_manifests(ws: Workspace, dossier_ids: list[str], timeout_s: float,
                    on_poll: Callable[[], None]) -> dict[str, dict]:
    """The final manifests of the dossiers, and of those their stacks' receipts sent documents to.

    In the order met; a dossier not final when time is up is returned as it stands.
    """
    deadline = time.monotonic() + timeout_s
    manifests: dict[str, dict] = {}
    pending = list(dict.fromkeys(dossier_ids))
    while pending:
        dossier_id = pending.pop(0)
        manifests[dossier_id] = final_manifest(ws, dossier_id, max(0.0, deadline - time.monotonic()), on_poll)
        pending += [m["dossier_id"] for m in manifests[dossier_id].get("moved", [])
                    if m["dossier_id"] not in manifests and m["dossier_id"] not in pending]
    return manifests


def final_manifest(ws: Workspace, dossier_id: str, timeout_s: float, on_poll: Callable[[], None]) -> dict:
    """Poll until the dossier's manifest is final (or time is up) and return it; `on_poll` shows progress.

    One small read a poll, and `on_poll` given a twentieth of the time at
    most (a progress count lists a dossier's keys: 0.5 s at 1,000 pages), so
    a waiting client never competes with the workers for the S3 server.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        began = time.monotonic()
        on_poll()
        cost = time.monotonic() - began
        current = ws.records.get_json_or_none(keys.manifest_key(dossier_id)) or {"status": "processing"}
        if current["status"] != "processing" or time.monotonic() > deadline:
            return current
        time.sleep(min(5.0, max(0.3, 20 * cost)))
