"""Train the page classifier (pipeline/classifier.py) on generated pages; writes ocr_models/doctype-classifier.npz.

The pages come from samples/documents.py with training seeds of their own
(the evaluation in bench/accuracy.py draws other seeds), their text spoilt
the way OCR spoils it: diacritics lost, letters swapped or dropped, lines
missed, and often no title at all, since the model is there for pages whose
title the rules could not read.

    .venv/bin/python scripts/train_classifier.py [--pages-per-type 300] [--check]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline.classifier import CONTINUATION, PageClassifier, page_features  # noqa: E402
from pipeline.text import fold  # noqa: E402
from samples.documents import TYPES, make_document, receipt, dossier_code  # noqa: E402
from samples.generate import GRAPHICS, fake_person  # noqa: E402

MODEL = Path(__file__).resolve().parents[1] / "ocr_models" / "doctype-classifier.npz"
LETTERS = "abcdeghiklmnopqrstuvxyđ0123456789"


def spoil(rng: random.Random, lines: list[str]) -> str:
    """Page text as a poor OCR run gives it."""
    kept = [line for i, line in enumerate(lines) if rng.random() > 0.08]
    if rng.random() < 0.4:  # the title (first capitalised lines) unreadable
        kept = [line for line in kept if not (line.isupper() and len(line) > 8)]
    out = []
    for char in "\n".join(kept):
        roll = rng.random()
        if roll < 0.15:
            out.append(fold(char) or char)
        elif roll < 0.18:
            out.append(rng.choice(LETTERS))
        elif roll > 0.99:
            continue
        else:
            out.append(char)
    return "".join(out)


def examples(seed: str, per_type: int) -> tuple[list[str], list[str]]:
    """(text, label) for first pages of every type and `tiep` for the pages after them."""
    rng = random.Random(seed)
    texts, labels = [], []
    for code in ["phieu_tiep_nhan", *TYPES]:
        for _ in range(per_type):
            person = fake_person(rng)
            document = receipt(rng, dossier_code(rng), person) if code == "phieu_tiep_nhan" else \
                make_document(rng, code, person)
            for index, page in enumerate(document.pages):
                text = spoil(rng, [t for style, t in page if style not in GRAPHICS])
                texts.append(text)
                labels.append(code if index == 0 else CONTINUATION)
    return texts, labels


def train(per_type: int) -> PageClassifier:
    texts, labels = examples("train", per_type)
    model = LogisticRegression(C=20.0, max_iter=2000)
    model.fit(page_features(texts), labels)
    columns = np.flatnonzero(np.abs(model.coef_).max(axis=0) > 1e-4).astype(np.int32)
    return PageClassifier(tuple(model.classes_), columns, model.coef_[:, columns].astype(np.float32),
                          model.intercept_.astype(np.float32))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages-per-type", type=int, default=300)
    parser.add_argument("--check", action="store_true", help="also report accuracy on held-out spoilt pages")
    args = parser.parse_args()
    classifier = train(args.pages_per_type)
    classifier.save(MODEL)
    print(f"wrote {MODEL} ({MODEL.stat().st_size:,} bytes, {len(classifier.columns)} features, "
          f"classes {', '.join(classifier.classes)})")
    if args.check:
        texts, labels = examples("held-out", 40)
        predicted = [max(p := classifier.probabilities(t), key=p.get) for t in texts]
        right = sum(a == b for a, b in zip(predicted, labels))
        print(f"held-out spoilt pages: {right}/{len(labels)} right")
        print(Counter((a, b) for a, b in zip(labels, predicted) if a != b).most_common(8))


if __name__ == "__main__":
    main()
