"""Ingest stage: every accepted format becomes pages; every bad file a clear BadInput."""

from __future__ import annotations

import random

import numpy as np
import pikepdf
import pytest
from PIL import Image

from pipeline.assemble import build_pdf, encode_page_image, page_pdf
from pipeline.ingest import BadInput, SourcePage, inspect, read_pages
from pipeline.ocr import Tesseract
from samples.generate import render_page, save_pages

MAX_PIXELS = 100_000_000


@pytest.fixture(scope="module")
def pages():
    rng = random.Random(7)
    return [render_page(rng, 300)[0] for _ in range(2)]


def only_pages(path, dpi=300, max_pixels=MAX_PIXELS):
    items = list(read_pages(path, dpi, max_pixels))
    assert all(isinstance(item, SourcePage) for item in items), items
    return items


@pytest.mark.parametrize("name", ["scan.pdf", "scan.tif", "scan.png", "scan.jpg"])
def test_each_format_gives_its_pages_at_their_resolution(tmp_path, pages, name):
    path = tmp_path / name
    many = name.endswith((".pdf", ".tif"))
    save_pages(pages if many else pages[:1], path, 300)
    items = only_pages(path, dpi=150)
    assert [p.index for p in items] == ([0, 1] if many else [0])
    found = inspect(path, 150, MAX_PIXELS)
    assert found.pages == len(items)
    assert found.dpi == (150 if name.endswith(".pdf") else 300)  # a PDF's resolution is per page
    assert found.page_is_file == (not many)
    for item in items:
        # The file's own 300 dpi wins over the configured 150: no resampling.
        assert item.dpi == 300
        assert item.image().size == pages[0].size
        assert item.image().mode == "L"


@pytest.mark.parametrize("count", [1, 2])
def test_bilevel_tiff_stays_bilevel(tmp_path, pages, count):
    path = tmp_path / "g4.tif"
    bilevel = [p.point(lambda v: 255 if v > 128 else 0).convert("1") for p in pages[:count]]
    bilevel[0].save(path, "TIFF", dpi=(300, 300), save_all=True, append_images=bilevel[1:], compression="group4")
    assert inspect(path, 300, MAX_PIXELS).page_is_file == (count == 1)  # a one-page TIFF is its own page image
    items = only_pages(path)
    assert [p.image().mode for p in items] == ["1"] * count
    assert [np.array_equal(np.asarray(p.image()), np.asarray(b)) for p, b in zip(items, bilevel)] == [True] * count


def test_scanned_pdf_page_image_is_taken_as_is(tmp_path, pages):
    path = tmp_path / "scan.pdf"
    save_pages(pages[:1], path, 300)
    (item,) = only_pages(path, dpi=100)
    # Rasterising at the configured 100 dpi would give a third of the pixels.
    assert item.image().size == pages[0].size and item.dpi == 300
    with pikepdf.open(path) as pdf:  # the very JPEG of the scan, not a re-encoding
        assert item.data == next(iter(pdf.pages[0].get_images().values())).read_raw_bytes()


def test_pdf_with_text_is_rendered_at_configured_dpi(tmp_path, pages):
    """A searchable PDF (here: one of our own) is rendered by poppler, not picked apart."""
    text = Tesseract(["vie"], 4).recognize(pages[0], 300)
    path = tmp_path / "searchable.pdf"
    path.write_bytes(build_pdf([page_pdf(encode_page_image(pages[0], 80), text.text_layer_pdf)], "t", "x/y"))
    (item,) = only_pages(path, dpi=100)
    width_in = pages[0].width / 300
    assert abs(item.image().width - width_in * 100) <= 2 and item.dpi == 100


def expect_bad(path, reason_part, page=None, max_pixels=MAX_PIXELS):
    with pytest.raises(BadInput) as caught:
        list(read_pages(path, 300, max_pixels))
    problem = caught.value
    assert problem.file == path.name and problem.page == page
    assert reason_part in problem.reason
    assert problem.hint  # always says what to do
    assert path.name in str(problem)
    return problem


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    expect_bad(path, "empty")


def test_file_that_is_not_an_image(tmp_path):
    path = tmp_path / "letter.png"  # the name lies; the bytes decide
    path.write_text("Kính gửi: UBND phường", encoding="utf-8")
    expect_bad(path, "not a PDF, TIFF, JPEG or PNG")


def test_corrupt_pdf(tmp_path, pages):
    path = tmp_path / "broken.pdf"
    save_pages(pages[:1], path, 300)
    data = path.read_bytes()
    path.write_bytes(data[:200] + b"\x00garbage" * 50)
    problem = expect_bad(path, "damaged")
    assert "Scan" in problem.hint


def test_encrypted_pdf(tmp_path, pages):
    plain = tmp_path / "plain.pdf"
    save_pages(pages[:1], plain, 300)
    path = tmp_path / "locked.pdf"
    with pikepdf.open(plain) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(owner="o", user="secret"))
    problem = expect_bad(path, "encrypted")
    assert "password" in problem.hint


def test_truncated_jpeg(tmp_path, pages):
    path = tmp_path / "cut.jpg"
    save_pages(pages[:1], path, 300)
    path.write_bytes(path.read_bytes()[:3000])
    items = list(read_pages(path, 300, MAX_PIXELS))
    assert len(items) == 1 and isinstance(items[0], BadInput)
    assert items[0].page == 0 and "damaged" in items[0].reason
    with pytest.raises(BadInput, match="damaged"):  # refused at the counter already
        inspect(path, 300, MAX_PIXELS)


def test_decompression_bomb(tmp_path):
    """A small file that would decode to 400 million pixels is refused before decoding."""
    path = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000), 1).save(path)
    assert path.stat().st_size < 200_000
    problem = expect_bad(path, "too large")
    assert "300 dpi" in problem.hint


def test_oversized_page_in_a_tiff_is_refused_and_the_rest_read(tmp_path, pages):
    path = tmp_path / "mixed.tif"
    huge = Image.new("L", (6000, 6000), 255)
    pages[0].save(path, "TIFF", dpi=(300, 300), save_all=True, append_images=[huge, pages[1]])
    items = list(read_pages(path, 300, 30_000_000))
    assert [type(i).__name__ for i in items] == ["SourcePage", "BadInput", "SourcePage"]
    assert items[1].page == 1 and "too large" in items[1].reason
