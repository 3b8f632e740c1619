"""Dossier and document identities, and where their objects live.

All object keys are made here, in one place, so the storage layout of
shared/spec/record-contract.md and the staging area can be read on one page.

Record bucket (what downstream systems read):
    {dossier_id}/manifest.json
    {dossier_id}/{document_id}.pdf
    {dossier_id}/{document_id}.json

Staging bucket (the pipeline's working state; any worker on any machine can
pick a stage up from here). Its unit is the *stack*: the papers handed in at
once, as one file or one scan session; the understanding step splits a stack
into documents (and, at receipts, into dossiers):
    {dossier_id}/{stack_id}/source.json      name, kind, checksum, order
    {dossier_id}/{stack_id}/source           the file as received
    {dossier_id}/{stack_id}/pages.json       page count, pages refused; written when all
                                             pages are staged (a scan grows until then)
    {dossier_id}/{stack_id}/page-0000.json   which object holds the page, its dpi
    {dossier_id}/{stack_id}/page-0000.page   page image as ingested (JPEG, PNG or G4 TIFF);
                                             a one-page image file is its own page: `source`
    {dossier_id}/{stack_id}/page-0000.pdf    the page straightened, with its text layer
    {dossier_id}/{stack_id}/page-0000.ocr.json  OCR result; written last: the page is read
    {dossier_id}/{stack_id}/done.json        its documents were published (and where)
    {dossier_id}/{stack_id}/error.json       the stack failed, and why
A stack whose receipts name other dossiers leaves, under each of them, a
source.json and a done.json that list the documents it published there.
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


def stack_id(source_sha256: str) -> str:
    """Stable for the same input: the same file handed in again is the same stack."""
    return "stack-" + source_sha256[:16]


def inbox_id(source_sha256: str) -> str:
    """Where a file handed in without a dossier ID waits until its receipt names its dossier."""
    return "inbox-" + source_sha256[:12]


def document_id(stack: str, first_page: int) -> str:
    """Stable for the same input: a stack's document is named by the stack and its first page."""
    return "doc-" + hashlib.sha256(f"{stack}/{first_page}".encode()).hexdigest()[:16]


# Record bucket
def manifest_key(dossier_id: str) -> str:
    return f"{dossier_id}/manifest.json"


def pdf_key(dossier_id: str, document: str) -> str:
    return f"{dossier_id}/{document}.pdf"


def record_key(dossier_id: str, document: str) -> str:
    return f"{dossier_id}/{document}.json"


# Staging bucket
def staging_prefix(dossier_id: str, stack: str = "") -> str:
    return f"{dossier_id}/{stack}/" if stack else f"{dossier_id}/"


def staging_key(dossier_id: str, stack: str, name: str) -> str:
    return f"{dossier_id}/{stack}/{name}"


def page_name(index: int, suffix: str) -> str:
    return f"page-{index:04d}.{suffix}"


def page_key(dossier_id: str, stack: str, index: int, suffix: str) -> str:
    return staging_key(dossier_id, stack, page_name(index, suffix))
