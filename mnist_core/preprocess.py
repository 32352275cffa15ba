"""The tutorial's preprocessing: scale to [0, 1], reshape, one-hot encode."""

from __future__ import annotations

import numpy as np

from mnist_core.config import IMAGE_SIZE, NUM_CLASSES


def scale_images(images: np.ndarray) -> np.ndarray:
    """Convert uint8 pixels 0..255 to float32 in [0, 1]."""
    return images.astype(np.float32) / 255.0


def reshape_for_mlp(images: np.ndarray) -> np.ndarray:
    """Flatten (num_samples, 28, 28) to (num_samples, 784)."""
    return images.reshape(len(images), IMAGE_SIZE * IMAGE_SIZE)


def reshape_for_cnn(
    images: np.ndarray, data_format: str = "channels_last"
) -> np.ndarray:
    """Add the channel axis: (num_samples, 28, 28, 1) or (num_samples, 1, 28, 28)."""
    if data_format == "channels_first":
        return images.reshape(len(images), 1, IMAGE_SIZE, IMAGE_SIZE)
    return images.reshape(len(images), IMAGE_SIZE, IMAGE_SIZE, 1)


def reshape_for(images: np.ndarray, architecture: str, data_format: str) -> np.ndarray:
    """Reshape (num_samples, 28, 28) images to the input the architecture takes."""
    if architecture == "mlp":
        return reshape_for_mlp(images)
    return reshape_for_cnn(images, data_format)


def one_hot(labels: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Encode integer labels as float32 one-hot rows (keras.utils.to_categorical)."""
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in 0..{num_classes - 1}")
    encoded = np.zeros((len(labels), num_classes), dtype=np.float32)
    encoded[np.arange(len(labels)), labels] = 1.0
    return encoded


def preprocess_images(
    images: np.ndarray, architecture: str, data_format: str = "channels_last"
) -> np.ndarray:
    """Scale uint8 images and reshape them for the architecture's input layer."""
    return reshape_for(scale_images(images), architecture, data_format)
