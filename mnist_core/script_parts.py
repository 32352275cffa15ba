"""Fixed pieces of the scripts that `mnist_core.codegen` writes.

Each image operation is a NumPy function `operate(images, rng)` on uint8
images (num_samples, 28, 28) that matches `mnist_core.operations`; rotation
samples bilinearly about the image centre as Pillow's `Image.rotate` does.
"""

from __future__ import annotations

DATA_LINES = [
    "# Load MNIST: from a .npz file in Keras's layout when one is named on the",
    "# command line or in MNIST_NPZ, else with Keras's own download.",
    'npz_path = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MNIST_NPZ")',
    "if npz_path:",
    "    with np.load(npz_path) as data:",
    '        x_train, y_train = data["x_train"], data["y_train"]',
    '        x_test, y_test = data["x_test"], data["y_test"]',
    "else:",
    "    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()",
    "if train_limit is not None:",
    "    x_train, y_train = x_train[:train_limit], y_train[:train_limit]",
    "",
]

# The line `validation_split = ...` goes after the first line.
SPLIT_LINES = [
    "# Hold out a random share of the training images for validation.",
    "order = np.random.default_rng(seed + 2).permutation(len(x_train))",
    "num_validation = max(1, int(round(validation_split * len(x_train))))",
    "validation_index = np.sort(order[:num_validation])",
    "train_index = np.sort(order[num_validation:])",
    "x_val, y_val = x_train[validation_index], y_train[validation_index]",
    "x_train, y_train = x_train[train_index], y_train[train_index]",
    "",
]

OPERATION_FUNCTIONS = {
    "flip_horizontal": '''def operate(images, rng):
    """Mirror each image left to right."""
    return images[:, :, ::-1]''',
    "flip_vertical": '''def operate(images, rng):
    """Mirror each image top to bottom."""
    return images[:, ::-1, :]''',
    "invert": '''def operate(images, rng):
    """Swap ink and background."""
    return 255 - images''',
    "noise": '''def operate(images, rng):
    """Add Gaussian noise of noise_std, clipped back to 0..255."""
    noise = rng.normal(0.0, noise_std * 255.0, size=images.shape)
    return np.clip(images + noise, 0, 255).round().astype(np.uint8)''',
    "shift": '''def operate(images, rng):
    """Move each image shift_pixels right and down (negative: left and up)."""
    shifted = np.zeros_like(images)
    size = images.shape[1]
    pixels = shift_pixels
    if abs(pixels) >= size:
        return shifted
    if pixels >= 0:
        shifted[:, pixels:, pixels:] = images[:, : size - pixels, : size - pixels]
    else:
        shifted[:, :pixels, :pixels] = images[:, -pixels:, -pixels:]
    return shifted''',
    "rotate": '''def operate(images, rng):
    """Rotate each image angle degrees counter-clockwise (bilinear, zero-filled)."""
    size = images.shape[1]
    center = (size - 1) / 2
    theta = np.deg2rad(angle)
    rows, cols = np.mgrid[0:size, 0:size]
    # Where each output pixel comes from in the input image.
    source_x = np.cos(theta) * (cols - center) - np.sin(theta) * (rows - center)
    source_y = np.sin(theta) * (cols - center) + np.cos(theta) * (rows - center)
    x0 = np.floor(source_x + center).astype(int)
    y0 = np.floor(source_y + center).astype(int)
    fx = source_x + center - x0
    fy = source_y + center - y0

    def pixel(y, x):
        inside = (y >= 0) & (y < size) & (x >= 0) & (x < size)
        values = images[:, y.clip(0, size - 1), x.clip(0, size - 1)]
        return np.where(inside, values, 0)

    rotated = (
        pixel(y0, x0) * (1 - fy) * (1 - fx)
        + pixel(y0, x0 + 1) * (1 - fy) * fx
        + pixel(y0 + 1, x0) * fy * (1 - fx)
        + pixel(y0 + 1, x0 + 1) * fy * fx
    )
    return rotated.round().clip(0, 255).astype(np.uint8)''',
}


def header_lines(architecture: str) -> list[str]:
    """Return the docstring and imports that start every script."""
    name = "MLP" if architecture == "mlp" else "CNN"
    return [
        f'"""Train the Keras MNIST tutorial\'s {name} with one run\'s settings.',
        "",
        "Written by MNIST Explorer. Lines that end in '# changed' differ from the",
        "tutorial's model. Run it with",
        "",
        f"    python mnist_{architecture}.py [path/to/mnist.npz]",
        "",
        "Without a path (or the MNIST_NPZ environment variable) Keras downloads",
        "MNIST once and keeps it in ~/.keras/datasets.",
        '"""',
        "",
        "import os",
        "import sys",
        "",
        "import keras",
        "import numpy as np",
        "",
    ]
