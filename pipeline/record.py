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

from pipeline.doctypes import Thresholds
from pipeline.understand import Document

SCHEMA_VERSION = 1


def pipeline_version() -> str:
    try:
        return version("sohoa")
    except PackageNotFoundError:
        return "unknown"


def now(timezone: str) -> str:
    """ISO 8601 with the local offset, as people at the counter read time."""
    return datetime.now(ZoneInfo(timezone)).isoformat(timespec="seconds")


@dataclass
class StackState:
    """What the staging area says about one stack (a file or a scan session) of a dossier."""

    stack_id: str
    source: dict
    page_count: int | None = None
    pages_read: int = 0
    page_problems: list[dict] = field(default_factory=list)
    done: dict | None = None  # documents published, pages skipped, review reasons, warnings
    error: dict | None = None

    @property
    def state(self) -> str:
        if self.error:
            return "failed"
        return "done" if self.done else "processing"


def review_reasons(document: Document, thresholds: Thresholds) -> list[dict]:
    """Why a person must look at this document: an uncertain type, an invalid or poorly read field.

    Reasons name fields, never their values: they are shown on screens and
    lists where the values (ID numbers, names) have no business.
    """
    reasons = []
    if document.confidence < thresholds.min_type_confidence:
        reasons.append({"reason": f"document type {document.doc_type} is uncertain "
                                  f"(confidence {document.confidence:.2f})",
                        "hint": "Check the document's type and correct it."})
    for name, found in document.fields.items():
        if not found["valid"]:
            reasons.append({"reason": f"field {name} is not valid: {found['problem']}",
                            "hint": "Compare the field with the paper; re-scan if it was misread."})
        elif found["confidence"] < thresholds.min_field_confidence:
            reasons.append({"reason": f"field {name} was read with low confidence ({found['confidence']:.2f})",
                            "hint": "Compare the field with the paper; re-scan if it was misread."})
    return reasons


def document_record(
    *, dossier_id: str, document_id: str, source: dict, pages: list[dict], doc_type: str, confidence: float,
    fields: dict[str, dict], review: list[dict], pdf: dict, ocr: dict, created_at: str,
) -> dict:
    """A document's metadata: the record contract's fields, nothing guessed."""
    return {
        "schema_version": SCHEMA_VERSION,
        "dossier_id": dossier_id,
        "document_id": document_id,
        "doc_type": doc_type,
        "doc_type_confidence": confidence,
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
        "fields": fields,
        "needs_review": bool(review),
        "review_reasons": review,
        "pdf": pdf,
        "ocr": ocr,
        "created_at": created_at,
        "pipeline_version": pipeline_version(),
    }


def dossier_status(stacks: list[StackState], dossier_id: str) -> tuple[str, list[dict]]:
    """The dossier's status and the reasons a person must read.

    processing while any stack is under way; failed when nothing could be
    digitized; needs_review when something was refused, or a document's type
    or fields need a person's eye, but the rest is stored.
    """
    reasons = [dict(s.error, stack_id=s.stack_id) for s in stacks if s.error]
    reasons += [dict(p, stack_id=s.stack_id) for s in stacks for p in s.page_problems]
    reasons += [dict(r, stack_id=s.stack_id) for s in stacks if s.done for r in s.done["reasons"]
                if r.get("dossier_id", dossier_id) == dossier_id]
    if any(s.state == "processing" for s in stacks):
        return "processing", reasons
    if not any(s.state == "done" for s in stacks):
        return "failed", reasons
    return ("needs_review" if reasons else "complete"), reasons


def manifest(dossier_id: str, stacks: list[StackState], updated_at: str) -> dict:
    """The dossier: its stored documents in the order they were scanned, and its status."""
    status, reasons = dossier_status(stacks, dossier_id)
    ordered = sorted(stacks, key=lambda s: s.source["order"])
    done = [s for s in ordered if s.done]
    return {
        "schema_version": SCHEMA_VERSION,
        "dossier_id": dossier_id,
        "status": status,
        "reasons": reasons,
        "documents": [
            {
                "document_id": d["document_id"],
                "doc_type": d["doc_type"],
                "doc_type_confidence": d["doc_type_confidence"],
                "page_count": d["page_count"],
                "pdf_key": d["pdf_key"],
                "json_key": d["json_key"],
                "sha256": d["sha256"],
                "bytes": d["bytes"],
                "fields": d["fields"],
                "source": {"name": s.source["name"], "kind": s.source["kind"], "pages": d["pages"]},
            }
            for s in done for d in s.done["documents"] if d["dossier_id"] == dossier_id
        ],
        "moved": [
            {"dossier_id": d["dossier_id"], "document_id": d["document_id"], "file": s.source["name"]}
            for s in done for d in s.done["documents"] if d["dossier_id"] != dossier_id
        ],
        "skipped_pages": [dict(p, file=s.source["name"]) for s in done for p in s.done["skipped"]
                          if p.get("dossier_id", dossier_id) == dossier_id],
        "warnings": [dict(w, stack_id=s.stack_id, file=s.source["name"]) for s in done for w in s.done["warnings"]
                     if w.get("dossier_id", dossier_id) == dossier_id],
        "updated_at": updated_at,
        "pipeline_version": pipeline_version(),
    }
