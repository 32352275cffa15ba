"""Turn a drawing or an uploaded picture into an MNIST-style 28x28 input.

MNIST's digits were cropped to their ink and scaled, with anti-aliasing,
so that the longer side is 20 pixels and the aspect ratio is kept. Each was
then placed in a 28x28 frame with its centre of mass at the centre.
`preprocess_image` repeats those steps for any picture,
whatever its colours: white ink on black, black ink on white, or ink on a
transparent background (the drawing canvas's default), where the colours
are all zero and the ink lives in the alpha channel.
"""

from __future__ import annotations

import functools
import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mnist_core.config import IMAGE_SIZE, NUM_CLASSES

# MNIST scaled each digit so that its longer side is 20 pixels.
DIGIT_BOX = 20
# The centre of mass of MNIST's digits, in pixel index coordinates: the mean
# over the bundled sample's 1,000 test images is (14.02, 14.01), one half
# pixel below and right of the geometric centre 13.5.
FRAME_CENTRE = 14.0
# Ink weaker than this share of the strongest ink counts as background, so
# that JPEG noise and faint shading widen neither the crop nor the mass.
NOISE_FLOOR = 0.15
# A picture whose strongest ink differs from the background by less than
# this (on the 0..1 scale) contains no drawing.
MIN_CONTRAST = 0.2
# Ink covering less than this share of the picture is too little to read:
# 157 fully inked pixels on a 280x280 canvas.
MIN_INK_SHARE = 0.002
CANVAS_SIDE = 280

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# Pillow decodes a PNG in full, 4 bytes a pixel: 4096 x 4096 pixels is 64 MiB.
MAX_UPLOAD_PIXELS = 4096 * 4096
# Larger uploads are shrunk to this side first; 28x28 is the goal anyway.
MAX_WORKING_SIDE = 1024
UPLOAD_FORMATS = ("PNG", "JPEG")
PREDICTION_BATCH_SIZE = 256


class UploadError(ValueError):
    """An uploaded file that cannot be read as a digit, with the reason."""


class PredictionError(ValueError):
    """A model that cannot read a 28x28 digit here, with the reason."""


@dataclass(frozen=True)
class DigitSteps:
    """Every step from a picture to the model's input, each in 0..1."""

    ink: np.ndarray  # (height, width) float32, the whole picture
    cropped: np.ndarray  # the ink's bounding box
    scaled: np.ndarray  # longer side DIGIT_BOX pixels
    framed: np.ndarray  # (28, 28) float32, centre of mass at FRAME_CENTRE


def _to_unit_range(pixels: np.ndarray) -> np.ndarray:
    if np.issubdtype(pixels.dtype, np.integer):
        return pixels.astype(np.float32) / np.iinfo(pixels.dtype).max
    return np.clip(pixels.astype(np.float32), 0.0, 1.0)


def _split_channels(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (rgb (height, width, 3), alpha (height, width)) in 0..1."""
    pixels = _to_unit_range(np.asarray(image))
    if pixels.ndim == 2:
        pixels = pixels[..., np.newaxis]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4):
        raise ValueError(
            f"a picture must be (height, width) or (height, width, 1..4 channels), "
            f"got shape {np.shape(image)}"
        )
    if min(pixels.shape[:2]) == 0:
        raise ValueError(f"a picture must not be empty, got shape {np.shape(image)}")

    num_channels = pixels.shape[2]
    has_alpha = num_channels in (2, 4)
    colour_channels = num_channels - 1 if has_alpha else num_channels
    rgb = np.repeat(pixels[..., :1], 3, axis=2)
    if colour_channels == 3:
        rgb = pixels[..., :3]
    alpha = pixels[..., -1] if has_alpha else np.ones(pixels.shape[:2], np.float32)
    return rgb, alpha


def _border(values: np.ndarray) -> np.ndarray:
    """Return the outermost ring of pixels, one row per pixel."""
    rows = [values[0], values[-1], values[:, 0], values[:, -1]]
    return np.concatenate([row.reshape(len(row), -1) for row in rows])


def read_ink(image: np.ndarray) -> np.ndarray:
    """Return a picture's ink as float32 (height, width): 0 background, 1 strongest.

    The background is what most of the border shows. On a transparent
    border, the ink is the alpha channel whatever its colour. Otherwise each
    pixel is composited over the background colour, and its ink is its
    distance from that colour. Raises ValueError for an impossible shape.
    """
    rgb, alpha = _split_channels(image)
    if np.median(_border(alpha)) < 0.5:
        ink = alpha
    else:
        background = np.median(_border(rgb), axis=0).astype(np.float32)
        # Compositing over the background scales each colour's distance from
        # it by the pixel's alpha.
        difference = (rgb - background) * alpha[..., np.newaxis]
        squared = np.einsum("ijk,ijk->ij", difference, difference)
        # Black to white is the largest distance: sqrt(3) in RGB.
        ink = np.sqrt(squared / 3.0)

    peak = float(ink.max())
    if peak < MIN_CONTRAST:
        return np.zeros(ink.shape, np.float32)
    ink = np.where(ink >= NOISE_FLOOR * peak, ink / peak, 0.0)
    return ink.astype(np.float32)


def has_enough_ink(ink: np.ndarray) -> bool:
    """Tell whether `ink` contains enough of a drawing to be read as a digit."""
    return float(ink.sum()) >= MIN_INK_SHARE * ink.size


def crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """Cut `ink` to the bounding box of its nonzero pixels."""
    rows = np.flatnonzero(ink.any(axis=1))
    columns = np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        raise ValueError("the picture contains no ink to crop")
    return ink[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]


def scale_to_box(cropped: np.ndarray, box: int = DIGIT_BOX) -> np.ndarray:
    """Resize so the longer side is `box` pixels, keeping the aspect ratio.

    Pillow's Lanczos filter anti-aliases when it shrinks. The result is
    rescaled so its strongest ink is 1, as in MNIST, where a thin stroke
    shrunk to below a pixel would otherwise fade to grey.
    """
    height, width = cropped.shape
    factor = box / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    resized = Image.fromarray(cropped.astype(np.float32)).resize(
        size, Image.Resampling.LANCZOS
    )
    scaled = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
    peak = float(scaled.max())
    return scaled / peak if peak > 0 else scaled


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """Return the (row, column) centre of mass of `image`'s pixel values."""
    rows, columns = np.indices(image.shape)
    mass = float(image.sum())
    return float((rows * image).sum()) / mass, float((columns * image).sum()) / mass


def frame_digit(scaled: np.ndarray) -> np.ndarray:
    """Place `scaled` in a 28x28 frame with its centre of mass at FRAME_CENTRE.

    The offset is rounded to whole pixels, as MNIST did, and limited so that
    the digit stays entirely inside the frame.
    """
    height, width = scaled.shape
    row, column = centre_of_mass(scaled)
    top = int(np.clip(round(FRAME_CENTRE - row), 0, IMAGE_SIZE - height))
    left = int(np.clip(round(FRAME_CENTRE - column), 0, IMAGE_SIZE - width))

    framed = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    framed[top : top + height, left : left + width] = scaled
    return framed


def preprocess_ink(ink: np.ndarray) -> DigitSteps:
    """Crop, scale and frame `ink` as MNIST did; raises ValueError if it is blank."""
    cropped = crop_to_ink(ink)
    scaled = scale_to_box(cropped)
    framed = frame_digit(scaled)
    return DigitSteps(ink=ink, cropped=cropped, scaled=scaled, framed=framed)


def preprocess_image(image: np.ndarray) -> DigitSteps | None:
    """Read a picture's ink and preprocess it; None if it has too little ink."""
    ink = read_ink(image)
    if not has_enough_ink(ink):
        return None
    return preprocess_ink(ink)


def resize_naively(ink: np.ndarray) -> np.ndarray:
    """Shrink the whole picture to 28x28 with no crop or centring, for comparison."""
    resized = Image.fromarray(ink.astype(np.float32)).resize(
        (IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BOX
    )
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def render_on_canvas(
    image: np.ndarray, side: int, top: int, left: int, canvas_side: int = CANVAS_SIDE
) -> np.ndarray:
    """Paint a greyscale image, resized to `side` pixels, on a black square canvas.

    Returns uint8 (canvas_side, canvas_side), white ink on black, the way a
    user's drawing arrives. Used to measure how well drawn digits are read.
    """
    if not 0 <= top <= canvas_side - side or not 0 <= left <= canvas_side - side:
        raise ValueError(
            f"a {side}-pixel image at ({top}, {left}) does not fit a "
            f"{canvas_side}-pixel canvas"
        )
    pixels = np.asarray(image, dtype=np.float32)
    pixels = 255.0 * pixels / max(float(pixels.max()), 1e-6)
    resized = Image.fromarray(pixels).resize((side, side), Image.Resampling.BILINEAR)

    canvas = np.zeros((canvas_side, canvas_side), np.uint8)
    painted = np.clip(np.asarray(resized), 0, 255).round().astype(np.uint8)
    canvas[top : top + side, left : left + side] = painted
    return canvas


def _check_declared_size(image: Image.Image) -> None:
    width, height = image.size
    if width == 0 or height == 0:
        raise UploadError(f"the image is {width}x{height} pixels, so it is empty")
    if width * height > MAX_UPLOAD_PIXELS:
        raise UploadError(
            f"the image is {width}x{height} pixels; at most "
            f"{MAX_UPLOAD_PIXELS:,} pixels are accepted, so shrink it first"
        )


def _open_upload(data: bytes) -> Image.Image:
    """Open and decode `data` as PNG or JPEG, refusing decompression bombs."""
    # Pillow warns above about 89 million pixels and raises above twice that;
    # the warning becomes an error here. NOTE: catch_warnings changes the
    # process-wide filters (Python 3.11), so a concurrent upload may briefly
    # see the default filter; the pixel check below still refuses it.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data), formats=UPLOAD_FORMATS)
        _check_declared_size(image)
        # For a JPEG, draft() decodes at a reduced scale, saving memory.
        image.draft("RGB", (MAX_WORKING_SIDE, MAX_WORKING_SIDE))
        image.load()
    return image


def _image_to_array(image: Image.Image) -> np.ndarray:
    """Return uint8 RGBA (height, width, 4), or float grey for 16-bit images."""
    image = ImageOps.exif_transpose(image)
    image.thumbnail((MAX_WORKING_SIDE, MAX_WORKING_SIDE), Image.Resampling.BOX)
    if image.mode.startswith("I"):
        # 16-bit greyscale PNG: values 0..65535.
        return np.asarray(image, dtype=np.float32) / 65535.0
    return np.asarray(image.convert("RGBA"))


def read_upload(data: bytes) -> np.ndarray:
    """Decode an uploaded PNG or JPEG into pixels `read_ink` accepts.

    Raises UploadError, with a message for the user, for an empty file, a
    file over MAX_UPLOAD_BYTES, one that is not a PNG or JPEG image and a
    damaged image. It also raises for an image over MAX_UPLOAD_PIXELS, since
    a decompression bomb declares a huge size in a small file.
    """
    if len(data) == 0:
        raise UploadError("the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(
            f"the file has {len(data):,} bytes; at most {MAX_UPLOAD_BYTES:,} "
            "are accepted"
        )
    try:
        image = _open_upload(data)
        return _image_to_array(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UploadError(
            f"the image declares too many pixels to decode safely ({error})"
        ) from error
    except UnidentifiedImageError as error:
        raise UploadError("the file is not a PNG or JPEG image") from error
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        raise UploadError(f"the image could not be decoded ({error})") from error


def _as_probabilities(outputs: np.ndarray) -> np.ndarray:
    """Return `outputs` if each row is a distribution, else their softmax."""
    is_distribution = np.all(outputs >= 0) and np.allclose(
        outputs.sum(axis=1), 1.0, atol=1e-3
    )
    if is_distribution:
        return outputs
    shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@functools.lru_cache(maxsize=4)
def _compiled_call(model):
    """Return the model's forward pass compiled by XLA, built once per model.

    TensorFlow 2.21's CPU Conv2D kernel runs only channels_last, but XLA
    runs channels_first too. The cache keeps the last few models, so that a
    drawing compiles once rather than at every stroke.
    """
    import tensorflow as tf

    return tf.function(functools.partial(model, training=False), jit_compile=True)


def _call_model(model, batch: np.ndarray):
    import tensorflow as tf

    from mnist_core.inspection import needs_xla

    try:
        # XLA runs on a GPU too, as for the inside page's ModelInspector.
        if needs_xla(model):
            return _compiled_call(model)(batch)
        return model(batch, training=False)
    except tf.errors.UnimplementedError as error:
        reason = error.message.strip().splitlines()[0]
        raise PredictionError(
            f"TensorFlow cannot run this model on this machine: {reason}"
        ) from error


def predict_digits(model, images: np.ndarray) -> np.ndarray:
    """Return (num_samples, 10) probabilities for (num_samples, 28, 28) images.

    Reads the model's input shape, so MLPs (784) and CNNs (28, 28, 1 or
    1, 28, 28) both work. Calls the model directly, which for a handful of
    images is several times faster than `model.predict`. A model whose
    output layer is not a softmax gets a softmax of its outputs. Raises
    PredictionError for a model that does not take one 28x28 image or
    return 10 outputs, or that TensorFlow cannot run on this machine.
    """
    import keras

    input_shape = tuple(model.input_shape[1:])
    if math.prod(input_shape) != IMAGE_SIZE * IMAGE_SIZE:
        raise PredictionError(
            f"the model takes inputs of shape {input_shape}, not a 28x28 image"
        )
    inputs = np.asarray(images, np.float32).reshape((-1, *input_shape))

    batches = []
    for start in range(0, len(inputs), PREDICTION_BATCH_SIZE):
        batch = inputs[start : start + PREDICTION_BATCH_SIZE]
        outputs = _call_model(model, batch)
        batches.append(keras.ops.convert_to_numpy(outputs).astype(np.float32))
    outputs = np.concatenate(batches).reshape(len(inputs), -1)
    if outputs.shape[1] != NUM_CLASSES:
        raise PredictionError(f"the model has {outputs.shape[1]} outputs, not 10")
    return _as_probabilities(outputs)


def predict_digit(model, image: np.ndarray) -> np.ndarray:
    """Return the 10 probabilities `model` gives one (28, 28) image."""
    return predict_digits(model, image[np.newaxis])[0]
