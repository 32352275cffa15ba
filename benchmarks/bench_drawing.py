"""Time the draw page's server side and measure how well drawn digits are read.

Run from the repository root:

    python benchmarks/bench_drawing.py             # timing, shipped models
    python benchmarks/bench_drawing.py --accuracy  # timing and accuracy

Timing: one 280x280 RGBA canvas, as the drawing component sends it, read by
`drawing.preprocess_image` and `drawing.predict_digit` (a direct model call),
median over --repeats calls after a few warm-up calls. `model.predict` on
the same input is timed beside it for comparison.

Accuracy: digits drawn back onto a 280x280 canvas (white on black) and read
through the same path, for the MNIST-style preprocessing and for a naive
resize of the whole canvas. Two sets: the bundled sample's 1,000 MNIST test
images at a random place and size (seed 0), and scikit-learn's 1,797 8x8
digits (a different set of writers), upscaled to 224 pixels in the middle
of the canvas. The figures go to docs/drawing-accuracy.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from mnist_core import drawing  # noqa: E402
from mnist_core.data import SAMPLE_PATH, load_from_path  # noqa: E402
from mnist_core.storage import (  # noqa: E402
    DEFAULT_MODELS_DIR,
    SHIPPED_FOLDER,
    load_model,
)

SHIPPED_DIR = DEFAULT_MODELS_DIR / SHIPPED_FOLDER
WARMUP_CALLS = 5
# scikit-learn's digits are 8x8; 224 = 28 x 8 fills most of the canvas.
SKLEARN_SIDE = 224


def _parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlp", type=Path, default=SHIPPED_DIR / "mlp.keras")
    parser.add_argument("--cnn", type=Path, default=SHIPPED_DIR / "cnn.keras")
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument(
        "--accuracy", action="store_true", help="also measure reading accuracy"
    )
    return parser.parse_args()


def canvas_rgba(image: np.ndarray) -> np.ndarray:
    """Return a digit as the canvas sends it: (280, 280, 4) uint8, white on black."""
    grey = drawing.render_on_canvas(image, side=200, top=30, left=50)
    opaque = np.full(grey.shape, 255, np.uint8)
    return np.stack([grey, grey, grey, opaque], axis=2)


def median_milliseconds(function, repeats: int, *arguments) -> float:
    """Call `function(*arguments)`; return the median milliseconds after warm-up."""
    for _ in range(WARMUP_CALLS):
        function(*arguments)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*arguments)
        seconds.append(time.perf_counter() - start)
    return 1000 * statistics.median(seconds)


def read_canvas(model, canvas: np.ndarray) -> np.ndarray:
    """Do what the server does after a stroke: preprocess, then one model call."""
    return drawing.predict_digit(model, drawing.preprocess_image(canvas).framed)


def predict_with_keras(model, inputs: np.ndarray) -> np.ndarray:
    return model.predict(inputs, verbose=0)


def time_models(models: dict, canvas: np.ndarray, repeats: int) -> None:
    preprocess_ms = median_milliseconds(drawing.preprocess_image, repeats, canvas)
    print(f"preprocess_image alone: {preprocess_ms:.1f} ms")
    framed = drawing.preprocess_image(canvas).framed
    for architecture, model in models.items():
        inputs = framed.reshape((1, *model.input_shape[1:]))
        server_ms = median_milliseconds(read_canvas, repeats, model, canvas)
        predict_ms = median_milliseconds(predict_with_keras, repeats, model, inputs)
        print(
            f"{architecture}: preprocessing + direct call {server_ms:.1f} ms "
            f"(target < 50 ms); model.predict alone {predict_ms:.1f} ms"
        )


def redrawn_mnist(seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """Draw the sample's test digits at a random place and size, as the test does."""
    dataset = load_from_path(SAMPLE_PATH)
    rng = np.random.default_rng(seed)
    canvases = []
    for image in dataset.x_test:
        side = int(rng.integers(84, drawing.CANVAS_SIDE + 1))
        top = int(rng.integers(0, drawing.CANVAS_SIDE - side + 1))
        left = int(rng.integers(0, drawing.CANVAS_SIDE - side + 1))
        canvases.append(drawing.render_on_canvas(image, side, top, left))
    return canvases, dataset.y_test


def redrawn_sklearn_digits() -> tuple[list[np.ndarray], np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    offset = (drawing.CANVAS_SIDE - SKLEARN_SIDE) // 2
    canvases = [
        drawing.render_on_canvas(image, SKLEARN_SIDE, offset, offset)
        for image in digits.images
    ]
    return canvases, digits.target


def measure_accuracy(models: dict, name: str, canvases, labels) -> None:
    framed = np.stack([drawing.preprocess_image(c).framed for c in canvases])
    naive = np.stack([drawing.resize_naively(drawing.read_ink(c)) for c in canvases])
    for architecture, model in models.items():
        for method, images in (("MNIST-style", framed), ("naive resize", naive)):
            probabilities = drawing.predict_digits(model, images)
            correct = probabilities.argmax(axis=1) == labels
            print(
                f"{name}, {architecture}, {method}: {100 * correct.mean():.2f}% "
                f"({correct.sum()} of {len(labels)})"
            )
            by_digit = [
                f"{digit}: {100 * np.mean(correct[labels == digit]):.0f}%"
                for digit in range(10)
            ]
            print(f"  per digit: {', '.join(by_digit)}")


def main() -> int:
    arguments = _parse_arguments()
    models = {}
    for architecture, path in (("mlp", arguments.mlp), ("cnn", arguments.cnn)):
        if path.exists():
            models[architecture], _ = load_model(path)
        else:
            print(f"{architecture}: {path} not found, skipped")
    if not models:
        return 1

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    sample = load_from_path(SAMPLE_PATH).x_test[0]
    time_models(models, canvas_rgba(sample), arguments.repeats)
    if arguments.accuracy:
        measure_accuracy(models, "MNIST sample redrawn", *redrawn_mnist())
        measure_accuracy(models, "scikit-learn 8x8 digits", *redrawn_sklearn_digits())
    return 0


if __name__ == "__main__":
    sys.exit(main())
