"""Tests for mnist_core.drawing: reading ink, MNIST-style preprocessing, uploads."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_core import drawing
from mnist_core.config import CNNConfig, ConvBlockSpec, DenseLayerSpec, MLPConfig
from mnist_core.data import SAMPLE_PATH, load_from_path
from mnist_core.models import build_model
from mnist_core.storage import DEFAULT_MODELS_DIR, SHIPPED_FOLDER, load_model

SHIPPED_CNN_PATH = DEFAULT_MODELS_DIR / SHIPPED_FOLDER / "cnn.keras"
GEOMETRIC_CENTRE = (drawing.IMAGE_SIZE - 1) / 2

# Polylines on a 280x280 canvas, as (x, y) points, with a stroke width.
STROKES = {
    "seven_top_left": ([(30, 30), (130, 30), (60, 170)], 12),
    "one_far_right": ([(250, 40), (250, 260)], 20),
    "zero_off_centre": (
        [(120, 60), (170, 90), (180, 170), (140, 210), (100, 170), (100, 90)],
        16,
    ),
    "dash_bottom": ([(20, 250), (200, 240)], 10),
}


def draw_coverage(points, width: int, canvas_side: int = 280) -> np.ndarray:
    """Draw an anti-aliased polyline; return its coverage in 0..1 per pixel."""
    supersampling = 4
    large = Image.new("L", (canvas_side * supersampling,) * 2, 0)
    scaled_points = [(x * supersampling, y * supersampling) for x, y in points]
    ImageDraw.Draw(large).line(
        scaled_points, fill=255, width=width * supersampling, joint="curve"
    )
    small = large.resize((canvas_side, canvas_side), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0


def paint(coverage: np.ndarray, style: str) -> np.ndarray:
    """Paint a stroke's coverage the way a canvas or a scanner would deliver it."""
    ink = np.round(coverage * 255).astype(np.uint8)
    opaque = np.full(ink.shape, 255, np.uint8)
    zeros = np.zeros(ink.shape, np.uint8)
    if style == "white_on_black":
        return np.stack([ink, ink, ink, opaque], axis=2)
    if style == "black_on_white":
        return np.stack([255 - ink, 255 - ink, 255 - ink, opaque], axis=2)
    if style == "black_on_transparent":
        return np.stack([zeros, zeros, zeros, ink], axis=2)
    if style == "white_on_transparent":
        return np.stack([opaque, opaque, opaque, ink], axis=2)
    if style == "grey_black_on_white":
        return 255 - ink
    raise ValueError(style)


def png_bytes(width: int, height: int, payload: bytes = b"") -> bytes:
    """Build a greyscale PNG whose header declares `width` x `height` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(payload))
        + chunk(b"IEND", b"")
    )


def encode(image: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


@pytest.mark.parametrize("stroke", STROKES.values(), ids=STROKES.keys())
def test_preprocess_centre_of_mass_near_frame_centre(stroke):
    points, width = stroke
    steps = drawing.preprocess_image(
        paint(draw_coverage(points, width), "white_on_black")
    )
    row, column = drawing.centre_of_mass(steps.framed)
    assert abs(row - GEOMETRIC_CENTRE) <= 1.0
    assert abs(column - GEOMETRIC_CENTRE) <= 1.0


@pytest.mark.parametrize("stroke", STROKES.values(), ids=STROKES.keys())
def test_preprocess_ink_fits_twenty_pixel_box(stroke):
    points, width = stroke
    steps = drawing.preprocess_image(
        paint(draw_coverage(points, width), "white_on_black")
    )
    rows = np.flatnonzero(steps.framed.any(axis=1))
    columns = np.flatnonzero(steps.framed.any(axis=0))
    assert rows[-1] - rows[0] + 1 <= drawing.DIGIT_BOX
    assert columns[-1] - columns[0] + 1 <= drawing.DIGIT_BOX
    assert max(steps.scaled.shape) == drawing.DIGIT_BOX


@pytest.mark.parametrize(
    "style",
    [
        "black_on_white",
        "black_on_transparent",
        "white_on_transparent",
        "grey_black_on_white",
    ],
)
@pytest.mark.parametrize("stroke", STROKES.values(), ids=STROKES.keys())
def test_preprocess_same_input_whatever_colours(stroke, style):
    coverage = draw_coverage(*stroke)
    reference = drawing.preprocess_image(paint(coverage, "white_on_black"))
    steps = drawing.preprocess_image(paint(coverage, style))
    assert np.allclose(steps.framed, reference.framed, atol=1e-5)


def test_preprocess_output_is_unit_range_float32():
    steps = drawing.preprocess_image(
        paint(draw_coverage(*STROKES["seven_top_left"]), "black_on_white")
    )
    assert steps.framed.shape == (28, 28)
    assert steps.framed.dtype == np.float32
    assert steps.framed.min() >= 0.0
    assert steps.framed.max() == pytest.approx(1.0)


def test_scale_to_box_keeps_aspect_ratio():
    tall = np.ones((200, 50), np.float32)
    assert drawing.scale_to_box(tall).shape == (20, 5)


def test_scale_to_box_enlarges_small_digit():
    small = np.ones((10, 7), np.float32)
    assert drawing.scale_to_box(small).shape == (20, 14)


def test_crop_to_ink_bounding_box():
    ink = np.zeros((50, 40), np.float32)
    ink[10:20, 5:35] = 1.0
    assert drawing.crop_to_ink(ink).shape == (10, 30)


def test_crop_to_ink_rejects_blank():
    with pytest.raises(ValueError, match="no ink"):
        drawing.crop_to_ink(np.zeros((10, 10), np.float32))


def test_frame_digit_keeps_lopsided_digit_inside():
    # All the mass in the top row pulls the offset far down, past the frame.
    scaled = np.zeros((20, 20), np.float32)
    scaled[0, :] = 1.0
    framed = drawing.frame_digit(scaled)
    assert framed.sum() == pytest.approx(scaled.sum())


@pytest.mark.parametrize("style", ["white_on_black", "black_on_transparent"])
def test_preprocess_blank_canvas_returns_none(style):
    blank = paint(np.zeros((280, 280), np.float32), style)
    assert drawing.preprocess_image(blank) is None


def test_preprocess_tiny_dot_returns_none():
    dot = draw_coverage([(140, 140), (141, 141)], 3)
    assert drawing.preprocess_image(paint(dot, "white_on_black")) is None


def test_read_ink_ignores_faint_noise():
    noise = np.random.default_rng(0).integers(0, 20, (280, 280), dtype=np.uint8)
    assert drawing.read_ink(noise).max() == 0.0


def test_read_ink_rejects_bad_shape():
    with pytest.raises(ValueError, match="shape"):
        drawing.read_ink(np.zeros((4, 4, 5), np.uint8))


def test_resize_naively_whole_canvas():
    ink = drawing.read_ink(
        paint(draw_coverage(*STROKES["one_far_right"]), "white_on_black")
    )
    naive = drawing.resize_naively(ink)
    assert naive.shape == (28, 28)
    # The stroke stays at the far right instead of moving to the centre.
    assert naive[:, 24:].sum() > naive[:, :20].sum()


def test_render_on_canvas_rejects_overflow():
    with pytest.raises(ValueError, match="does not fit"):
        drawing.render_on_canvas(np.ones((28, 28)), side=100, top=200, left=0)


def tiny_mlp():
    config = MLPConfig(hidden_layers=(DenseLayerSpec(units=8),))
    return build_model(config)


def tiny_cnn(data_format: str = "channels_last", output_activation: str = "softmax"):
    config = CNNConfig(
        conv_blocks=(ConvBlockSpec(filters=4, pooling="max"),),
        dense_units=8,
        data_format=data_format,
        output_activation=output_activation,
    )
    return build_model(config)


def tiny_channels_first_model():
    """A model taking (1, 28, 28) inputs that TensorFlow can run on a CPU."""
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=(1, 28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


@pytest.mark.parametrize(
    "model_factory",
    [tiny_mlp, tiny_cnn, tiny_channels_first_model],
    ids=["mlp", "cnn", "channels_first"],
)
def test_predict_digit_returns_ten_probabilities(model_factory):
    image = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    probabilities = drawing.predict_digit(model_factory(), image)
    assert probabilities.shape == (10,)
    assert probabilities.min() >= 0.0
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)


def test_predict_digit_matches_model_predict():
    model = tiny_cnn()
    images = np.random.default_rng(1).random((3, 28, 28)).astype(np.float32)
    expected = model.predict(images[..., np.newaxis], verbose=0)
    assert np.allclose(drawing.predict_digits(model, images), expected, atol=1e-5)


def test_predict_digit_linear_output_gets_softmax():
    image = np.random.default_rng(2).random((28, 28)).astype(np.float32)
    probabilities = drawing.predict_digit(tiny_cnn(output_activation="linear"), image)
    assert probabilities.min() >= 0.0
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)


def test_predict_digit_channels_first_matches_last():
    last = tiny_cnn("channels_last")
    first = tiny_cnn("channels_first")
    # Same weights: the kernels do not depend on where the channel axis sits.
    first.set_weights(last.get_weights())
    image = np.random.default_rng(3).random((28, 28)).astype(np.float32)
    expected = drawing.predict_digit(last, image)
    np.testing.assert_allclose(drawing.predict_digit(first, image), expected, atol=1e-5)


def test_predict_digits_rejects_other_input_size():
    import keras

    model = keras.Sequential([keras.Input(shape=(100,)), keras.layers.Dense(10)])
    with pytest.raises(drawing.PredictionError, match="not a 28x28 image"):
        drawing.predict_digit(model, np.zeros((28, 28), np.float32))


def test_shipped_cnn_reads_redrawn_mnist_digits():
    if not SHIPPED_CNN_PATH.exists():
        pytest.skip(f"the shipped CNN {SHIPPED_CNN_PATH} is not in this checkout")
    model, _ = load_model(SHIPPED_CNN_PATH)
    dataset = load_from_path(SAMPLE_PATH)
    rng = np.random.default_rng(0)

    framed = []
    for image in dataset.x_test:
        side = int(rng.integers(84, drawing.CANVAS_SIDE + 1))
        top = int(rng.integers(0, drawing.CANVAS_SIDE - side + 1))
        left = int(rng.integers(0, drawing.CANVAS_SIDE - side + 1))
        canvas = drawing.render_on_canvas(image, side, top, left)
        framed.append(drawing.preprocess_image(canvas).framed)
    probabilities = drawing.predict_digits(model, np.stack(framed))

    accuracy = float(np.mean(probabilities.argmax(axis=1) == dataset.y_test))
    assert accuracy >= 0.97, f"accuracy on redrawn digits {accuracy:.4f}"


def test_read_upload_black_on_white_png():
    coverage = draw_coverage(*STROKES["seven_top_left"])
    reference = drawing.preprocess_image(paint(coverage, "white_on_black"))
    upload = encode(Image.fromarray(paint(coverage, "grey_black_on_white")), "PNG")
    steps = drawing.preprocess_image(drawing.read_upload(upload))
    assert np.allclose(steps.framed, reference.framed, atol=1e-5)


def test_read_upload_colour_jpeg():
    coverage = draw_coverage(*STROKES["zero_off_centre"])
    # Dark blue ink on pale yellow paper, saved lossy.
    paper = np.array([250, 240, 200], np.float32)
    ink_colour = np.array([20, 30, 120], np.float32)
    pixels = paper + coverage[..., np.newaxis] * (ink_colour - paper)
    upload = encode(Image.fromarray(pixels.astype(np.uint8)), "JPEG")
    steps = drawing.preprocess_image(drawing.read_upload(upload))
    reference = drawing.preprocess_image(paint(coverage, "white_on_black"))

    # JPEG's blur may move the crop by a pixel, and the frame with it.
    height_change, width_change = np.subtract(
        steps.cropped.shape, reference.cropped.shape
    )
    assert abs(height_change) <= 2
    assert abs(width_change) <= 2
    differences = [
        np.abs(np.roll(steps.framed, (rows, columns), axis=(0, 1)) - reference.framed)
        for rows in (-1, 0, 1)
        for columns in (-1, 0, 1)
    ]
    assert min(difference.mean() for difference in differences) < 0.05


def test_read_upload_shrinks_large_image():
    image = Image.new("L", (3000, 2000), 255)
    pixels = drawing.read_upload(encode(image, "PNG"))
    assert max(pixels.shape[:2]) == drawing.MAX_WORKING_SIDE


def test_read_upload_sixteen_bit_png():
    coverage = draw_coverage(*STROKES["one_far_right"])
    deep = Image.fromarray((coverage * 65535).astype(np.uint16))
    steps = drawing.preprocess_image(drawing.read_upload(encode(deep, "PNG")))
    reference = drawing.preprocess_image(paint(coverage, "white_on_black"))
    assert np.abs(steps.framed - reference.framed).max() < 0.02


def test_read_upload_rejects_text_file():
    with pytest.raises(drawing.UploadError, match="not a PNG or JPEG"):
        drawing.read_upload(b"this is a text file, not a picture\n" * 10)


def test_read_upload_rejects_other_image_format():
    gif = encode(Image.new("L", (28, 28)), "GIF")
    with pytest.raises(drawing.UploadError, match="not a PNG or JPEG"):
        drawing.read_upload(gif)


def test_read_upload_rejects_too_many_bytes():
    too_large = b"\x89PNG\r\n\x1a\n" + bytes(drawing.MAX_UPLOAD_BYTES)
    with pytest.raises(drawing.UploadError, match="at most"):
        drawing.read_upload(too_large)


@pytest.mark.parametrize(
    "side",
    [5000, 10_000, 20_000],
    ids=["over_upload_limit", "pillow_warning", "pillow_error"],
)
def test_read_upload_rejects_decompression_bomb(side):
    bomb = png_bytes(side, side)
    assert len(bomb) < 1000
    with pytest.raises(drawing.UploadError, match="pixels"):
        drawing.read_upload(bomb)


def test_read_upload_rejects_empty_file():
    with pytest.raises(drawing.UploadError, match="empty"):
        drawing.read_upload(b"")


@pytest.mark.parametrize("size", [(0, 0), (0, 28)], ids=["zero_by_zero", "zero_wide"])
def test_read_upload_rejects_zero_size_image(size):
    with pytest.raises(drawing.UploadError):
        drawing.read_upload(png_bytes(*size))


def test_read_upload_rejects_truncated_png():
    truncated = encode(Image.new("L", (64, 64), 255), "PNG")[:60]
    with pytest.raises(drawing.UploadError):
        drawing.read_upload(truncated)
