"""The receipt's QR code names the dossier, on clean, skewed, noisy and black-and-white scans."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image, ImageFilter

from pipeline.receipt import read_dossier_code
from samples.generate import render_page, render_receipt

CODE = "000.00.22.H26-250305-0001"


@pytest.mark.parametrize("dpi, skew, noise", [(300, 0.0, 3.0), (300, 2.5, 10.0), (200, -1.5, 8.0)])
def test_code_is_read_from_the_receipt(dpi, skew, noise):
    image, _ = render_receipt(random.Random(dpi), CODE, dpi, skew, noise)
    assert read_dossier_code(image) == CODE


def test_code_survives_jpeg_blur_and_black_and_white():
    image, _ = render_receipt(random.Random(4), CODE, 300, 1.0, 6.0)
    soft = image.filter(ImageFilter.GaussianBlur(1.0))
    buffer = io.BytesIO()
    soft.save(buffer, "JPEG", quality=60)
    assert read_dossier_code(Image.open(buffer)) == CODE
    assert read_dossier_code(image.point(lambda v: 255 if v > 140 else 0).convert("1")) == CODE


def test_a_page_without_a_code_gives_none():
    assert read_dossier_code(render_page(random.Random(2), 300)[0]) is None
