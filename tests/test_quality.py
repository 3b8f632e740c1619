"""Quality warnings on generated pages with known faults; a clean page gets none."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image, ImageFilter, ImageOps

from pipeline.quality import quality_warnings
from samples.generate import render_page


@pytest.fixture(scope="module")
def page():
    return render_page(random.Random(4), 300, 1.0)[0]


def codes(image, dpi=300):
    return [w["code"] for w in quality_warnings(image, dpi)]


def test_clean_pages_get_no_warning(page):
    assert codes(page) == [] and codes(page.convert("RGB")) == []
    assert codes(page.point(lambda v: 255 if v > 128 else 0).convert("1")) == []
    assert codes(page.filter(ImageFilter.GaussianBlur(1))) == []  # a slight softness reads fine


@pytest.mark.parametrize("fault, expected", [
    (lambda p: p.resize((p.width // 2, p.height // 2)), "low_resolution"),
    (lambda p: p.filter(ImageFilter.GaussianBlur(2.5)), "blurred"),
    (lambda p: p.point(lambda v: v * 0.5), "too_dark"),
    (lambda p: p.point(lambda v: 200 + v * 55 / 255), "too_light"),
    (lambda p: Image.fromarray(np.clip(np.random.default_rng(1).normal(245, 6, (p.height, p.width)), 0, 255)
                               .astype("uint8")), "nearly_blank"),
    (lambda p: p.crop((300, 0, p.width, p.height)), "cut_off"),
])
def test_each_fault_is_named(page, fault, expected):
    image = fault(page)
    dpi = 150 if expected == "low_resolution" else 300
    warnings = quality_warnings(image, dpi)
    assert expected in [w["code"] for w in warnings]
    assert all(w["message"] for w in warnings)


def test_a_scanner_lid_border_is_not_cut_text(page):
    bordered = ImageOps.expand(page.crop((0, 0, page.width - 100, page.height - 100)), 50, fill=20)
    assert "cut_off" not in codes(bordered)
