"""Dossier and document identities, and where their objects live.

All object keys are made here, in one place, so the storage layout of
shared/spec/record-contract.md and the staging area can be read on one page.

Record bucket (what downstream systems read):
    {dossier_id}/manifest.json
    {dossier_id}/{document_id}.pdf
    {dossier_id}/{document_id}.json

Staging bucket (the pipeline's working state; any worker on any machine can
pick a stage up from here):
    {dossier_id}/{document_id}/source.json      name, kind, checksum, order
    {dossier_id}/{document_id}/source           the file as received
    {dossier_id}/{document_id}/pages.json       page count, pages refused; written when all
                                                pages are staged (a scan grows until then)
    {dossier_id}/{document_id}/page-0000.json   which object holds the page, its dpi
    {dossier_id}/{document_id}/page-0000.page   page image as ingested (JPEG or PNG);
                                                a one-page JPEG/PNG file is its own page: `source`
    {dossier_id}/{document_id}/page-0000.pdf    the page straightened, with its text layer
    {dossier_id}/{document_id}/page-0000.ocr.json  OCR result; written last: the page is read
    {dossier_id}/{document_id}/done.json        the record was published
    {dossier_id}/{document_id}/error.json       the document failed, and why
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

MAX_DOSSIER_ID = 64
# Letters, digits, dot, dash, underscore; no path characters, no leading dot.
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# The national public-service portal code: agency code, YYMMDD, sequence.
PORTAL_CODE = re.compile(r"[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[0-9A-Z]{3}-\d{6}-\d{4}")


class InvalidDossierId(ValueError):
    """A dossier ID that cannot name objects safely."""


def check_dossier_id(dossier_id: str) -> str:
    """The ID unchanged if it is safe as a key prefix; otherwise a clear error.

    The portal format (e.g. 000.00.22.H26-250305-0001) is the norm, but archive
    dossiers carry older local numbers, so any short safe ID is accepted.
    """
    if not dossier_id:
        raise InvalidDossierId("the dossier ID is empty: give the code printed on the receipt")
    if len(dossier_id) > MAX_DOSSIER_ID:
        raise InvalidDossierId(f"the dossier ID is {len(dossier_id)} characters long; at most {MAX_DOSSIER_ID} are allowed")
    if not SAFE_ID.fullmatch(dossier_id) or ".." in dossier_id:
        raise InvalidDossierId(
            f"the dossier ID {dossier_id!r} may hold only letters, digits, '.', '-' and '_' "
            "(no spaces, slashes or '..'); e.g. 000.00.22.H26-250305-0001"
        )
    return dossier_id


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def document_id(source_sha256: str) -> str:
    """Stable for the same input: the same file in the same dossier is the same document."""
    return "doc-" + source_sha256[:16]


# Record bucket
def manifest_key(dossier_id: str) -> str:
    return f"{dossier_id}/manifest.json"


def pdf_key(dossier_id: str, doc_id: str) -> str:
    return f"{dossier_id}/{doc_id}.pdf"


def record_key(dossier_id: str, doc_id: str) -> str:
    return f"{dossier_id}/{doc_id}.json"


# Staging bucket
def staging_prefix(dossier_id: str, doc_id: str = "") -> str:
    return f"{dossier_id}/{doc_id}/" if doc_id else f"{dossier_id}/"


def staging_key(dossier_id: str, doc_id: str, name: str) -> str:
    return f"{dossier_id}/{doc_id}/{name}"


def page_name(index: int, suffix: str) -> str:
    return f"page-{index:04d}.{suffix}"


def page_key(dossier_id: str, doc_id: str, index: int, suffix: str) -> str:
    return staging_key(dossier_id, doc_id, page_name(index, suffix))
