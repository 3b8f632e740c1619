"""Stage 5, publish: the JSON that downstream systems read (record-contract.md).

Plain functions from what the pipeline knows to the two documents of the
contract: a document's metadata and the dossier's manifest. Nothing here
touches storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from zoneinfo import ZoneInfo

SCHEMA_VERSION = 1
# Documents are not classified until document understanding lands: every input
# file is one document of type `khac` ("other"), honestly unclassified.
UNCLASSIFIED = "khac"


def pipeline_version() -> str:
    try:
        return version("sohoa")
    except PackageNotFoundError:
        return "unknown"


def now(timezone: str) -> str:
    """ISO 8601 with the local offset, as people at the counter read time."""
    return datetime.now(ZoneInfo(timezone)).isoformat(timespec="seconds")


@dataclass
class DocumentState:
    """What the staging area says about one document of a dossier."""

    document_id: str
    source: dict
    page_count: int | None = None
    pages_read: int = 0
    page_problems: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)  # quality warnings of its pages; never block
    done: dict | None = None
    error: dict | None = None

    @property
    def state(self) -> str:
        if self.error:
            return "failed"
        return "done" if self.done else "processing"


def document_record(
    *, dossier_id: str, document_id: str, source: dict, pages: list[dict], pdf: dict,
    ocr: dict, created_at: str,
) -> dict:
    """A document's metadata: the record contract's fields, nothing guessed."""
    return {
        "schema_version": SCHEMA_VERSION,
        "dossier_id": dossier_id,
        "document_id": document_id,
        "doc_type": UNCLASSIFIED,
        "doc_type_confidence": 0.0,
        "pages": [
            {
                "index": index,
                "source": {"kind": source["kind"], "name": source["name"], "page": page["source_page"]},
                "rotation_applied": page["rotation_applied"],
                "skew_corrected_deg": page["skew_corrected_deg"],
                "ocr_mean_confidence": page["mean_confidence"],
                "warnings": page["warnings"],
                "text": page["text"],
                "words": page["words"],
            }
            for index, page in enumerate(pages)
        ],
        "fields": {},
        "pdf": pdf,
        "ocr": ocr,
        "created_at": created_at,
        "pipeline_version": pipeline_version(),
    }


def dossier_status(documents: list[DocumentState]) -> tuple[str, list[dict]]:
    """The dossier's status and the reasons a person must read.

    processing while any document is under way; failed when nothing could be
    digitized; needs_review when something was refused but the rest stored.
    """
    reasons = [dict(d.error, document_id=d.document_id) for d in documents if d.error]
    reasons += [dict(p, document_id=d.document_id) for d in documents for p in d.page_problems]
    if any(d.state == "processing" for d in documents):
        return "processing", reasons
    if not any(d.state == "done" for d in documents):
        return "failed", reasons
    return ("needs_review" if reasons else "complete"), reasons


def manifest(dossier_id: str, documents: list[DocumentState], updated_at: str) -> dict:
    """The dossier: its stored documents in the order they were received, and its status."""
    status, reasons = dossier_status(documents)
    ordered = sorted(documents, key=lambda d: d.source["order"])
    return {
        "schema_version": SCHEMA_VERSION,
        "dossier_id": dossier_id,
        "status": status,
        "reasons": reasons,
        "documents": [
            {
                "document_id": d.document_id,
                "doc_type": d.done["doc_type"],
                "page_count": d.done["page_count"],
                "pdf_key": d.done["pdf_key"],
                "json_key": d.done["json_key"],
                "sha256": d.done["sha256"],
                "bytes": d.done["bytes"],
                "source": {"name": d.source["name"], "kind": d.source["kind"]},
            }
            for d in ordered
            if d.done
        ],
        "warnings": [dict(w, document_id=d.document_id, file=d.source["name"]) for d in ordered for w in d.warnings],
        "updated_at": updated_at,
        "pipeline_version": pipeline_version(),
    }
