"""Assemble stage: pages and text layers into a PDF/A-2b that real readers accept."""

from __future__ import annotations

import random
import subprocess
import xml.etree.ElementTree as ET
import zlib

import pytest

from pipeline.assemble import build_pdf, encode_page_image, page_pdf
from pipeline.ocr import Tesseract
from pipeline.preprocess import deskew
from samples.generate import render_page
from tests.checks import check_pdfa


@pytest.fixture(scope="module")
def ocr_pages():
    rng = random.Random(21)
    engine = Tesseract(["vie"], 4)
    pages = []
    for skew in (1.2, -0.7):
        image = deskew(render_page(rng, 300, skew)[0]).image
        pages.append((image, engine.recognize(image, 300)))
    return pages


def test_grey_colour_and_bilevel_pages_make_a_valid_pdfa(tmp_path, ocr_pages):
    (grey, first), (second_image, second) = ocr_pages
    pages = [
        page_pdf(encode_page_image(grey, 85), first.text_layer_pdf),
        page_pdf(encode_page_image(second_image.convert("RGB"), 85), second.text_layer_pdf),
        page_pdf(encode_page_image(second_image.point(lambda v: 255 if v > 140 else 0).convert("1"), 85),
                 second.text_layer_pdf),
    ]
    path = tmp_path / "doc.pdf"
    path.write_bytes(build_pdf(pages, title="Hồ sơ 000.00.22.H26-250305-0001",
                               identifier="000.00.22.H26-250305-0001/doc-1"))
    text = check_pdfa(path, 3, "000.00.22.H26-250305-0001")
    assert text.count("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM") == 3
    assert "Độc lập - Tự do - Hạnh phúc" in text


def test_words_are_placed_on_the_image(tmp_path, ocr_pages):
    """pdftotext -bbox puts each word where tesseract saw it on the page image."""
    image, page = ocr_pages[0]
    path = tmp_path / "one.pdf"
    path.write_bytes(build_pdf([page_pdf(encode_page_image(image, 85), page.text_layer_pdf)], "t", "d/x"))
    html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    found = [w for w in ET.fromstring(html).iter("{http://www.w3.org/1999/xhtml}word") if w.text == "CỘNG"]
    assert found
    word = next(w for w in page.words if w.text == "CỘNG")
    scale = 72 / 300
    assert abs(float(found[0].get("xMin")) - word.bbox[0] * scale) < 3
    assert abs(float(found[0].get("yMin")) - word.bbox[1] * scale) < 6


def test_bilevel_pages_are_stored_losslessly(ocr_pages):
    image = ocr_pages[0][0].point(lambda v: 255 if v > 140 else 0).convert("1")
    encoded = encode_page_image(image, 85)
    assert encoded.codec == "bilevel"
    assert zlib.decompress(encoded.data) == image.tobytes()
