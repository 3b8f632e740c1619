"""Render Vietnamese administrative pages as a scanner would deliver them.

Used for the committed samples, the tests and the benchmarks, so that nobody
needs real citizens' papers. Every character is checked against the font's
character map first: a font without Vietnamese glyphs (Debian's
fonts-liberation 1.x) would silently render boxes and poison every OCR figure.

    python samples/generate.py OUT_DIR --pages 20 [--seed 1]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pikepdf
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/liberation2"),
    Path("/usr/share/fonts/truetype/dejavu"),
)
SERIF = ("LiberationSerif-Regular.ttf", "DejaVuSerif.ttf")
SERIF_BOLD = ("LiberationSerif-Bold.ttf", "DejaVuSerif-Bold.ttf")

MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")

FAMILY_NAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ"]
MIDDLE_NAMES = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thu", "Quốc", "Ngọc"]
GIVEN_NAMES = ["An", "Bình", "Cường", "Dũng", "Hằng", "Hương", "Nhung", "Phúc", "Thủy", "Việt"]
STREETS = ["Phố Huế", "Đường Láng", "Phố Tràng Tiền", "Đường Giải Phóng", "Phố Kim Mã"]
WARDS = ["Phường Hàng Bài", "Phường Láng Hạ", "Phường Kim Mã", "Phường Bạch Mai"]
DISTRICTS = ["Quận Hoàn Kiếm", "Quận Đống Đa", "Quận Ba Đình", "Quận Hai Bà Trưng"]

# A few forms whose layout matches the real ones closely enough for OCR work.
FORMS = [
    ("TỜ KHAI ĐỀ NGHỊ CẤP HỘ CHIẾU PHỔ THÔNG", "Mẫu TK01"),
    ("GIẤY ĐỀ NGHỊ ĐĂNG KÝ HỘ KINH DOANH", "Phụ lục III-1"),
    ("ĐƠN ĐĂNG KÝ BIẾN ĐỘNG ĐẤT ĐAI, TÀI SẢN GẮN LIỀN VỚI ĐẤT", "Mẫu số 09/ĐK"),
    ("GIẤY ỦY QUYỀN", ""),
]


@dataclass(frozen=True)
class Person:
    """A fake citizen; realistic enough for the fields the forms print."""

    name: str
    sex: str
    birth: tuple[int, int, int]
    id_number: str
    address: str
    phone: str


def fake_person(rng: random.Random, sex: str | None = None) -> Person:
    sex = sex or rng.choice(["Nam", "Nữ"])
    middle = "Thị" if sex == "Nữ" else rng.choice([m for m in MIDDLE_NAMES if m != "Thị"])
    name = f"{rng.choice(FAMILY_NAMES)} {middle} {rng.choice(GIVEN_NAMES)}"
    year = rng.randint(1950, 2005)
    birth = (rng.randint(1, 28), rng.randint(1, 12), year)
    # CCCD: province 001 (Hà Nội), century/sex digit, birth year, 6 random digits.
    century_sex = (0 if year < 2000 else 2) + (1 if sex == "Nữ" else 0)
    id_number = f"001{century_sex}{year % 100:02d}{rng.randint(0, 999999):06d}"
    address = (
        f"Số {rng.randint(1, 200)} {rng.choice(STREETS)}, "
        f"{rng.choice(WARDS)}, {rng.choice(DISTRICTS)}, Hà Nội"
    )
    phone = f"09{rng.randint(10000000, 99999999)}"
    return Person(name, sex, birth, id_number, address, phone)


def font_path(names: tuple[str, ...]) -> Path:
    for name in names:
        for folder in FONT_DIRS:
            if (folder / name).exists():
                return folder / name
    raise FileNotFoundError(
        f"none of {names} found: install fonts-liberation2 or fonts-dejavu-core"
    )


def assert_glyphs(path: Path, text: str) -> None:
    """Fail loudly if the font lacks a glyph for any character of the page."""
    with TTFont(path, lazy=True) as font:
        cmap = font.getBestCmap()
    missing = sorted({c for c in unicodedata.normalize("NFC", text) if not c.isspace() and ord(c) not in cmap})
    if missing:
        raise ValueError(f"{path.name} has no glyph for {''.join(missing)!r}")


def page_lines(rng: random.Random, person: Person, title: str, form: str) -> list[tuple[str, str]]:
    """The page as (style, text) lines, in reading order."""
    day, month, year = person.birth
    fields = [
        "Họ, chữ đệm và tên: " + person.name.upper(),
        f"Giới tính: {person.sex}",
        f"Ngày, tháng, năm sinh: {day:02d}/{month:02d}/{year}",
        f"Số định danh cá nhân/CCCD: {person.id_number}",
        "Nơi thường trú: " + person.address,
        f"Số điện thoại: {person.phone}",
        "Nội dung đề nghị: cấp mới theo quy định hiện hành",
    ]
    lines = [("bold", MOTTO[0]), ("plain", MOTTO[1]), ("gap", "")]
    if form:
        lines.append(("plain", form))
    lines += [("title", title), ("gap", "")]
    lines += [("plain", f"{i}. {text}") for i, text in enumerate(fields, 1)]
    lines += [("gap", ""), ("plain", f"Hà Nội, ngày {rng.randint(1, 28)} tháng {rng.randint(1, 12)} năm 2025")]
    lines += [("plain", "Người khai ký, ghi rõ họ tên"), ("gap", ""), ("plain", person.name)]
    return lines


def render_page(
    rng: random.Random, dpi: int = 300, skew_deg: float = 0.0, noise: float = 6.0, max_lines: int | None = None
) -> tuple[Image.Image, str]:
    """One A4 form page in greyscale, lightly degraded like a counter scan."""
    person = fake_person(rng)
    title, form = rng.choice(FORMS)
    lines = page_lines(rng, person, title, form)
    if max_lines is not None:  # a sparse page: a cover sheet, a short letter
        printed = [i for i, (style, _) in enumerate(lines) if style != "gap"]
        lines = lines[: printed[min(max_lines, len(printed)) - 1] + 1]
    return render_lines(rng, lines, dpi, skew_deg, noise)


LETTER_SENTENCES = [
    "Gia đình tôi đã sinh sống ổn định tại địa chỉ này từ năm 2005 đến nay.",
    "Nay tôi làm đơn này kính đề nghị cơ quan xem xét, giải quyết cho gia đình tôi.",
    "Tôi xin gửi kèm theo các giấy tờ có liên quan để cơ quan tiện đối chiếu.",
    "Trong quá trình sử dụng, gia đình tôi không có tranh chấp với các hộ liền kề.",
    "Tôi xin cam đoan những nội dung trình bày trên là đúng sự thật.",
    "Nếu sai, tôi xin hoàn toàn chịu trách nhiệm trước pháp luật.",
    "Rất mong nhận được sự quan tâm giải quyết của quý cơ quan.",
    "Tôi xin chân thành cảm ơn.",
]


def render_letter(rng: random.Random, dpi: int = 300, skew_deg: float = 0.0, first: bool = True,
                  noise: float = 6.0) -> tuple[Image.Image, str]:
    """A page of a citizen's letter: no form fields, so of type `khac`; pages after the first have no header."""
    body = [("plain", rng.choice(LETTER_SENTENCES)) for _ in range(rng.randint(6, 10))]
    if first:
        lines = [("bold", MOTTO[0]), ("plain", MOTTO[1]), ("gap", ""), ("title", "ĐƠN TRÌNH BÀY"), ("gap", ""),
                 ("plain", "Kính gửi: Ủy ban nhân dân phường"), ("gap", "")] + body
    else:
        lines = body + [("gap", ""), ("plain", "Người viết đơn")]
    return render_lines(rng, lines, dpi, skew_deg, noise)


def render_receipt(
    rng: random.Random, dossier_id: str, dpi: int = 300, skew_deg: float = 0.0, noise: float = 6.0
) -> tuple[Image.Image, str]:
    """The counter's receipt (phiếu tiếp nhận), with the dossier code as text and as a QR code."""
    person = fake_person(rng)
    lines = [("bold", MOTTO[0]), ("plain", MOTTO[1]), ("gap", ""),
             ("title", "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"), ("plain", f"Mã hồ sơ: {dossier_id}"), ("gap", ""),
             ("plain", "1. Họ và tên người nộp: " + person.name), ("plain", "2. Địa chỉ: " + person.address),
             ("plain", "3. Thủ tục: Cấp hộ chiếu phổ thông"),
             ("plain", f"4. Ngày tiếp nhận: {rng.randint(1, 28):02d}/03/2025"),
             ("plain", f"5. Ngày hẹn trả kết quả: {rng.randint(1, 28):02d}/04/2025")]
    return render_lines(rng, lines, dpi, skew_deg, noise, qr_text=dossier_id)


def render_lines(rng: random.Random, lines: list[tuple[str, str]], dpi: int, skew_deg: float, noise: float,
                 qr_text: str | None = None) -> tuple[Image.Image, str]:
    """Draw (style, text) lines on an A4 page, then skew it and add noise; returns the page and its text.

    Styles: plain, bold, title (centred, bold), right (aligned right), gap,
    field ("label: value"; the value moves to the next line when it does not
    fit), field_below (always on the next line), qr (the text as a QR code at
    the top right), frame (a card's border around what follows), sign (a
    signature), seal (a round stamp), drawing (a floor plan).
    """
    width, height = int(8.27 * dpi), int(11.69 * dpi)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    px = dpi / 72
    regular = font_path(SERIF)
    bold = font_path(SERIF_BOLD)
    text = "\n".join(t for style, t in lines if style not in GRAPHICS)
    assert_glyphs(regular, text)
    assert_glyphs(bold, text)
    fonts = {
        "plain": ImageFont.truetype(str(regular), int(13 * px)),
        "bold": ImageFont.truetype(str(bold), int(13 * px)),
        "title": ImageFont.truetype(str(bold), int(15 * px)),
    }
    margin = int(0.9 * dpi)
    y = int(0.8 * dpi)
    qr_text = qr_text or next((t for style, t in lines if style == "qr"), None)
    if qr_text:
        y = int(1.9 * dpi)  # below the code
        code = cv2.QRCodeEncoder.create().encode(qr_text)
        module = max(4, dpi // 40)
        code = Image.fromarray(cv2.resize(code, None, fx=module, fy=module, interpolation=cv2.INTER_NEAREST))
        page.paste(code, (width - margin - code.width, int(0.5 * dpi)))
    frame_top = None
    printed = []
    for style, line in lines:
        if style in ("gap", "qr"):
            y += int(12 * px) if style == "gap" else 0
            continue
        if style == "frame":
            if frame_top is not None:
                draw.rounded_rectangle((margin - 20, frame_top, width - margin + 20, y), 30, outline=60, width=4)
            frame_top = y - int(6 * px)
            y += int(4 * px)
            continue
        if style in ("sign", "seal", "drawing"):
            y = _graphic(draw, rng, style, width, margin, y, dpi)
            continue
        font = fonts.get(style, fonts["plain"])
        pieces = [line]
        if style.startswith("field") and ": " in line:
            label, value = line.split(": ", 1)
            too_wide = draw.textlength(line, font=font) > width - 2 * margin
            if style == "field_below" or too_wide:
                pieces = [label + ":", "      " + value.lstrip(".")]
        for piece in pieces:
            box = draw.textbbox((0, 0), piece, font=font)
            if style in ("bold", "title") or piece in MOTTO[1:]:
                x = (width - (box[2] - box[0])) // 2
            elif style == "right":
                x = width - margin - (box[2] - box[0])
            else:
                x = margin
            draw.text((x, y), piece, font=font, fill=20)
            printed.append(piece)
            y += int(max(box[3] - box[1], 13 * px * 0.75) + 10 * px)
    if frame_top is not None:
        draw.rounded_rectangle((margin - 20, frame_top, width - margin + 20, y), 30, outline=60, width=4)
    if skew_deg:
        page = page.rotate(skew_deg, resample=Image.BICUBIC, expand=False, fillcolor=255)
    noise = np.random.default_rng(rng.randint(0, 2**32 - 1)).normal(0, noise, (height, width))
    pixels = np.clip(np.asarray(page, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    page = Image.fromarray(pixels, "L")
    page.info["dpi"] = (dpi, dpi)
    return page, unicodedata.normalize("NFC", "\n".join(printed))


GRAPHICS = ("gap", "qr", "frame", "sign", "seal", "drawing")


def _graphic(draw: ImageDraw.ImageDraw, rng: random.Random, style: str, width: int, margin: int, y: int,
             dpi: int) -> int:
    """Draw a signature, a stamp or a floor plan below y; returns the y after it."""
    if style == "sign":
        x0 = width - margin - int(2.2 * dpi)
        points = [(x0 + i * dpi // 12, y + int(rng.uniform(0.05, 0.35) * dpi)) for i in range(16)]
        draw.line(points, fill=40, width=max(2, dpi // 100), joint="curve")
        return y + int(0.5 * dpi)
    if style == "seal":
        cx, cy, r = width - margin - int(1.6 * dpi), y + int(0.7 * dpi), int(0.6 * dpi)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=110, width=max(3, dpi // 60))
        draw.ellipse((cx - r * 0.7, cy - r * 0.7, cx + r * 0.7, cy + r * 0.7), outline=110, width=max(2, dpi // 100))
        draw.regular_polygon((cx, cy, r * 0.3), 5, fill=110)
        return y + int(1.5 * dpi)
    top, left = y + dpi // 5, margin + dpi // 2  # drawing: rooms of a floor plan with dimension lines
    right, bottom = width - margin - dpi // 2, top + int(3.5 * dpi)
    draw.rectangle((left, top, right, bottom), outline=30, width=6)
    for _ in range(3):
        x = rng.randint(left + dpi // 2, right - dpi // 2)
        draw.line((x, top, x, bottom), fill=30, width=4)
    draw.line((left, bottom + dpi // 6, right, bottom + dpi // 6), fill=30, width=2)
    return bottom + dpi // 2


def degrade(rng: random.Random, image: Image.Image, dpi: int) -> tuple[Image.Image, dict]:
    """Spoil a clean page as a poor scan does: sometimes turned, a shadowed edge, soft, bi-level or re-compressed.

    Returns the page and how it was spoilt (rotation counter-clockwise, shadow, blur, colour mode).
    """
    rotation = rng.choice([90, 180, 270]) if rng.random() < 0.10 else 0
    if rotation:
        image = image.rotate(rotation, expand=True, fillcolor=255)
    shadow = rng.random() < 0.2
    if shadow:  # a book spine or an open lid: one edge darkened, a dark band along it
        pixels = np.asarray(image.convert("L"), dtype=np.float32)
        ramp = np.linspace(rng.uniform(0.5, 0.7), 1.0, pixels.shape[1] // 3)
        pixels[:, : len(ramp)] *= ramp
        pixels[:, : rng.randint(20, 80)] = rng.randint(20, 60)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    blur = rng.choice([0, 0, 0.6, 1.0])
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur * dpi / 300))
    mode = rng.choice(["L", "L", "1"])
    if mode == "1":
        image = image.point(lambda v: 255 if v > 140 else 0).convert("1")
    else:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=rng.randint(60, 90))
        image = Image.open(buffer)
        image.load()
    image.info["dpi"] = (dpi, dpi)
    return image, {"rotation": rotation, "mode": mode, "blur": blur, "shadow": shadow}


def degraded_page(rng: random.Random) -> tuple[Image.Image, str, dict]:
    """A form page as a poor counter or archive scan; returns the image, its true text and how it was spoilt."""
    dpi = rng.choice([200, 240, 300])
    skew = rng.uniform(-5.0, 5.0)
    image, truth = render_page(rng, dpi, skew, noise=rng.uniform(3, 10))
    image, how = degrade(rng, image, dpi)
    return image, truth, {"dpi": dpi, "skew": round(skew, 2), **how}


def save_pages(pages: list[Image.Image], path: Path, dpi: int, target: io.BytesIO | None = None) -> None:
    """Write pages in the format the suffix names, as a scanner or copier would (into `target` if given)."""
    suffix = path.suffix.lower()
    pages = [page.copy() for page in pages]  # Pillow keeps save options on the image objects
    if suffix == ".pdf" and len({(p.mode, p.info.get("dpi")) for p in pages}) > 1:
        # Pages of different modes or resolutions (a mixed stack): one PDF each, then joined,
        # so that every page keeps its own size on paper.
        with pikepdf.new() as joined:
            for page in pages:
                single = io.BytesIO()
                save_pages([page], Path("page.pdf"), round(page.info.get("dpi", (dpi, dpi))[0]), single)
                joined.pages.extend(pikepdf.open(io.BytesIO(single.getvalue())).pages)
            joined.save(path)
    elif suffix == ".pdf":
        options = {} if pages[0].mode == "1" else {"quality": 80}
        pages[0].save(target or path, "PDF", resolution=dpi, save_all=True, append_images=pages[1:], **options)
    elif suffix in (".tif", ".tiff"):
        pages[0].save(path, "TIFF", dpi=(dpi, dpi), save_all=True, append_images=pages[1:], compression="tiff_deflate")
    elif suffix in (".jpg", ".jpeg"):
        pages[0].save(path, "JPEG", dpi=(dpi, dpi), quality=80)
    else:
        pages[0].save(path, "PNG", dpi=(dpi, dpi), optimize=True)


def generate(out: Path, files: list[tuple[str, int]], seed: int, dpi: int = 300) -> dict:
    """Write each (name, page count) file under out with its ground truth."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    truth = {}
    for name, count in files:
        rendered = [render_page(rng, dpi, rng.uniform(-2.0, 2.0)) for _ in range(count)]
        save_pages([p for p, _ in rendered], out / name, dpi)
        truth[name] = [t for _, t in rendered]
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    return truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--pages", type=int, default=10, help="total pages, as PDFs of up to 4 pages")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dpi", type=int, default=300)
    args = parser.parse_args()
    files, left, n = [], args.pages, 0
    while left > 0:
        count = min(left, 1 + n % 4)
        files.append((f"scan-{n:04d}.pdf", count))
        left -= count
        n += 1
    generate(args.out, files, args.seed, args.dpi)


if __name__ == "__main__":
    main()
