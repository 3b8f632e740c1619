"""The statistical page classifier that backs the title rules up when OCR has damaged a title.

A linear model (scikit-learn's logistic regression) over hashed character
n-grams of the folded page text: n-grams survive the lost diacritics and
split words that OCR produces, and hashing needs no vocabulary file. Its
classes are the document types, `khac`, and `tiep` (a page that continues a
document: a form's second page, the back of an ID card).

The model file (`ocr_models/doctype-classifier.npz`) holds only numbers and
names, read without pickle; `scripts/train_classifier.py` makes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

from pipeline.text import fold

CONTINUATION = "tiep"
FEATURES = {"analyzer": "char_wb", "ngram_range": (2, 4), "n_features": 2**18, "alternate_sign": False,
            "norm": "l2"}


def vectorizer() -> HashingVectorizer:
    return HashingVectorizer(**FEATURES)


def page_features(texts: list[str]):
    """The model's input for page texts: folded, so diacritics and capitals do not matter."""
    return vectorizer().transform([fold(t) for t in texts])


@dataclass(frozen=True)
class PageClassifier:
    """Class probabilities for a page's OCR text."""

    classes: tuple[str, ...]
    columns: np.ndarray = field(repr=False)  # the hashed features the model uses
    weights: np.ndarray = field(repr=False)  # classes x columns
    intercept: np.ndarray = field(repr=False)

    @classmethod
    def load(cls, path: Path) -> PageClassifier:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta["features"] != {k: list(v) if isinstance(v, tuple) else v for k, v in FEATURES.items()}:
                raise ValueError(f"{path} was trained with other features; run scripts/train_classifier.py")
            return cls(tuple(meta["classes"]), data["columns"], data["weights"].astype(np.float32),
                       data["intercept"])

    def save(self, path: Path) -> None:
        meta = {"classes": list(self.classes),
                "features": {k: list(v) if isinstance(v, tuple) else v for k, v in FEATURES.items()}}
        np.savez_compressed(path, meta=json.dumps(meta), columns=self.columns,
                            weights=self.weights.astype(np.float16), intercept=self.intercept)

    def probabilities(self, text: str) -> dict[str, float]:
        features = page_features([text])[:, self.columns]
        scores = features @ self.weights.T + self.intercept
        scores = np.asarray(scores).ravel()
        exp = np.exp(scores - scores.max())
        return dict(zip(self.classes, (exp / exp.sum()).tolist()))
