"""Write real, offline datasets to disk in their natural file formats.

    python bench/datasets.py OUTDIR                      # every source this machine has
    python bench/datasets.py OUTDIR digits GunPoint      # only the named ones
    python bench/datasets.py OUTDIR --wheels W --deb-dir D --limit 500

Detection tests and benchmarks need data as users hand it over (PNG class folders, CSV,
Parquet, UCR .ts files, text folders, WAV folders), not as in-memory arrays. Every source here
ships inside a PyPI or Debian package, so nothing is fetched at run time. Each writer returns
the path(s) it wrote and raises RuntimeError naming the install command when its source is
missing. A writer owns its output folder (e.g. OUTDIR/digits) and replaces it on each run.

Sources and their installs:
    digits, breast_cancer, diabetes   scikit-learn (bundled)
    fashion_mnist                     apt-get install -y dataset-fashion-mnist
    GunPoint, BasicMotions,           pip download --no-deps aeon==1.6.0 -d WHEELS (then --wheels)
    JapaneseVowels, lynx              or pip install --no-deps aeon==1.6.0
    sunspots                          pip install statsmodels (or download it to WHEELS likewise)
    reuters                           pip install rdata; apt-get download r-cran-tm (--deb-dir)
    spoken_words                      apt-get install -y espeak-ng
"""

from __future__ import annotations

import argparse
import csv
import gzip
import importlib.util
import io
import shutil
import struct
import subprocess
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
UCR_NAMES = ("GunPoint", "BasicMotions", "JapaneseVowels")
AEON_VERSION = "1.6.0"  # the data layout below was checked against this wheel
AEON_DATA = "datasets/data"
TM_DATA = Path("usr/lib/R/site-library/tm/data")  # inside the r-cran-tm .deb (and an R install)

# Defaults give 12 x 6 x 3 = 216 clips. "en" is the same voice as "en-gb", so it is left out;
# a "+variant" changes the speaker (f = female, m = male).
WORDS = tuple("zero one two three four five six seven eight nine yes no".split())
VOICES = ("en-gb", "en-us", "en-gb-scotland", "en-029", "en+f3", "en-us+m3")
SPEEDS = (120, 160, 200)  # words per minute; espeak-ng's default is 175
PITCHES = (50,)  # 0..99; espeak-ng's default is 50


def _fresh_dir(path: Path) -> Path:
    """Empty a writer's own output folder, so a rerun never leaves stale files behind."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _write_png_folder(root: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """One grey PNG per image under root/<label>/; zero-padded names sort in dataset order."""
    from PIL import Image

    width = len(str(len(images) - 1))
    for label in np.unique(labels):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        Image.fromarray(image).save(root / str(label) / f"{i:0{width}d}.png")


def _package_file(package: str, relpath: str, wheel_dir: Path | None, install: str) -> bytes:
    """A data file shipped in a package, read without importing it (aeon pulls in numba).

    find_spec on a top-level name only locates the package. Failing that, a wheel from
    `pip download --no-deps` in wheel_dir is read as the zip it is: no install, no dependency
    pins to clash with the project's environment.
    """
    spec = importlib.util.find_spec(package)
    roots = (spec.submodule_search_locations or []) if spec else []
    for path in (Path(root, relpath) for root in roots):
        if path.is_file():
            return path.read_bytes()
    wheels = sorted(Path(wheel_dir).glob(f"{package}-*.whl"), reverse=True) if wheel_dir else []
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            if f"{package}/{relpath}" in archive.namelist():
                return archive.read(f"{package}/{relpath}")
    where = f" or in a {package} wheel in {wheel_dir}" if wheel_dir else ""
    raise RuntimeError(
        f"{package}/{relpath} not found installed{where}; install {package}: {install}"
    )


def _aeon_file(relpath: str, wheel_dir: Path | None) -> bytes:
    install = (
        f"pip download --no-deps aeon=={AEON_VERSION} -d WHEELS (then pass wheel_dir=WHEELS)"
        f" or pip install --no-deps aeon=={AEON_VERSION}"
    )
    return _package_file("aeon", f"{AEON_DATA}/{relpath}", wheel_dir, install)


def digits(out: Path) -> Path:
    """scikit-learn's 8x8 digits as out/digits/<label>/<i>.png, grey 0..16 scaled to 0..255."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = (data.images * (255.0 / 16.0)).round().astype(np.uint8)
    root = _fresh_dir(Path(out) / "digits")
    _write_png_folder(root, images, data.target)
    return root


def noisy_digits_table() -> tuple[np.ndarray, np.ndarray]:
    """digits as a flat table, repeated 8x with pixel noise (sd 1 on 0..16): 14 376 rows x 64
    columns and their labels, for the efficiency and budget benchmarks."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(0)
    X = np.concatenate([digits.data + rng.normal(0, 1.0, digits.data.shape) for _ in range(8)])
    return X, np.tile(digits.target, 8)


def breast_cancer(out: Path) -> Path:
    """Wisconsin breast cancer as out/breast_cancer.csv: 30 float features, then `target`."""
    from sklearn.datasets import load_breast_cancer

    path = Path(out) / "breast_cancer.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    load_breast_cancer(as_frame=True).frame.to_csv(path, index=False)
    return path


def diabetes(out: Path) -> Path:
    """Diabetes regression as out/diabetes.parquet, raw units (age in years, sex 1/2), `target`."""
    from sklearn.datasets import load_diabetes

    path = Path(out) / "diabetes.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    load_diabetes(as_frame=True, scaled=False).frame.to_parquet(path, index=False)
    return path


def _read_idx(path: Path) -> np.ndarray:
    """An IDX file (MNIST's format): big-endian magic 0x0000<type><ndim>, ndim sizes, uint8 data."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def fashion_mnist(out: Path, limit: int | None = None, src: Path = FASHION_MNIST_DIR) -> Path:
    """Fashion-MNIST as out/fashion_mnist/{train,test}/<label>/<i>.png (28x28 grey).

    limit keeps the first `limit` images of each split, for fast tests.
    """
    files = {
        split: (
            Path(src, f"{stem}-images-idx3-ubyte.gz"),
            Path(src, f"{stem}-labels-idx1-ubyte.gz"),
        )
        for split, stem in (("train", "train"), ("test", "t10k"))
    }
    if not all(p.is_file() for pair in files.values() for p in pair):
        raise RuntimeError(
            f"Fashion-MNIST IDX files not found in {src}; install dataset-fashion-mnist: "
            "apt-get install -y dataset-fashion-mnist"
        )
    root = _fresh_dir(Path(out) / "fashion_mnist")
    for split, (images_path, labels_path) in files.items():
        images, labels = _read_idx(images_path)[:limit], _read_idx(labels_path)[:limit]
        _write_png_folder(root / split, images, labels)
    return root


PHOTO_TRAIN = 8000  # of Fashion-MNIST's 10 000 test images: the rest are the photos' test split


def fashion_photos(
    out: Path, side: int = 256, limit: int | None = None, src: Path = FASHION_MNIST_DIR
) -> Path:
    """Fashion-MNIST's 10 000 test images as photo-like JPEGs: out/fashion_photos_<side>/
    {train,test}/<label>/<i>.jpg, each upscaled to side x side RGB (bicubic, quality 90),
    the first 8 000 for training; side 28 writes the same split as the original grey PNGs,
    for the same-images comparison."""
    from PIL import Image

    root = _fresh_dir(Path(out) / f"fashion_photos_{side}")
    images, placed = _fashion_split(root, limit, src)
    for i, folder in placed:
        image = Image.fromarray(images[i])
        if side == images.shape[1]:
            image.save(folder / f"{i:05d}.png")
            continue
        image = image.resize((side, side), Image.Resampling.BICUBIC).convert("RGB")
        image.save(folder / f"{i:05d}.jpg", quality=90)
    return root


def _fashion_split(root: Path, limit: int | None, src: Path) -> tuple[np.ndarray, list]:
    """Fashion-MNIST's test images, and (index, folder) for each: root/{train,test}/<label>,
    the first PHOTO_TRAIN (at most 80 %) to train on."""
    images = _read_idx(Path(src, "t10k-images-idx3-ubyte.gz"))[:limit]
    labels = _read_idx(Path(src, "t10k-labels-idx1-ubyte.gz"))[:limit]
    train = min(PHOTO_TRAIN, int(0.8 * len(images)))
    placed = []
    for split, rows in (("train", range(train)), ("test", range(train, len(images)))):
        for label in np.unique(labels):
            (root / split / str(label)).mkdir(parents=True, exist_ok=True)
        placed += [(i, root / split / str(labels[i])) for i in rows]
    return images, placed


SCENES = {  # layout: (canvas width, height; the item's side)
    "centred": (320, 240, 240),  # the item fills the centre square, other items beside it
    "offside": (432, 216, 144),  # the item anywhere along a wide frame, nothing else
}


def fashion_scenes(
    out: Path, layout: str, limit: int | None = None, src: Path = FASHION_MNIST_DIR
) -> Path:
    """Fashion-MNIST's 10 000 test images in photos that are not square, where cropping or
    padding them matters (the first 8 000 train): out/fashion_scenes_<layout>/{train,test}/
    <label>/<i>.jpg. "centred": 320x240, the item centred and filling the height, small
    thumbnails of other items in the side bands (a centre crop drops them). "offside":
    432x216, the item at a random place along the frame (a centre crop may cut it off)."""
    from PIL import Image

    width, height, item = SCENES[layout]
    rng = np.random.default_rng(0)
    root = _fresh_dir(Path(out) / f"fashion_scenes_{layout}")
    images, placed = _fashion_split(root, limit, src)
    for i, folder in placed:
        canvas = Image.new("L", (width, height))
        subject = Image.fromarray(images[i]).resize((item, item), Image.Resampling.BICUBIC)
        if layout == "centred":
            band = (width - item) // 2
            for x in (0, width - band):  # two thumbnails of other items in each band
                for other in rng.integers(0, len(images), 2):
                    thumb = Image.fromarray(images[other]).resize((band, band))
                    canvas.paste(thumb, (x, int(rng.integers(0, height - band))))
            canvas.paste(subject, (band, 0))
        else:
            canvas.paste(subject, (int(rng.integers(0, width - item + 1)), (height - item) // 2))
        canvas.convert("RGB").save(folder / f"{i:05d}.jpg", quality=90)
    return root


def ucr(out: Path, name: str, wheel_dir: Path | None = None) -> list[Path]:
    """A UCR/UEA archive problem as out/<name>/<name>_TRAIN.ts and _TEST.ts, byte for byte."""
    files = {
        f"{name}_{split}.ts": _aeon_file(f"{name}/{name}_{split}.ts", wheel_dir)
        for split in ("TRAIN", "TEST")
    }
    folder = _fresh_dir(Path(out) / name)
    for filename, content in files.items():
        (folder / filename).write_bytes(content)
    return [folder / filename for filename in files]


def lynx(out: Path, wheel_dir: Path | None = None) -> Path:
    """Annual Canadian lynx trappings 1821-1934 as out/lynx.csv (year,lynx).

    aeon's Lynx.csv has a blank index header (",0"), so it is rewritten with real names.
    """
    text = _aeon_file("Lynx/Lynx.csv", wheel_dir).decode()
    rows = list(csv.reader(io.StringIO(text)))[1:]
    path = Path(out) / "lynx.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["year", "lynx"])
        writer.writerows([int(year), int(float(count))] for year, count in rows)
    return path


def sunspots(out: Path, wheel_dir: Path | None = None) -> Path:
    """Yearly sunspot numbers 1700-2008 as out/sunspots.csv (YEAR,SUNACTIVITY), from statsmodels.

    The bundled file quotes its header; it is rewritten unquoted, values untouched.
    """
    install = "pip install statsmodels (or pip download --no-deps statsmodels -d WHEELS)"
    text = _package_file(
        "statsmodels", "datasets/sunspots/sunspots.csv", wheel_dir, install
    ).decode()
    path = Path(out) / "sunspots.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(csv.reader(io.StringIO(text)))
    return path


def _tm_data_dir(deb_dir: Path | None, scratch: Path) -> Path:
    """tm's data/ folder: an R install, an unpacked .deb tree, or a .deb unpacked into scratch."""
    candidates = [Path("/") / TM_DATA]
    if deb_dir is not None:
        candidates.append(Path(deb_dir) / TM_DATA)
        debs = sorted(Path(deb_dir).glob("r-cran-tm_*.deb"))
        if debs and shutil.which("dpkg-deb"):
            subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(scratch)], check=True)
            candidates.append(scratch / TM_DATA)
    for folder in candidates:
        if (folder / "acq.rda").is_file() and (folder / "crude.rda").is_file():
            return folder
    raise RuntimeError(
        f"tm's acq.rda/crude.rda not found (deb_dir={deb_dir}); install r-cran-tm's .deb: "
        "cd DEB_DIR && apt-get download r-cran-tm (then pass deb_dir=DEB_DIR)"
    )


def reuters(out: Path, deb_dir: Path | None = None) -> Path:
    """Reuters-21578 acq (50) and crude (20) as out/reuters/<topic>/<i>.txt, from R's tm.

    Each .rda holds a VCorpus: $content is a named list of PlainTextDocuments whose own
    $content is a character vector (one string per document here) holding the body text.
    """
    try:
        import rdata
    except ImportError as exc:
        raise RuntimeError(
            "reading tm's .rda files needs rdata; install rdata: pip install rdata"
        ) from exc
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = _tm_data_dir(deb_dir, Path(scratch))
        root = _fresh_dir(Path(out) / "reuters")
        for topic in ("acq", "crude"):
            with warnings.catch_warnings():  # rdata has no constructors for tm's S3 classes
                warnings.simplefilter("ignore", UserWarning)
                corpus = rdata.read_rda(data_dir / f"{topic}.rda", default_encoding="utf8")[topic]
            folder = root / topic
            folder.mkdir()
            for i, document in enumerate(corpus["content"].values()):
                text = "\n".join(str(line) for line in document["content"])
                (folder / f"{i:02d}.txt").write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    return root


def _check_voices(voices: Sequence[str]) -> None:
    """Fail before writing anything: espeak-ng silently ignores an unknown '+variant'."""
    listing = subprocess.run(
        ["espeak-ng", "--voices=variant"], capture_output=True, text=True, check=True
    ).stdout
    variants = {line.split()[-1].removeprefix("!v/") for line in listing.splitlines()[1:] if line}
    bad = [v for v in voices if "+" in v and v.split("+", 1)[1] not in variants]
    for voice in {v.split("+", 1)[0] for v in voices}:
        probe = subprocess.run(["espeak-ng", "-q", "-v", voice, "a"], capture_output=True)
        bad += [voice] if probe.returncode else []
    if bad:
        raise ValueError(f"unknown espeak-ng voice(s) {sorted(bad)}; see espeak-ng --voices")


def spoken_words(
    out: Path,
    words: Sequence[str] = WORDS,
    voices: Sequence[str] = VOICES,
    speeds: Sequence[int] = SPEEDS,
    pitches: Sequence[int] = PITCHES,
) -> Path:
    """Synthetic spoken words as out/spoken_words/<word>/<voice>_<speed>_<pitch>.wav.

    espeak-ng writes 22050 Hz 16-bit mono PCM and is deterministic: same arguments, same bytes.
    """
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng not found; install espeak-ng: apt-get install -y espeak-ng")
    _check_voices(voices)
    root = _fresh_dir(Path(out) / "spoken_words")
    for word in words:
        (root / word).mkdir()
        for voice in voices:
            for speed in speeds:
                for pitch in pitches:
                    wav = root / word / f"{voice}_{speed}_{pitch}.wav"
                    command = ["espeak-ng", "-w", str(wav), "-v", voice]
                    command += ["-s", str(speed), "-p", str(pitch), word]
                    subprocess.run(command, check=True, capture_output=True)
    return root


def _writers(args: argparse.Namespace) -> dict[str, Callable[[Path], Path | list[Path]]]:
    wheels, deb_dir = args.wheels, args.deb_dir
    writers: dict[str, Callable[[Path], Path | list[Path]]] = {
        "digits": digits,
        "breast_cancer": breast_cancer,
        "diabetes": diabetes,
        "fashion_mnist": lambda out: fashion_mnist(out, limit=args.limit),
        "fashion_photos": lambda out: fashion_photos(out, limit=args.limit),
        **{
            f"fashion_scenes_{layout}": lambda out, layout=layout: fashion_scenes(
                out, layout, limit=args.limit
            )
            for layout in SCENES
        },
    }
    for name in UCR_NAMES:
        writers[name] = lambda out, name=name: ucr(out, name, wheel_dir=wheels)
    writers["lynx"] = lambda out: lynx(out, wheel_dir=wheels)
    writers["sunspots"] = lambda out: sunspots(out, wheel_dir=wheels)
    writers["reuters"] = lambda out: reuters(out, deb_dir=deb_dir)
    writers["spoken_words"] = spoken_words
    return writers


def _describe(path: Path) -> str:
    files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
    size = sum(p.stat().st_size for p in files)
    return (
        f"{path} ({len(files)} files, {size / 1e6:.2f} MB)"
        if path.is_dir()
        else f"{path} ({size / 1e6:.3f} MB)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Write the named datasets (default: all); with no names, a missing source is skipped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("names", nargs="*", help="datasets to write (default: all)")
    parser.add_argument(
        "--wheels", type=Path, help="folder of pip-downloaded aeon/statsmodels wheels"
    )
    parser.add_argument("--deb-dir", type=Path, help="folder holding r-cran-tm_*.deb")
    parser.add_argument("--limit", type=int, help="Fashion-MNIST images per split")
    args = parser.parse_args(argv)
    writers = _writers(args)
    unknown = [n for n in args.names if n not in writers]
    if unknown:
        parser.error(f"unknown dataset(s) {unknown}; choose from {list(writers)}")
    failed = False
    for name in args.names or writers:
        try:
            written = writers[name](args.outdir)
        except RuntimeError as exc:
            print(f"{name}: skipped: {exc}", file=sys.stderr)
            failed = failed or bool(args.names)  # only a source asked for by name is an error
            continue
        for path in written if isinstance(written, list) else [written]:
            print(f"{name}: {_describe(path)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
