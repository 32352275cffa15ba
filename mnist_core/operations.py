"""Image operations for Exercise 2: flips, rotation, shift, noise, inversion.

Each operation maps uint8 images (num_samples, 28, 28) to uint8 images of the
same shape, so operated data costs no more memory than the original.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from mnist_core.config import ImageOperation


def flip_horizontal(images: np.ndarray) -> np.ndarray:
    """Mirror each image left to right."""
    return images[:, :, ::-1].copy()


def flip_vertical(images: np.ndarray) -> np.ndarray:
    """Mirror each image top to bottom."""
    return images[:, ::-1, :].copy()


def rotate(images: np.ndarray, angle: float) -> np.ndarray:
    """Rotate each image by `angle` degrees counter-clockwise about its centre."""
    rotated = [
        np.asarray(Image.fromarray(image).rotate(angle, resample=Image.BILINEAR))
        for image in images
    ]
    return np.stack(rotated) if rotated else images.copy()


def shift(images: np.ndarray, pixels: int) -> np.ndarray:
    """Move each image `pixels` right and down (negative: left and up), zero-filled."""
    shifted = np.zeros_like(images)
    size = images.shape[1]
    if abs(pixels) >= size:
        return shifted
    if pixels >= 0:
        shifted[:, pixels:, pixels:] = images[:, : size - pixels, : size - pixels]
    else:
        shifted[:, :pixels, :pixels] = images[:, -pixels:, -pixels:]
    return shifted


def add_noise(images: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """Add Gaussian noise of `std` (on the 0..1 scale), clipped back to 0..255."""
    noise = rng.normal(0.0, std * 255.0, size=images.shape)
    return np.clip(images + noise, 0, 255).round().astype(np.uint8)


def invert(images: np.ndarray) -> np.ndarray:
    """Swap ink and background: 255 - pixel."""
    return 255 - images


def apply_to_all(
    images: np.ndarray, operation: ImageOperation, rng: np.random.Generator
) -> np.ndarray:
    """Apply `operation` to every image in `images`."""
    name = operation.name
    if name == "flip_horizontal":
        return flip_horizontal(images)
    if name == "flip_vertical":
        return flip_vertical(images)
    if name == "rotate":
        return rotate(images, operation.angle)
    if name == "shift":
        return shift(images, operation.shift_pixels)
    if name == "noise":
        return add_noise(images, operation.noise_std, rng)
    if name == "invert":
        return invert(images)
    return images.copy()


def choose_share(
    num_samples: int, share: float, rng: np.random.Generator
) -> np.ndarray:
    """Return a boolean mask selecting round(share * num_samples) images at random."""
    mask = np.zeros(num_samples, dtype=bool)
    count = int(round(share * num_samples))
    if count:
        mask[rng.choice(num_samples, size=count, replace=False)] = True
    return mask


def apply_operation(
    images: np.ndarray, operation: ImageOperation, share: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Apply `operation` to a random `share` of `images`, chosen with `seed`.

    Returns the new images and the boolean mask of the operated ones. The same
    seed picks the same images; the input array is never modified.
    """
    rng = np.random.default_rng(seed)
    mask = choose_share(len(images), share, rng)
    if operation.name == "none" or not mask.any():
        return images, mask
    result = images.copy()
    result[mask] = apply_to_all(images[mask], operation, rng)
    return result, mask
