"""Deskew: pages turned by small angles come back level, whatever their colour mode."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image

from pipeline.ocr import Tesseract
from pipeline.preprocess import (MIN_LINES_FOR_SHAPE, MIN_SHAPE_MARGIN, _half_ink, deskew, estimate_skew, even_out,
                                 ink_above_minus_below, straighten)
from samples.documents import can_cuoc
from samples.generate import fake_person, render_lines, render_page
from tests.checks import cer


@pytest.fixture(scope="module")
def straight_page():
    return render_page(random.Random(11), 300)[0]


@pytest.mark.parametrize("angle", [-10.0, -4.0, -1.5, 0.8, 2.5, 7.0])
@pytest.mark.parametrize("mode", ["L", "RGB", "1"])
def test_skewed_page_is_levelled(straight_page, angle, mode):
    turned = straight_page.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=255).convert(mode)
    result = deskew(turned)
    assert abs(result.skew_corrected_deg - angle) < 0.3
    assert result.image.mode == mode
    assert abs(estimate_skew(np.asarray(result.image.convert("L")))) < 0.3
    # The canvas grows: no text in the corners is cut off.
    assert result.image.width >= turned.width - 2 and result.image.height >= turned.height - 2


def test_straight_page_is_left_alone(straight_page):
    result = deskew(straight_page)
    assert result.skew_corrected_deg == 0.0 and result.image is straight_page


def test_blank_page_is_not_turned():
    blank = Image.new("L", (2480, 3508), 250)
    assert deskew(blank).skew_corrected_deg == 0.0


def test_evened_out_page_reads_as_well_as_the_page_itself():
    """OCR sees the evenly lit page; on a clean page it must lose nothing against the page itself."""
    image, truth = render_page(random.Random(12), 300, 0.0)
    engine = Tesseract(["vie"], 4)
    even = even_out(image)
    assert even.mode == "L" and even.size == image.size
    assert cer(engine.recognize(even, 300).text, truth) <= cer(engine.recognize(image, 300).text, truth) + 0.002


@pytest.mark.parametrize("lines", [None, 5, 2, 1])
@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_pages_turned_any_way_come_back_upright(rotation, lines):
    """Full pages are told from their ink; pages of one or two lines need tesseract's OSD."""
    image, _ = render_page(random.Random(31 + (lines or 0)), 300, 2.0, max_lines=lines)
    turned = image.rotate(rotation, expand=True, fillcolor=255)  # counter-clockwise
    result = straighten(turned, 300)
    assert result.rotation_applied == rotation
    assert abs(result.skew_corrected_deg - 2.0) < 0.3
    assert abs(result.image.width - image.width) < 0.1 * image.width  # upright again, not sideways


@pytest.mark.parametrize("rotation", [0, 180])
def test_a_framed_id_card_is_told_upright_from_its_ink(rotation):
    """The card's frame runs down every row of it: left out, its lines of text decide, with no OSD (0.4 s)."""
    rng = random.Random(5)
    card = can_cuoc(rng, fake_person(rng), leaders=0)
    image, _ = render_lines(rng, card.pages[0], 300, 0.0, 3.0)
    ink = _half_ink(np.asarray(image.rotate(rotation).convert("L")))
    margin, lines = ink_above_minus_below(ink)
    assert lines >= MIN_LINES_FOR_SHAPE and abs(margin) >= MIN_SHAPE_MARGIN
    assert (margin < 0) == (rotation == 180)


@pytest.mark.parametrize("angle", [-15.0, 15.0])
def test_deskew_reaches_fifteen_degrees(straight_page, angle):
    turned = straight_page.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=255)
    assert abs(deskew(turned).skew_corrected_deg - angle) < 0.3


def test_results_are_plain_python_values_for_json(straight_page):
    result = straighten(straight_page.rotate(180, expand=True, fillcolor=255), 300)
    assert type(result.rotation_applied) is int and type(result.skew_corrected_deg) is float


def shadowed(page: Image.Image) -> Image.Image:
    """One edge darkened, with a dark lid band along it, as from a book spine or an open lid."""
    pixels = np.asarray(page, dtype=np.float32)
    pixels *= np.linspace(0.55, 1.0, pixels.shape[1])[None, :]
    pixels[:, :70] = 40
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def test_shadowed_page_with_a_lid_border_is_read(straight_page):
    """A plain threshold reads nothing of it; ours reads the page."""
    _, truth = render_page(random.Random(11), 300)  # the truth of straight_page (same seed)
    shadowed_page = shadowed(straight_page)
    engine = Tesseract(["vie"], 4)
    assert cer(engine.recognize(even_out(shadowed_page), 300).text, truth) < 0.02
    assert cer(engine.recognize(shadowed_page, 300).text, truth) > 0.5  # what tesseract alone makes of it


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_a_lid_border_does_not_turn_the_page(straight_page, rotation):
    result = straighten(shadowed(straight_page).rotate(rotation, expand=True, fillcolor=255), 300)
    assert result.rotation_applied == rotation
