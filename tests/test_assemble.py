"""Assemble stage: pages and text layers into a PDF/A-2b that real readers accept."""

from __future__ import annotations

import random
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw

from pipeline.assemble import build_pdf, encode_page_image, page_pdf, stored_form
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


def test_black_and_white_pages_are_stored_losslessly_as_g4(ocr_pages, tmp_path):
    image, page = ocr_pages[0]
    black_white = image.point(lambda v: 255 if v > 140 else 0).convert("1")
    encoded = encode_page_image(black_white, 85)
    assert encoded.codec == "g4" and len(encoded.data) < 200_000
    path = tmp_path / "g4.pdf"
    path.write_bytes(build_pdf([page_pdf(encoded, page.text_layer_pdf)], "t", "d/g4"))
    with pikepdf.open(path) as pdf:
        (stored,) = pdf.pages[0].get_images().values()
        assert stored.Filter == "/CCITTFaxDecode"
        assert pikepdf.PdfImage(stored).as_pil_image().convert("1").tobytes() == black_white.tobytes()
    rendered = subprocess.run(["pdftoppm", "-r", "300", "-gray", "-singlefile", str(path), str(tmp_path / "r")],
                              check=True)
    assert rendered.returncode == 0
    poppler = np.asarray(Image.open(tmp_path / "r.pgm").convert("1"))
    assert (poppler == np.asarray(black_white)).mean() > 0.99  # black is black, not inverted


def test_stored_form_keeps_tones_only_where_the_paper_has_them(ocr_pages):
    text_page = ocr_pages[0][0]
    assert stored_form(text_page).mode == "1"
    assert stored_form(text_page.convert("RGB")).mode == "1"  # a colour scan of black print
    sealed = text_page.convert("RGB")
    ImageDraw.Draw(sealed).ellipse((1500, 2500, 1900, 2900), outline=(200, 30, 30), width=14)  # a red seal
    assert stored_form(sealed).mode == "RGB"
    photo = text_page.copy()
    photo.paste(Image.linear_gradient("L").resize((360, 480)), (1800, 300))  # an ID photo
    assert stored_form(photo).mode == "L"
