"""Document understanding through the real pipeline: CLI -> workers -> tesseract -> split, type, fields -> S3.

Pages come from samples/documents.py (every type of shared/spec/document-types.md,
with its true fields), rendered cleanly at 300 dpi and without values typed
after dotted leaders (tesseract garbles a label that runs into them), so that
a failure here is the rules' fault, not a poor scan's; bench/accuracy.py
measures degraded scans with leaders.
"""

from __future__ import annotations

import json
import random

import pytest
from PIL import Image

from pipeline.classifier import PageClassifier
from pipeline.doctypes import load_document_types
from pipeline.ocr import Tesseract
from pipeline.read import read_page
from pipeline.settings import load_settings
from pipeline.understand import split_stack
from samples.documents import TYPES, Document, dossier_code, make_document, receipt
from samples.generate import fake_person, render_lines, save_pages
from tests.helpers import run_sohoa


def render(rng: random.Random, document: Document) -> list[Image.Image]:
    return [render_lines(rng, lines, 300, rng.uniform(-1, 1), noise=3.0)[0] for lines in document.pages]


def blank_page(rng: random.Random) -> Image.Image:
    return render_lines(rng, [], 300, 0.0, noise=4.0)[0]


def separator_sheet(rng: random.Random) -> Image.Image:
    return render_lines(rng, [("gap", "")] * 20 + [("title", "TỜ PHÂN CÁCH HỒ SƠ")], 300, 0.0, noise=3.0)[0]


def ingest(*args: str) -> tuple[int, dict]:
    result = run_sohoa("ingest", *args, "--wait", "--timeout", "300", "--json")
    assert result.stdout.strip(), result.stderr
    return result.returncode, json.loads(result.stdout)


def fields_of(workspace, entry: dict) -> dict:
    record = workspace.records.get_json(entry["json_key"])
    return {name: field["value"] for name, field in record["fields"].items()}


def test_every_type_and_field_is_read_from_one_stack(workers, workspace, tmp_path):
    """A receipt, then one document of every type, with a blank back and a separator sheet in between."""
    rng = random.Random(2024)
    person, code = fake_person(rng), dossier_code(rng)
    documents = [receipt(rng, code, person, leaders=0)] + [make_document(rng, doc_type, person, leaders=0)
                                                           for doc_type in TYPES]
    pages, skipped = [], []
    for number, document in enumerate(documents):
        pages += render(rng, document)
        if number == 2:
            skipped.append((len(pages), "blank"))
            pages.append(blank_page(rng))
        if number == 5:
            skipped.append((len(pages), "separator"))
            pages.append(separator_sheet(rng))
    save_pages(pages, tmp_path / "ho-so.pdf", 300)

    code_exit, answer = ingest(str(tmp_path / "ho-so.pdf"))  # no --dossier: the receipt names it
    named = {d["dossier_id"]: d for d in answer["dossiers"]}
    assert code in named, answer
    manifest = named[code]["manifest"]
    assert [d["doc_type"] for d in manifest["documents"]] == [d.doc_type for d in documents]
    assert [d["page_count"] for d in manifest["documents"]] == [len(d.pages) for d in documents]
    assert [(p["page"], p["reason"]) for p in manifest["skipped_pages"]] == skipped
    for entry, document in zip(manifest["documents"], documents):
        assert fields_of(workspace, entry) == document.fields, entry["doc_type"]
        assert entry["doc_type_confidence"] >= 0.75
    assert manifest["status"] == "complete" and code_exit == 0, manifest["reasons"]
    # The inbox the file waited in says where its documents went.
    inbox = next(d["manifest"] for d in answer["dossiers"] if d["dossier_id"].startswith("inbox-"))
    assert {m["dossier_id"] for m in inbox["moved"]} == {code} and inbox["documents"] == []


def test_a_stack_of_two_dossiers_is_split_at_their_receipts(workers, workspace, tmp_path):
    rng = random.Random(7)
    first, second = dossier_code(rng), dossier_code(rng)
    people = fake_person(rng), fake_person(rng)
    documents = [receipt(rng, first, people[0]), make_document(rng, "to_khai_ho_chieu", people[0]),
                 receipt(rng, second, people[1]), make_document(rng, "giay_uy_quyen", people[1])]
    save_pages([page for d in documents for page in render(rng, d)], tmp_path / "hai-ho-so.pdf", 300)
    _, answer = ingest(str(tmp_path / "hai-ho-so.pdf"))
    named = {d["dossier_id"]: d["manifest"] for d in answer["dossiers"]}
    assert [d["doc_type"] for d in named[first]["documents"]] == ["phieu_tiep_nhan", "to_khai_ho_chieu"]
    assert [d["doc_type"] for d in named[second]["documents"]] == ["phieu_tiep_nhan", "giay_uy_quyen"]
    stored = workspace.records.get_json(named[second]["documents"][1]["json_key"])
    assert stored["dossier_id"] == second and stored["fields"]["agent_name"]["value"] == documents[3].fields["agent_name"]
    assert workspace.records.metadata(named[second]["documents"][1]["pdf_key"]) == {
        "dossier-id": second, "document-type": "giay_uy_quyen"}


def test_a_receipt_that_contradicts_the_dossier_is_flagged_not_merged(workers, workspace, dossier_id, tmp_path):
    rng = random.Random(8)
    other = dossier_code(rng)
    person = fake_person(rng)
    documents = [receipt(rng, other, person), make_document(rng, "giay_khai_sinh", person)]
    save_pages([page for d in documents for page in render(rng, d)], tmp_path / "nham.pdf", 300)
    code, answer = ingest(str(tmp_path / "nham.pdf"), "--dossier", dossier_id)
    assert code == 3 and answer["status"] == "needs_review"
    manifest = answer["manifest"]
    assert [d["doc_type"] for d in manifest["documents"]] == ["phieu_tiep_nhan", "giay_khai_sinh"]
    (reason,) = manifest["reasons"]
    assert other in reason["reason"] and dossier_id in reason["reason"]
    assert workspace.records.get_json_or_none(f"{other}/manifest.json") is None  # nothing moved silently


def test_an_id_number_that_contradicts_the_form_makes_the_dossier_need_review(workers, workspace, dossier_id,
                                                                               tmp_path):
    rng = random.Random(9)
    person = fake_person(rng, sex="Nam")
    document = make_document(rng, "to_khai_ho_chieu", person)
    wrong = person.id_number[:3] + "1" + person.id_number[4:]  # the sex digit of a woman
    document.pages[0] = [(style, text.replace(person.id_number, wrong)) for style, text in document.pages[0]]
    save_pages(render(rng, document)[:1], tmp_path / "to-khai.png", 300)
    code, answer = ingest(str(tmp_path / "to-khai.png"), "--dossier", dossier_id)
    assert code == 3 and answer["status"] == "needs_review"
    (entry,) = answer["manifest"]["documents"]
    record = workspace.records.get_json(entry["json_key"])
    assert record["fields"]["id_number"]["value"] == wrong and record["fields"]["id_number"]["valid"] is False
    assert record["needs_review"] and "sex digit" in record["review_reasons"][0]["reason"]
    assert any(r["reason"].startswith("field id_number is not valid") for r in answer["manifest"]["reasons"])


@pytest.fixture(scope="module")
def understanding():
    settings = load_settings()
    types = load_document_types(settings.document_types)
    classifier = PageClassifier.load(settings.classifier_model)
    engine = Tesseract(settings.languages, settings.tesseract_psm)

    def understand(images: list[Image.Image]):
        pages = [dict(read_page(image, 300, engine, 85).result, source_page=i) for i, image in enumerate(images)]
        return split_stack(pages, types, classifier)
    return understand


def retitled(document: Document, title: str | None) -> Document:
    """The document with its printed title changed (None: torn off)."""
    first = [(style, title if style == "title" else text) for style, text in document.pages[0]
             if style != "title" or title is not None]
    return Document(document.doc_type, [first, *document.pages[1:]], document.fields)


@pytest.mark.parametrize("title", ["TO KHAI DE NGHI CAP HO CHIEU PHO THONG", "Tờ khai đề nghị cấp hộ chiếu phổ thông",
                                   None])
def test_a_title_without_diacritics_in_other_case_or_missing_still_gives_the_type(understanding, title):
    rng = random.Random(10)
    document = retitled(make_document(rng, "to_khai_ho_chieu"), title)
    (found,) = understanding(render(rng, document)[:1]).documents
    assert found.doc_type == "to_khai_ho_chieu"
    assert found.evidence == ("title" if title and title.isupper() else "motto, type from classifier")


def test_the_back_of_an_id_card_continues_it_and_a_second_card_starts_anew(understanding):
    rng = random.Random(11)
    cards: list[Document] = []
    while len(cards) < 2:  # copies with the front and the back on two pages
        card = make_document(rng, "can_cuoc")
        cards += [card] if len(card.pages) == 2 else []
    stack = understanding([page for card in cards for page in render(rng, card)])
    assert [(d.doc_type, d.pages) for d in stack.documents] == [("can_cuoc", [0, 1]), ("can_cuoc", [2, 3])]
    assert [d.fields.get("id_number", {}).get("value") for d in stack.documents] == [
        card.fields["id_number"] for card in cards]
