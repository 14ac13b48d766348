"""Write scikit-learn's digits (8x8 grey, 10 classes) as PNG class folders.

    python examples/make_digits.py examples/digits

gives train/<digit>/*.png (75 %) and test/<digit>/*.png (25 %), a stratified split with seed 0
(the split the README's figures use). The bundled examples/digits/ was made by this script.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def write_digits(out: Path) -> None:
    digits = load_digits()
    images = (digits.images * (255.0 / 16.0)).round().astype(np.uint8)  # 0..16 -> 0..255
    rows = np.arange(len(images))
    train, test = train_test_split(rows, test_size=0.25, stratify=digits.target, random_state=0)
    for split, chosen in (("train", train), ("test", test)):
        for i in chosen:
            folder = out / split / str(digits.target[i])
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(images[i], mode="L").save(folder / f"{i:04d}.png", optimize=True)


if __name__ == "__main__":
    write_digits(Path(sys.argv[1] if len(sys.argv) > 1 else "examples/digits"))
