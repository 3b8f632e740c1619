"""Stage 4, understanding: split a stack of read pages into documents and dossiers, type them, read their fields.

Plain functions over the pages' OCR results (text, words with boxes, the
receipt's QR code, quality warnings), with the whole stack in view:

1. each page gets a role: it starts a document (a known title, the national
   motto at its top, or a title the statistical classifier recognises), it
   continues the one before (a form's second page, the back of an ID card),
   it is blank (the back of a single-sided sheet), or it is a separator sheet;
2. pages are grouped into documents in scan order, blank and separator pages
   left out and recorded;
3. each document's fields are read (pipeline.fields);
4. receipts cut the stack into dossiers: each receipt's code (QR, else its
   printed text) names the documents from it to the next receipt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from pipeline.classifier import CONTINUATION, PageClassifier
from pipeline.doctypes import OTHER, DocumentTypes, Phrase
from pipeline.fields import extract_fields
from pipeline.text import Line, fold, page_lines

@dataclass(frozen=True)
class PageRole:
    """What one page is to the stack, and why (for the record and for review)."""

    role: str  # start, continue, blank, separator
    doc_type: str | None = None
    confidence: float = 0.0
    evidence: str = ""  # title, motto, classifier, ...


@dataclass
class Document:
    """A run of pages of one type, with its fields."""

    doc_type: str
    confidence: float
    pages: list[int]  # indices into the stack
    evidence: str
    fields: dict[str, dict] = field(default_factory=dict)
    receipt: bool = False
    dossier_code: str | None = None  # receipts only: the code they print, if it could be read


@dataclass
class Stack:
    documents: list[Document]
    skipped: list[dict]  # {"page": i, "reason": "blank" | "separator"}


def _uppercase_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(c.isupper() for c in letters) / len(letters) if letters else 0.0


def _best(lines: list[Line], phrases: tuple[Phrase, ...], capitals: bool) -> float:
    """The best 0-100 match of any phrase with a line, or two lines run together (a wrapped title)."""
    best = 0.0
    joined = [f"{a.text} {b.text}" for a, b in zip(lines, lines[1:])]
    for text in [line.text for line in lines] + joined:
        if capitals and _uppercase_share(text) < 0.7:
            continue
        words = re.findall(r"[^\W_]+", fold(text))
        for phrase in phrases:
            whole = fuzz.ratio(" ".join(words), phrase.joined)
            opening = fuzz.ratio(" ".join(words[: len(phrase.words)]), phrase.joined)
            best = max(best, whole, opening)
    return best


def page_role(page: dict, types: DocumentTypes, classifier: PageClassifier, current: str | None) -> PageRole:
    """The role of one read page (its ocr.json), given the type of the document before it."""
    limits = types.thresholds
    letters = sum(c.isalnum() for c in page["text"])
    blank = any(w["code"] == "nearly_blank" for w in page.get("warnings", []))
    if letters <= limits.blank_max_characters or (blank and letters <= 3 * limits.blank_max_characters):
        return PageRole("blank", evidence=f"{letters} characters")
    top = page_lines(page["words"])[: limits.title_lines]
    if types.separator_phrases and _best(top, types.separator_phrases, capitals=False) >= limits.title_min_score:
        return PageRole("separator", evidence="separator sheet")
    receipt = next((c for c, t in types.types.items() if t.receipt), None)
    if page.get("qr_code") and receipt:
        return PageRole("start", receipt, 1.0, "receipt QR code")
    scores = {code: _best(top, t.titles, capitals=True) for code, t in types.types.items()}
    code, score = max(scores.items(), key=lambda item: item[1], default=(None, 0.0))
    probabilities = classifier.probabilities(page["text"])
    if code and score >= limits.title_min_score:
        return PageRole("start", code, round(max(score / 100, probabilities.get(code, 0.0)), 2), "title")
    as_type = {c: p for c, p in probabilities.items() if c != CONTINUATION}
    guess, certainty = max(as_type.items(), key=lambda item: item[1])
    motto = bool(types.start_markers) and _best(top[:6], types.start_markers, capitals=False) >= limits.title_min_score
    if motto:
        share = certainty / (sum(as_type.values()) or 1.0)
        return PageRole("start", guess, round(share, 2), "motto, type from classifier")
    if current is None:
        return PageRole("start", guess, round(certainty, 2), "first page, type from classifier")
    if guess not in (current, OTHER) and certainty >= limits.classifier_min_start:
        return PageRole("start", guess, round(certainty, 2), "classifier")
    return PageRole("continue", current, round(probabilities.get(CONTINUATION, 0.0), 2), "no title")


def split_stack(pages: list[dict], types: DocumentTypes, classifier: PageClassifier) -> Stack:
    """Group read pages into typed documents with their fields; blank and separator pages left out."""
    documents: list[Document] = []
    skipped: list[dict] = []
    for index, page in enumerate(pages):
        current = documents[-1].doc_type if documents and not _after_separator(skipped, index) else None
        role = page_role(page, types, classifier, current)
        if role.role in ("blank", "separator"):
            skipped.append({"page": index, "reason": role.role})
        elif role.role == "start" or current is None:
            documents.append(Document(role.doc_type or OTHER, role.confidence, [index], role.evidence))
        else:
            documents[-1].pages.append(index)
    for document in documents:
        read_document(document, pages, types)
    return Stack(documents, skipped)


def _after_separator(skipped: list[dict], index: int) -> bool:
    """True when the page follows a separator sheet (blank backs in between do not count)."""
    for entry in reversed(skipped):
        if entry["page"] != index - 1:
            return False
        if entry["reason"] == "separator":
            return True
        index -= 1
    return False


def read_document(document: Document, pages: list[dict], types: DocumentTypes) -> None:
    """Fill in the document's fields, and a receipt's dossier code (its QR code wins over OCR)."""
    doc_type = types.types.get(document.doc_type)
    if doc_type is None:
        return
    lines = [line for n, index in enumerate(document.pages) for line in page_lines(pages[index]["words"], n)]
    document.fields = extract_fields(lines, doc_type, types.thresholds, types.family_names)
    if doc_type.receipt:
        document.receipt = True
        printed = document.fields.get("dossier_id", {}).get("value")
        document.dossier_code = pages[document.pages[0]].get("qr_code") or printed


def assign_dossiers(documents: list[Document], given: str | None) -> list[tuple[str | None, list[Document], list[str]]]:
    """Cut the documents into dossiers at each receipt: (dossier ID, documents, review reasons).

    The dossier the stack was handed in under (`given`) keeps the documents
    before the first receipt and those of a first receipt that names it. A
    receipt at the very start that names another dossier does not move the
    stack: the mismatch is flagged for review, never merged silently. A later
    receipt starts the dossier it names. With no `given` ID and no receipt,
    the dossier is None: the caller must say where the pages go.
    """
    groups: list[tuple[str | None, list[Document], list[str]]] = []
    for document in documents:
        code = document.dossier_code
        if not groups:
            if code and given and code != given:
                reason = (f"the receipt on page {document.pages[0] + 1} names dossier {code}, "
                          f"but the stack was handed in as {given}: check which is right")
                groups.append((given, [document], [reason]))
            else:
                groups.append((given or code, [document], []))
            continue
        if code and code != groups[-1][0]:
            groups.append((code, [document], []))
        else:
            groups[-1][1].append(document)
    return groups
