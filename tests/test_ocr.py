"""OCR stage: real tesseract with Debian's Vietnamese model, one run per page."""

from __future__ import annotations

import io
import random
import unicodedata

import pikepdf
import pytest

from pipeline.ocr import Tesseract, nfc, parse_tsv
from pipeline.preprocess import deskew
from samples.generate import render_page
from tests.checks import cer


@pytest.fixture(scope="module")
def read_page():
    image, truth = render_page(random.Random(5), 300, skew_deg=1.5)
    straight = deskew(image).image
    return straight, truth, Tesseract(["vie"], 4).recognize(straight, 300)


def test_vietnamese_text_is_read_with_its_diacritics(read_page):
    _, truth, page = read_page
    assert cer(page.text, truth) < 0.02
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in page.text
    assert page.text == unicodedata.normalize("NFC", page.text)


def test_words_carry_boxes_and_confidences(read_page):
    image, _, page = read_page
    assert len(page.words) > 50
    motto = [w for w in page.words if w.text == "CỘNG"][0]
    x0, y0, x1, y1 = motto.bbox
    assert 0 <= x0 < x1 <= image.width and 0 <= y0 < y1 <= image.height / 5  # top of the page
    assert 0 < page.mean_confidence <= 100
    assert all(0 <= w.confidence <= 100 for w in page.words)


def test_text_layer_is_an_invisible_pdf_page_of_the_image_size(read_page):
    image, _, page = read_page
    with pikepdf.open(io.BytesIO(page.text_layer_pdf)) as pdf:
        (pdf_page,) = pdf.pages
        width, height = float(pdf_page.mediabox[2]), float(pdf_page.mediabox[3])
        assert abs(width - image.width * 72 / 300) < 1 and abs(height - image.height * 72 / 300) < 1
        operators = {str(op) for _, op in pikepdf.parse_content_stream(pdf_page)}
        assert "TJ" in operators or "Tj" in operators
        render_modes = [ops for ops, op in pikepdf.parse_content_stream(pdf_page, "Tr")]
        assert render_modes and all(int(ops[0]) == 3 for ops in render_modes)  # 3: invisible
        assert not pdf_page.get_images()  # text only: the image is added by assemble


def test_nfd_input_is_composed():
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Thủy")
    assert nfc(decomposed) == "Nguyễn Thị Thủy" != decomposed


def test_tsv_parser_keeps_words_only():
    tsv = (
        "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
        "4\t1\t1\t1\t1\t0\t10\t10\t100\t20\t-1\t\n"
        "5\t1\t1\t1\t1\t1\t10\t10\t40\t20\t91.5\tHà\n"
        "5\t1\t1\t1\t1\t2\t60\t10\t40\t20\t95\t \n"
    )
    (word,) = parse_tsv(tsv)
    assert (word.text, word.confidence, word.bbox, word.line) == ("Hà", 91.5, (10, 10, 50, 30), (1, 1, 1))
