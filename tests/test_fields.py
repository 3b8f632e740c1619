"""Field reading as plain functions: labels in any spelling, values normalised as the spec says, checks that flag.

Lines are built from words with boxes, as OCR gives them; the real OCR path
is in test_understand.py.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from pipeline.doctypes import load_document_types
from pipeline.fields import extract_fields, normalise
from pipeline.record import review_reasons
from pipeline.settings import load_settings
from pipeline.text import Line, fold, make_line, title_case
from pipeline.understand import Document, assign_dossiers

TYPES = load_document_types(load_settings().document_types)


def line(text: str, confidence: float = 95.0, page: int = 0) -> Line:
    """A printed line as OCR words, 20 px a character."""
    words, x = [], 0
    for word in text.split():
        words.append({"text": word, "confidence": confidence, "bbox": [x, 0, x + 20 * len(word), 30]})
        x += 20 * (len(word) + 1)
    return make_line(words, page)


def read(doc_type: str, *texts: str) -> dict:
    return extract_fields([line(t) for t in texts], TYPES.types[doc_type], TYPES.thresholds)


def values(found: dict) -> dict:
    return {name: field["value"] for name, field in found.items()}


def test_folding_makes_spellings_one_word():
    assert fold("HỌ VÀ TÊN") == fold("Họ và tên") == fold("Ho va ten") == "ho va ten"
    assert fold("hòa") == fold("hoà") == fold(unicodedata.normalize("NFD", "hòa")) == "hoa"
    assert fold("Đặng") == "dang"
    assert title_case("NGUYỄN văn an") == "Nguyễn Văn An"


@pytest.mark.parametrize("label", ["Họ, chữ đệm và tên", "HỌ VÀ TÊN", "Ho va ten", "Họ tên",
                                   unicodedata.normalize("NFD", "Họ và tên")])
def test_a_name_label_in_any_spelling_is_found(label):
    found = read("to_khai_ho_chieu", f"1. {label}: NGUYỄN văn an")
    assert found["full_name"]["value"] == "Nguyễn Văn An" and found["full_name"]["raw"] == "NGUYỄN văn an"
    assert found["full_name"]["valid"] and found["full_name"]["page"] == 0
    assert found["full_name"]["bbox"][0] > 0 and 0 < found["full_name"]["confidence"] <= 1


@pytest.mark.parametrize("printed, iso", [("12/08/1990", "1990-08-12"), ("12-08-1990", "1990-08-12"),
                                          ("ngày 12 tháng 8 năm 1990", "1990-08-12"), ("3/1/2001", "2001-01-03")])
def test_dates_become_iso(printed, iso):
    assert normalise("date", printed).value == iso


def test_an_impossible_date_is_kept_but_invalid():
    value = normalise("date", "31/02/1990")
    assert value.value == "1990-02-31" and value.problem == "no such date"


@pytest.mark.parametrize("kind, printed, expected", [
    ("money", "1.500.000.000 đồng", 1_500_000_000),
    ("money", "300.000.000 VNĐ", 300_000_000),
    ("area", "85,5 m²", 85.5),
    ("area", "1.250,75 m2", 1250.75),
    ("area", "60 m²", 60.0),
    ("count", "3 tầng", 3),
    ("number", "125", "125"),
    ("id_number", "001 090 012 345", "001090012345"),
    ("id_number", "O01O9OO12345", "001090012345"),  # OCR's O for 0
    ("phone", "0912.345.678", "0912345678"),
    ("sex", "NỮ", "Nữ"),
    ("sex", "nam", "Nam"),
    ("code", "000.00.22.H26-250305-0001", "000.00.22.H26-250305-0001"),
    ("tax_code", "0101234567-001", "0101234567-001"),
])
def test_values_are_normalised_as_the_spec_says(kind, printed, expected):
    value = normalise(kind, printed)
    assert value.value == expected and value.problem is None


def test_a_value_that_is_not_of_its_kind_is_no_value():
    assert normalise("date", "không rõ") is None
    assert normalise("sex", "khác") is None
    assert normalise("id_number", "chưa có") is None
    assert normalise("id_number", "12345").problem  # digits, but not an ID number: kept, flagged


def test_value_on_the_next_line_and_two_fields_on_one_line():
    found = read("can_cuoc", "Họ và tên / Full name:", "TRẦN THỊ HỒNG NHUNG",
                 "Giới tính / Sex: Nữ   Quốc tịch / Nationality: Việt Nam")
    assert values(found) == {"full_name": "Trần Thị Hồng Nhung", "sex": "Nữ", "nationality": "Việt Nam"}


def test_dotted_leaders_and_item_numbers_are_not_values():
    found = read("don_dang_ky_dat_dai", "3.1. Thửa đất số: ...... 125;   3.2. Tờ bản đồ số: 18;",
                 "3.4. Diện tích: 85,5 m²")
    assert values(found) == {"parcel_number": "125", "map_sheet_number": "18", "area_m2": 85.5}


def test_a_field_not_on_the_page_is_absent_and_an_empty_one_too():
    found = read("to_khai_ho_chieu", "1. Họ, chữ đệm và tên: Lê Văn Bình", "7. Số điện thoại: ..........")
    assert set(found) == {"full_name"}


def test_the_parties_of_a_power_of_attorney_are_told_apart_by_their_sections():
    found = read("giay_uy_quyen", "I. BÊN ỦY QUYỀN (Bên A):", "Họ và tên: Lê Văn Bình", "Số CCCD: 001090012345",
                 "II. BÊN ĐƯỢC ỦY QUYỀN (Bên B):", "Ông/Bà: Phạm Thị Hoa", "Số định danh cá nhân: 001185012345",
                 "III. NỘI DUNG ỦY QUYỀN", "Phạm vi ủy quyền: Nộp hồ sơ và nhận kết quả")
    assert values(found) == {"principal_name": "Lê Văn Bình", "principal_id_number": "001090012345",
                             "agent_name": "Phạm Thị Hoa", "agent_id_number": "001185012345",
                             "scope": "Nộp hồ sơ và nhận kết quả"}


def test_a_birth_certificate_keeps_the_child_apart_from_the_parents():
    found = read("giay_khai_sinh", "Họ, chữ đệm, tên: Vũ Minh An", "Họ, chữ đệm, tên người mẹ: Lê Thị Hoa",
                 "Năm sinh: 1990; Dân tộc: Tày; Quốc tịch: Việt Nam", "Họ và tên cha: Vũ Văn Nam")
    assert values(found) == {"full_name": "Vũ Minh An", "mother_name": "Lê Thị Hoa", "father_name": "Vũ Văn Nam"}


@pytest.mark.parametrize("id_number, sex, born, problem", [
    ("001190012345", "Nam", "12/08/1990", "sex digit"),      # 1: a woman born in the 1900s
    ("001085012345", "Nam", "12/08/1990", "birth year"),     # 85 is not 90
    ("099090012345", "Nam", "12/08/1990", "province"),       # no province 099
    ("001290012345", "Nam", "12/08/1990", "birth year"),     # 2: a man born in the 2000s
])
def test_an_id_number_that_contradicts_the_document_is_flagged(id_number, sex, born, problem):
    found = read("to_khai_ho_chieu", f"Giới tính: {sex}", f"Ngày, tháng, năm sinh: {born}",
                 f"Số định danh cá nhân: {id_number}")
    assert found["id_number"]["valid"] is False and problem in found["id_number"]["problem"]
    assert found["id_number"]["value"] == id_number  # kept as read, for a person to compare


def test_a_consistent_id_number_is_valid():
    found = read("to_khai_ho_chieu", "Giới tính: Nữ", "Sinh ngày: ngày 2 tháng 3 năm 2004",
                 "Số CCCD: 001304012345")
    assert found["id_number"]["valid"] and found["date_of_birth"]["value"] == "2004-03-02"


def test_review_reasons_name_the_field_and_never_its_value():
    fields = read("to_khai_ho_chieu", "Giới tính: Nam", "Số CCCD: 001190012345")
    low = dict(read("to_khai_ho_chieu", "Họ và tên: Lê Văn Bình")["full_name"], confidence=0.3)
    document = Document("to_khai_ho_chieu", 0.5, [0], "classifier", {**fields, "full_name": low})
    reasons = [r["reason"] for r in review_reasons(document, TYPES.thresholds)]
    assert any("uncertain" in r for r in reasons)
    assert any(r.startswith("field id_number is not valid") for r in reasons)
    assert any(r.startswith("field full_name was read with low confidence") for r in reasons)
    assert not any("001190012345" in r or "Bình" in r for r in reasons)
    assert review_reasons(Document("khac", 0.99, [0], "motto"), TYPES.thresholds) == []


def test_receipts_cut_a_stack_into_dossiers_and_a_contradiction_is_flagged():
    receipt = lambda code, page: Document("phieu_tiep_nhan", 1.0, [page], "qr", receipt=True, dossier_code=code)  # noqa: E731
    form = lambda page: Document("to_khai_ho_chieu", 1.0, [page], "title")  # noqa: E731
    a, b = "000.00.22.H26-250305-0001", "000.00.22.H26-250305-0002"
    stack = [receipt(a, 0), form(1), receipt(b, 2), form(3)]
    assert [(d, [x.pages[0] for x in docs], r) for d, docs, r in assign_dossiers(stack, None)] == [
        (a, [0, 1], []), (b, [2, 3], [])]
    # Handed in as a: the receipt agrees; the second receipt still starts dossier b.
    assert [d for d, _, _ in assign_dossiers(stack, a)] == [a, b]
    # Handed in as b, but the first receipt says a: kept under b, flagged, not merged silently into a.
    ((given, docs, reasons),) = assign_dossiers(stack, b)
    assert given == b and len(docs) == 4 and a in reasons[0] and b in reasons[0]
    # No receipt and no dossier given: the caller must say where the pages go.
    assert [d for d, _, _ in assign_dossiers([form(0)], None)] == [None]


def test_the_document_types_file_is_checked(tmp_path: Path):
    from pipeline.doctypes import DocumentTypesError

    bad = tmp_path / "types.yaml"
    source = (Path(__file__).parent.parent / "config" / "document-types.yaml").read_text(encoding="utf-8")
    bad.write_text(source.replace("kind: sex", "kind: gender", 1), encoding="utf-8")
    with pytest.raises(DocumentTypesError, match="to_khai_ho_chieu, field sex: kind must be one of"):
        load_document_types(bad)
    assert TYPES.codes[-1] == "khac" and len(TYPES.types) == 9


def test_a_family_name_that_ocr_misspelt_is_mended_and_the_raw_text_kept():
    lines = [line("Họ và tên: NGUYÊN THỊ TRÂN")]
    found = extract_fields(lines, TYPES.types["to_khai_ho_chieu"], TYPES.thresholds, TYPES.family_names)
    assert found["full_name"]["value"] == "Nguyễn Thị Trân"  # only the family name is known to the list
    assert found["full_name"]["raw"] == "NGUYÊN THỊ TRÂN"
    assert "la" not in TYPES.family_names  # La and Lã fold alike: neither is forced on the other
