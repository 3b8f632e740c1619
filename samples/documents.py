"""Fake dossiers with every document type of shared/spec/document-types.md, and their ground truth.

Each document is a list of pages, each page a list of (style, text) lines that
`samples.generate.render_lines` draws; the truth holds the type and the field
values *as the spec normalises them*. Labels, capitals, date formats, dotted
leaders and values on the next line vary the way real form versions do. The
wordings here are written from the printed forms, independently of
config/document-types.yaml, so an evaluation measures the rules, not a copy.

    python -m samples.documents OUT --dossiers 10 [--seed 7] [--clean]
    python -m samples.documents samples --committed    # rewrite the committed samples
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from samples.generate import LETTER_SENTENCES, MOTTO, Person, degrade, fake_person, render_lines, save_pages

Lines = list[tuple[str, str]]

PLACES = ["Hà Nội", "Nam Định", "Thái Bình", "Hải Phòng", "Nghệ An", "Thanh Hóa", "Bắc Ninh", "Hà Tĩnh"]
HOSPITALS = ["Bệnh viện Phụ sản Hà Nội", "Bệnh viện Bạch Mai", "Trạm y tế xã Hải Anh", "Bệnh viện Việt Đức"]
ORIGINS = ["Xã Hải Anh, Hải Hậu, Nam Định", "Xã Vũ Thư, Thái Bình", "Phường Ngọc Lâm, Long Biên, Hà Nội",
           "Xã Yên Thành, Nghệ An"]
BUSINESS = ["CỬA HÀNG TẠP HÓA HƯƠNG", "QUÁN PHỞ GIA TRUYỀN AN", "TIỆM SỬA XE MINH", "CỬA HÀNG ĐIỆN THOẠI VIỆT"]
LINES_OF_BUSINESS = ["Bán lẻ hàng tạp hóa", "Dịch vụ ăn uống", "Sửa chữa xe máy", "Bán lẻ điện thoại di động"]
ASSETS = ["Xe ô tô con 5 chỗ", "Xe mô tô hai bánh", "Nhà ở riêng lẻ 3 tầng", "Quyền sử dụng đất ở"]
PROCEDURES = ["Cấp hộ chiếu phổ thông", "Đăng ký hộ kinh doanh", "Cấp giấy phép xây dựng", "Đăng ký đất đai lần đầu",
              "Đăng ký khai sinh", "Khai lệ phí trước bạ"]
SCOPES = ["Thay mặt nộp hồ sơ và nhận kết quả", "Nộp hồ sơ cấp hộ chiếu phổ thông", "Ký nhận giấy tờ tại bộ phận một cửa"]
OTHER_TITLES = ["ĐƠN TRÌNH BÀY", "BẢN VẼ MẶT BẰNG NHÀ Ở", "GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", "BIÊN LAI THU TIỀN"]
TYPES = ["to_khai_ho_chieu", "can_cuoc", "giay_khai_sinh", "don_dang_ky_dat_dai", "don_cap_phep_xay_dung",
         "dang_ky_ho_kinh_doanh", "giay_uy_quyen", "to_khai_le_phi_truoc_ba", "khac"]


@dataclass
class Document:
    """One document of a fake dossier: its pages as lines, and what the pipeline should find."""

    doc_type: str
    pages: list[Lines]
    fields: dict[str, object] = field(default_factory=dict)


class Form:
    """Builds one document's lines and records the truth of each field printed."""

    def __init__(self, rng: random.Random, leaders: float) -> None:
        """`leaders`: the share of values typed after dotted leaders, which OCR often garbles with the label."""
        self.rng = rng
        self.leaders = leaders
        self.lines: Lines = []
        self.fields: dict[str, object] = {}
        self.number = 0

    def header(self, title: str, form_code: str = "", addressee: str = "") -> None:
        if form_code:
            self.lines.append(("right", form_code))
        self.lines += [("bold", MOTTO[0]), ("plain", MOTTO[1]), ("gap", "")]
        self.lines += [("title", title), ("gap", "")]
        if addressee:
            self.lines += [("plain", f"Kính gửi: {addressee}"), ("gap", "")]

    def item(self, name: str | None, labels: list[str], printed: str, truth: object, optional: bool = False,
             numbered: bool = True) -> None:
        """A labelled line; an optional one is sometimes left blank (dotted leaders), and then absent."""
        rng = self.rng
        label = rng.choice(labels)
        if rng.random() < 0.15:
            label = label.upper()
        self.number += 1
        prefix = f"{self.number}. " if numbered else ""
        if optional and rng.random() < 0.15:
            self.lines.append(("plain", f"{prefix}{label}: " + "." * 30))
            return
        leaders = " ...... " if rng.random() < self.leaders else " "
        style = "field_below" if rng.random() < 0.1 else "field"
        self.lines.append((style, f"{prefix}{label}:{leaders}{printed}"))
        if name:
            self.fields[name] = truth

    def pair(self, left: tuple[str, str, str, object], right: tuple[str, str, str, object]) -> None:
        """Two short fields on one line, as forms print sex and ethnicity, parcel and sheet."""
        self.number += 1
        (lname, llabel, lprinted, ltruth), (rname, rlabel, rprinted, rtruth) = left, right
        self.lines.append(("plain", f"{self.number}. {llabel}: {lprinted};   {rlabel}: {rprinted}"))
        self.fields[lname], self.fields[rname] = ltruth, rtruth

    def text(self, *lines: str, style: str = "plain") -> None:
        self.lines += [(style, line) for line in lines]

    def footer(self, signer: str) -> None:
        rng = self.rng
        self.lines += [("gap", ""), ("right", f"Hà Nội, ngày {rng.randint(1, 28)} tháng {rng.randint(1, 12)} năm 2025"),
                       ("right", "NGƯỜI KHAI"), ("right", "(Ký, ghi rõ họ tên)"), ("sign", ""), ("right", signer)]


def person_name(rng: random.Random, person: Person) -> str:
    return person.name.upper() if rng.random() < 0.5 else person.name


def printed_date(rng: random.Random, day: int, month: int, year: int) -> str:
    style = rng.random()
    if style < 0.6:
        return f"{day:02d}/{month:02d}/{year}"
    if style < 0.8:
        return f"{day:02d}-{month:02d}-{year}"
    return f"ngày {day} tháng {month} năm {year}"


def iso(day: int, month: int, year: int) -> str:
    return f"{year:04d}-{month:02d}-{day:02d}"


def receipt(rng: random.Random, dossier_id: str, person: Person, leaders: float = 0.2) -> Document:
    form = Form(rng, leaders)
    form.lines.append(("qr", dossier_id))
    form.header(rng.choice(["GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", "PHIẾU TIẾP NHẬN HỒ SƠ"]))
    form.text("Bộ phận tiếp nhận và trả kết quả - Trung tâm Phục vụ hành chính công")
    form.item("dossier_id", ["Mã hồ sơ", "Số hồ sơ"], dossier_id, dossier_id, numbered=False)
    form.item("applicant_name", ["Họ và tên người nộp", "Người nộp hồ sơ"], person.name, person.name)
    procedure = rng.choice(PROCEDURES)
    form.item("procedure_name", ["Thủ tục", "Tên thủ tục"], procedure, procedure)
    got, due = (rng.randint(1, 28), 3, 2025), (rng.randint(1, 28), 4, 2025)
    form.item("received_date", ["Ngày tiếp nhận", "Thời gian tiếp nhận"], printed_date(rng, *got), iso(*got))
    form.item("appointment_date", ["Ngày hẹn trả kết quả", "Hẹn trả kết quả"], printed_date(rng, *due), iso(*due))
    form.footer("Cán bộ tiếp nhận")
    return Document("phieu_tiep_nhan", [form.lines], form.fields)


def to_khai_ho_chieu(rng: random.Random, p: Person, leaders: float = 0.2) -> Document:
    form = Form(rng, leaders)
    form.header("TỜ KHAI ĐỀ NGHỊ CẤP HỘ CHIẾU PHỔ THÔNG", "Mẫu TK01", "Cục Quản lý xuất nhập cảnh")
    form.item("full_name", ["Họ, chữ đệm và tên", "Họ và tên"], person_name(rng, p), p.name)
    form.item("sex", ["Giới tính"], p.sex, p.sex)
    form.item("date_of_birth", ["Ngày, tháng, năm sinh", "Sinh ngày"], printed_date(rng, *p.birth), iso(*p.birth))
    place = rng.choice(PLACES)
    form.item("place_of_birth", ["Nơi sinh"], place, place)
    form.item("id_number", ["Số định danh cá nhân/CCCD", "Số CCCD"], p.id_number, p.id_number)
    form.item("permanent_address", ["Nơi thường trú", "Địa chỉ thường trú"], p.address, p.address)
    form.item("phone", ["Số điện thoại", "Điện thoại"], p.phone, p.phone, optional=True)
    form.item(None, ["Nội dung đề nghị"], "cấp hộ chiếu lần đầu", None)
    second = [("plain", "Tôi xin cam đoan những thông tin trên là đúng sự thật."),
              ("plain", "Xác nhận của Trưởng Công an phường nơi thường trú"), ("gap", ""),
              ("plain", "Ảnh chân dung của người đề nghị cấp hộ chiếu dán tại đây."), ("seal", "")]
    form.footer(p.name)
    pages = [form.lines] + ([second] if rng.random() < 0.5 else [])
    return Document("to_khai_ho_chieu", pages, form.fields)


def can_cuoc(rng: random.Random, p: Person, leaders: float = 0.2) -> Document:
    form = Form(rng, leaders)
    form.lines += [("frame", ""), ("bold", MOTTO[0]), ("plain", "SOCIALIST REPUBLIC OF VIET NAM"),
                   ("plain", MOTTO[1]), ("title", rng.choice(["CĂN CƯỚC CÔNG DÂN", "CĂN CƯỚC"])),
                   ("plain", "Citizen Identity Card")]
    form.item("id_number", ["Số / No."], p.id_number, p.id_number, numbered=False)
    form.item("full_name", ["Họ và tên / Full name"], p.name.upper(), p.name, numbered=False)
    form.item("date_of_birth", ["Ngày sinh / Date of birth"], "{:02d}/{:02d}/{}".format(*p.birth), iso(*p.birth),
              numbered=False)
    form.item("sex", ["Giới tính / Sex"], p.sex, p.sex, numbered=False)
    form.item("nationality", ["Quốc tịch / Nationality"], "Việt Nam", "Việt Nam", numbered=False)
    origin = rng.choice(ORIGINS)
    form.item("place_of_origin", ["Quê quán / Place of origin"], origin, origin, numbered=False)
    form.item("place_of_residence", ["Nơi thường trú / Place of residence"], p.address, p.address, numbered=False)
    # Cards expire at 25, 40 and 60; one issued after 60 has no expiry date at all.
    age = next((a for a in (25, 40, 60) if p.birth[2] + a > 2025), None)
    if age:
        expiry = (p.birth[0], p.birth[1], p.birth[2] + age)
        form.item("expiry_date", ["Có giá trị đến / Date of expiry"], "{:02d}/{:02d}/{}".format(*expiry),
                  iso(*expiry), numbered=False)
    else:
        form.item(None, ["Có giá trị đến / Date of expiry"], "Không thời hạn", None, numbered=False)
    back = [("frame", ""), ("plain", "Đặc điểm nhân dạng / Personal identification: Nốt ruồi cách 2 cm dưới mắt trái"),
            ("plain", f"Ngày, tháng, năm / Date, month, year: 10/0{rng.randint(1, 9)}/2021"),
            ("plain", "CỤC TRƯỞNG CỤC CẢNH SÁT QUẢN LÝ HÀNH CHÍNH VỀ TRẬT TỰ XÃ HỘI"), ("sign", ""),
            ("plain", f"IDVNM{p.id_number[3:]}{p.id_number}<<{rng.randint(0, 9)}")]
    if rng.random() < 0.5:  # both sides on one photocopy page
        return Document("can_cuoc", [form.lines + [("gap", "")] + back], form.fields)
    return Document("can_cuoc", [form.lines, back], form.fields)


def giay_khai_sinh(rng: random.Random, p: Person, leaders: float = 0.2) -> Document:
    form = Form(rng, leaders)
    form.header(rng.choice(["GIẤY KHAI SINH", "GIẤY KHAI SINH (BẢN SAO)"]))
    form.item("full_name", ["Họ, chữ đệm, tên", "Họ và tên"], person_name(rng, p), p.name, numbered=False)
    form.item("date_of_birth", ["Ngày, tháng, năm sinh", "Sinh ngày"], printed_date(rng, *p.birth), iso(*p.birth),
              numbered=False)
    form.pair(("sex", "Giới tính", p.sex, p.sex), ("ethnicity", "Dân tộc", "Kinh", "Kinh"))
    form.item("nationality", ["Quốc tịch"], "Việt Nam", "Việt Nam", numbered=False)
    place = rng.choice(HOSPITALS)
    form.item("place_of_birth", ["Nơi sinh"], place, place, numbered=False)
    form.item("id_number", ["Số định danh cá nhân"], p.id_number, p.id_number, numbered=False)
    mother, father = fake_person(rng, sex="Nữ"), fake_person(rng, sex="Nam")
    form.item("mother_name", ["Họ, chữ đệm, tên người mẹ", "Họ và tên mẹ"], person_name(rng, mother), mother.name,
              numbered=False)
    form.text(f"Năm sinh: {mother.birth[2]};   Dân tộc: Kinh;   Quốc tịch: Việt Nam")
    form.item("father_name", ["Họ, chữ đệm, tên người cha", "Họ và tên cha"], person_name(rng, father), father.name,
              numbered=False, optional=True)
    form.text(f"Năm sinh: {father.birth[2]};   Dân tộc: Kinh;   Quốc tịch: Việt Nam")
    form.footer("Chủ tịch Ủy ban nhân dân")
    return Document("giay_khai_sinh", [form.lines], form.fields)


def don_dang_ky_dat_dai(rng: random.Random, p: Person, leaders: float = 0.2) -> Document:
    form = Form(rng, leaders)
    form.header(rng.choice(["ĐƠN ĐĂNG KÝ ĐẤT ĐAI, TÀI SẢN GẮN LIỀN VỚI ĐẤT",
                            "ĐƠN ĐĂNG KÝ BIẾN ĐỘNG ĐẤT ĐAI, TÀI SẢN GẮN LIỀN VỚI ĐẤT"]),
                "Mẫu số 04a/ĐK", "Văn phòng đăng ký đất đai Hà Nội")
    form.text("I. PHẦN KÊ KHAI CỦA NGƯỜI ĐĂNG KÝ", style="bold")
    form.item("full_name", ["Tên người sử dụng đất", "Tên (viết chữ in hoa)"], p.name.upper(), p.name)
    form.item("id_number", ["Số định danh cá nhân", "Số CCCD"], p.id_number, p.id_number)
    form.item(None, ["Địa chỉ thường trú"], p.address, None)
    parcel, sheet = str(rng.randint(1, 400)), str(rng.randint(1, 60))
    form.pair(("parcel_number", "Thửa đất số", parcel, parcel), ("map_sheet_number", "Tờ bản đồ số", sheet, sheet))
    land = f"{rng.choice(['Phường Láng Hạ', 'Xã Đông Anh', 'Phường Kim Mã'])}, Hà Nội"
    form.item("land_address", ["Địa chỉ tại", "Địa chỉ thửa đất"], land, land)
    area = rng.choice([45.5, 60.0, 85.5, 120.25, 1250.0])
    printed = f"{area:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".").rstrip("0").rstrip(",")
    form.item("area_m2", ["Diện tích"], f"{printed} m²", area)
    form.item(None, ["Mục đích sử dụng"], "Đất ở tại đô thị", None)
    form.footer(p.name)
    second = [("bold", "II. XÁC NHẬN CỦA ỦY BAN NHÂN DÂN CẤP XÃ"),
              ("plain", "Nội dung kê khai so với hiện trạng: đúng"), ("plain", "Nguồn gốc sử dụng đất: nhận chuyển nhượng"),
              ("seal", ""), ("right", "TM. ỦY BAN NHÂN DÂN")]
    return Document("don_dang_ky_dat_dai", [form.lines, second], form.fields)


def don_cap_phep_xay_dung(rng: random.Random, p: Person, leaders: float = 0.2) -> Document:
    form = Form(rng, leaders)
    form.header("ĐƠN ĐỀ NGHỊ CẤP GIẤY PHÉP XÂY DỰNG", "Mẫu số 01", "Ủy ban nhân dân quận")
    form.text("1. Thông tin về chủ đầu tư:")
    form.number = 1
    form.item("investor_name", ["Tên chủ đầu tư", "Chủ đầu tư"], person_name(rng, p), p.name)
    form.item("id_number", ["Số CCCD", "Số định danh cá nhân"], p.id_number, p.id_number)
    form.item("phone", ["Số điện thoại", "Điện thoại"], p.phone, p.phone, optional=True)
    place = f"Số {rng.randint(1, 99)} {rng.choice(['Ngõ 12 Láng Hạ', 'Phố Kim Mã', 'Đường Láng'])}, Hà Nội"
    form.item("construction_address", ["Địa điểm xây dựng", "Vị trí xây dựng"], place, place)
    parcel, sheet = str(rng.randint(1, 400)), str(rng.randint(1, 60))
    form.pair(("parcel_number", "Lô đất số", parcel, parcel), ("map_sheet_number", "Tờ bản đồ số", sheet, sheet))
    area = rng.choice([48.5, 60.0, 72.3, 95.0])
    form.item("building_area_m2", ["Diện tích xây dựng", "Diện tích xây dựng tầng 1"],
              f"{area:.1f}".replace(".", ",").replace(",0", "") + " m²", area)
    floors = rng.randint(1, 6)
    form.item("floors", ["Số tầng", "Tổng số tầng"], f"{floors} tầng", floors)
    form.item(None, ["Tổng diện tích sàn"], f"{int(area * floors)} m²", None)
    form.footer(p.name)
    second = [("plain", "Tôi xin cam kết làm theo đúng giấy phép được cấp, nếu sai tôi xin hoàn toàn chịu trách"),
              ("plain", "nhiệm và bị xử lý theo quy định của pháp luật."), ("gap", ""),
              ("plain", "Hồ sơ kèm theo: bản vẽ thiết kế, giấy chứng nhận quyền sử dụng đất.")]
    pages = [form.lines] + ([second] if rng.random() < 0.5 else [])
    return Document("don_cap_phep_xay_dung", pages, form.fields)


def dang_ky_ho_kinh_doanh(rng: random.Random, p: Person, leaders: float = 0.2) -> Document:
    form = Form(rng, leaders)
    form.header("GIẤY ĐỀ NGHỊ ĐĂNG KÝ HỘ KINH DOANH", "Phụ lục III-1", "Phòng Tài chính - Kế hoạch")
    name = rng.choice(BUSINESS)
    form.item("business_name", ["Tên hộ kinh doanh"], name, name)
    where = f"Số {rng.randint(1, 200)} {rng.choice(['Phố Huế', 'Kim Mã', 'Đường Láng'])}, Hà Nội"
    form.item("business_address", ["Địa chỉ trụ sở hộ kinh doanh", "Địa chỉ trụ sở"], where, where)
    trade = rng.choice(LINES_OF_BUSINESS)
    form.item("business_lines", ["Ngành, nghề kinh doanh"], trade, trade)
    capital = rng.choice([50, 100, 300, 1500]) * 1_000_000
    form.item("capital_vnd", ["Vốn kinh doanh", "Tổng số vốn"], f"{capital:,}".replace(",", ".") + " đồng", capital)
    form.text("Thông tin về chủ hộ kinh doanh:", style="bold")
    form.item("owner_name", ["Họ, chữ đệm và tên", "Họ và tên chủ hộ kinh doanh"], person_name(rng, p), p.name)
    form.item("id_number", ["Số định danh cá nhân", "Số CCCD"], p.id_number, p.id_number)
    form.item("phone", ["Số điện thoại", "Điện thoại"], p.phone, p.phone, optional=True)
    form.footer(p.name)
    return Document("dang_ky_ho_kinh_doanh", [form.lines], form.fields)


def giay_uy_quyen(rng: random.Random, p: Person, leaders: float = 0.2) -> Document:
    form = Form(rng, leaders)
    form.header(rng.choice(["GIẤY ỦY QUYỀN", "HỢP ĐỒNG ỦY QUYỀN"]))
    agent = fake_person(rng)
    form.text("I. BÊN ỦY QUYỀN (Bên A):", style="bold")
    form.item("principal_name", ["Họ và tên", "Ông/Bà"], person_name(rng, p), p.name, numbered=False)
    form.item("principal_id_number", ["Số CCCD", "Số định danh cá nhân"], p.id_number, p.id_number, numbered=False)
    form.item(None, ["Địa chỉ"], p.address, None, numbered=False)
    form.text("II. BÊN ĐƯỢC ỦY QUYỀN (Bên B):", style="bold")
    form.item("agent_name", ["Họ và tên", "Ông/Bà"], person_name(rng, agent), agent.name, numbered=False)
    form.item("agent_id_number", ["Số CCCD", "Số định danh cá nhân"], agent.id_number, agent.id_number,
              numbered=False)
    form.item(None, ["Địa chỉ"], agent.address, None, numbered=False)
    form.text("III. NỘI DUNG ỦY QUYỀN", style="bold")
    scope = rng.choice(SCOPES)
    form.item("scope", ["Phạm vi ủy quyền"], scope, scope, numbered=False)
    form.text("Thời hạn ủy quyền: 06 tháng kể từ ngày ký.")
    form.footer(p.name)
    return Document("giay_uy_quyen", [form.lines], form.fields)


def to_khai_le_phi_truoc_ba(rng: random.Random, p: Person, leaders: float = 0.2) -> Document:
    form = Form(rng, leaders)
    form.header("TỜ KHAI LỆ PHÍ TRƯỚC BẠ", "Mẫu số 02/LPTB", "Chi cục Thuế khu vực")
    form.item("taxpayer_name", ["Tên người nộp thuế"], person_name(rng, p), p.name)
    tax = f"{rng.randint(10**9, 10**10 - 1)}"
    form.item("tax_code", ["Mã số thuế"], tax, tax)
    form.item("id_number", ["Số CCCD", "Số định danh cá nhân"], p.id_number, p.id_number)
    asset = rng.choice(ASSETS)
    form.item("asset_description", ["Tên tài sản", "Loại tài sản"], asset, asset)
    value = rng.choice([35, 450, 820, 1500, 3200]) * 1_000_000
    form.item("value_vnd", ["Giá trị tài sản", "Trị giá tài sản"], f"{value:,}".replace(",", ".") + " đồng", value)
    form.footer(p.name)
    return Document("to_khai_le_phi_truoc_ba", [form.lines], form.fields)


def khac(rng: random.Random, p: Person, leaders: float = 0.2) -> Document:
    """Something of no configured type: a letter, a drawing, a certificate of another office."""
    form = Form(rng, leaders)
    title = rng.choice(OTHER_TITLES)
    form.header(title)
    if title.startswith("BẢN VẼ"):
        form.text("Tỷ lệ 1:100", "Mặt bằng tầng 1", style="plain")
        form.lines.append(("drawing", ""))
    else:
        form.text(f"Tôi là {p.name}, cư trú tại địa phương, xin trình bày sự việc như sau:",
                  *(rng.choice(LETTER_SENTENCES) for _ in range(rng.randint(2, 8))))
    form.footer(p.name)
    return Document("khac", [form.lines], {})


MAKERS = {"to_khai_ho_chieu": to_khai_ho_chieu, "can_cuoc": can_cuoc, "giay_khai_sinh": giay_khai_sinh,
          "don_dang_ky_dat_dai": don_dang_ky_dat_dai, "don_cap_phep_xay_dung": don_cap_phep_xay_dung,
          "dang_ky_ho_kinh_doanh": dang_ky_ho_kinh_doanh, "giay_uy_quyen": giay_uy_quyen,
          "to_khai_le_phi_truoc_ba": to_khai_le_phi_truoc_ba, "khac": khac}


def make_document(rng: random.Random, doc_type: str, person: Person | None = None, leaders: float = 0.2) -> Document:
    return MAKERS[doc_type](rng, person or fake_person(rng), leaders)


def make_dossier(rng: random.Random, dossier_id: str, count: int) -> list[Document]:
    """A receipt and `count` documents of the same applicant, as handed in at the counter."""
    person = fake_person(rng)
    return [receipt(rng, dossier_id, person)] + [make_document(rng, rng.choice(TYPES), person) for _ in range(count)]


def dossier_code(rng: random.Random) -> str:
    return f"000.00.22.H26-25{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}-{rng.randint(1, 9999):04d}"


def write_stack(out: Path, name: str, documents: list[Document], rng: random.Random, *, degraded: bool = True,
                blank_after: float = 0.0, dpi: int = 300, bilevel: bool = False) -> dict:
    """Render the documents as one scanned stack (a PDF), with blank backs now and then; returns its truth.

    `bilevel`: black and white, as a copier's document mode sends (and a tenth of the bytes).
    """
    images, pages, truth_docs = [], [], []
    for document in documents:
        first = len(pages)
        for lines in document.pages:
            dpi = rng.choice([200, 240, 300]) if degraded else dpi
            image, text = render_lines(rng, lines, dpi, rng.uniform(-3, 3) if degraded else 0.0,
                                       noise=rng.uniform(3, 8) if degraded else 3.0)
            image = degrade(rng, image, dpi)[0] if degraded else image
            images.append(image)
            pages.append({"kind": "page", "text": text})
            if rng.random() < blank_after:
                blank, _ = render_lines(rng, [], dpi, 0.0, noise=4.0)
                images.append(blank)
                pages.append({"kind": "blank", "text": ""})
        truth_docs.append({"doc_type": document.doc_type, "first_page": first,
                           "pages": [i for i in range(first, len(pages)) if pages[i]["kind"] == "page"],
                           "fields": document.fields})
    path = out / name
    save_pages([_bilevel(image) for image in images] if bilevel else images, path, dpi)
    return {"file": name, "pages": pages, "documents": truth_docs}


# The committed samples: a dossier per folder (files of each format, and a note that
# is not a scan, to show a refusal), and a counter's morning stack of two dossiers.
SAMPLE_DOSSIERS = {
    "000.00.22.H26-251120-0001": [("to-khai-ho-chieu.pdf", "to_khai_ho_chieu", "L"), ("cccd.jpg", "can_cuoc", "L"),
                                  ("giay-uy-quyen.tif", "giay_uy_quyen", "1")],
    "000.00.22.H26-251120-0002": [("don-dang-ky-dat-dai.png", "don_dang_ky_dat_dai", "1"), ("ban-ve.tif", "khac", "1")],
}
SAMPLE_STACK = [("000.00.22.H26-251121-0007", ["dang_ky_ho_kinh_doanh"]),
                ("000.00.22.H26-251121-0008", ["to_khai_le_phi_truoc_ba", "don_cap_phep_xay_dung"])]


def _bilevel(image):
    return image.point(lambda v: 255 if v > 150 else 0).convert("1")


def write_samples(root: Path, seed: int = 2025) -> None:
    """Write samples/dossiers/ and samples/stacks/ as committed: deterministic, well under 2 MB in all."""
    rng = random.Random(seed)
    for dossier_id, files in SAMPLE_DOSSIERS.items():
        folder = root / "dossiers" / dossier_id
        folder.mkdir(parents=True, exist_ok=True)
        person, truth = fake_person(rng), {}
        for name, doc_type, mode in files:
            document = make_document(rng, doc_type, person)
            while doc_type == "khac" and not document.pages[0][3][1].startswith("BẢN VẼ"):
                document = make_document(rng, doc_type, person)  # the drawing of the house
            if name.endswith(".pdf"):
                pages = document.pages
            elif doc_type == "can_cuoc":  # a photocopy of both sides on one sheet
                pages = [[line for page in document.pages for line in page]]
            else:  # a one-page file: the first page
                pages = document.pages[:1]
            rendered = [render_lines(rng, lines, 300, rng.uniform(-2.0, 2.0), noise=2.0) for lines in pages]
            images = [image if mode == "L" else _bilevel(image) for image, _ in rendered]
            if name.endswith(".tif"):
                images[0].save(folder / name, "TIFF", dpi=(300, 300), save_all=True, append_images=images[1:],
                               compression="group4")
            else:
                save_pages(images, folder / name, 300)
            truth[name] = {"doc_type": doc_type, "fields": document.fields, "pages": [t for _, t in rendered]}
        (folder / "ghi-chu.txt").write_text("Hồ sơ nộp trực tiếp tại quầy số 3.\n", encoding="utf-8")
        (root / "dossiers" / f"{dossier_id}.truth.json").write_text(
            json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    documents = []
    for dossier_id, types in SAMPLE_STACK:
        person = fake_person(rng)
        documents += [receipt(rng, dossier_id, person)] + [make_document(rng, t, person) for t in types]
    (root / "stacks").mkdir(parents=True, exist_ok=True)
    truth = write_stack(root / "stacks", "quay-3-sang.pdf", documents, rng, degraded=False, blank_after=0.4,
                        dpi=200, bilevel=True)
    (root / "stacks" / "quay-3-sang.truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1),
                                                             encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--dossiers", type=int, default=5, help="stacks to write, one dossier each")
    parser.add_argument("--documents", type=int, default=3, help="documents after the receipt")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--clean", action="store_true", help="no skew, noise or blur")
    parser.add_argument("--blank", type=float, default=0.1, help="share of pages followed by a blank back")
    parser.add_argument("--committed", action="store_true", help="write the committed samples under OUT")
    args = parser.parse_args()
    if args.committed:
        write_samples(args.out)
        return
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    truth = {}
    for n in range(args.dossiers):
        code = dossier_code(rng)
        documents = make_dossier(rng, code, args.documents)
        truth[code] = write_stack(args.out, f"stack-{n:03d}.pdf", documents, rng, degraded=not args.clean,
                                  blank_after=args.blank)
    (args.out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
