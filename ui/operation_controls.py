"""The image operation of Exercise 2: its knobs and a before-and-after preview."""

from __future__ import annotations

import numpy as np
import streamlit as st

from mnist_core.config import IMAGE_OPERATIONS, ImageOperation, RunConfig
from mnist_core.operations import apply_operation
from ui.config_state import PageKeys
from ui.data_access import get_dataset
from ui.knob_controls import seed_widget, select

OPERATION_LABELS = {
    "none": "none",
    "flip_horizontal": "flip left to right",
    "flip_vertical": "flip upside down",
    "rotate": "rotate",
    "shift": "shift",
    "noise": "add noise",
    "invert": "invert (white background)",
}
# Images the preview draws its examples from, and how many pairs it shows.
PREVIEW_POOL = 200
PREVIEW_COUNT = 8
PREVIEW_WIDTH = 56  # pixels on screen per 28-pixel image


def _share_slider(label: str, value: float, key: str, help: str) -> float:
    seed_widget(key, float(value))
    return float(
        st.slider(label, min_value=0.0, max_value=1.0, step=0.01, key=key, help=help)
    )


def image_operation_controls(config: RunConfig, keys: PageKeys) -> ImageOperation:
    """Draw the operation, its shares and its parameter; return the operation."""
    operation = config.image_operation
    name = select(
        "Operation",
        IMAGE_OPERATIONS,
        operation.name,
        keys.widget("operation"),
        help="A change applied to a random share of the images, chosen with "
        "the run's seed",
        format_func=OPERATION_LABELS.get,
    )
    if name == "none":
        return ImageOperation()
    train_share = _share_slider(
        "Share of training images",
        operation.train_share,
        keys.widget("train_share"),
        help="Share of the training images the operation changes",
    )
    test_share = _share_slider(
        "Share of test images",
        operation.test_share,
        keys.widget("test_share"),
        help="Share of the test images the operation changes",
    )
    details = {}
    if name == "rotate":
        seed_widget(keys.widget("angle"), float(operation.angle))
        details["angle"] = st.slider(
            "Angle",
            -360.0,
            360.0,
            step=5.0,
            key=keys.widget("angle"),
            help="Degrees, counter-clockwise",
        )
    elif name == "shift":
        seed_widget(keys.widget("shift_pixels"), operation.shift_pixels)
        details["shift_pixels"] = st.slider(
            "Shift",
            -27,
            27,
            key=keys.widget("shift_pixels"),
            help="Pixels right and down; negative moves left and up",
        )
    elif name == "noise":
        seed_widget(keys.widget("noise_std"), float(operation.noise_std))
        details["noise_std"] = st.slider(
            "Noise",
            0.0,
            2.0,
            step=0.05,
            key=keys.widget("noise_std"),
            help="Standard deviation of the Gaussian noise, on the 0..1 pixel scale",
        )
    return ImageOperation(name, train_share, test_share, **details)


def show_operation_preview(config: RunConfig) -> None:
    """Show a few images the operation changes, before and after."""
    operation = config.image_operation
    if not operation.active:
        return
    dataset, _ = get_dataset()
    # The same share and seed as the run (the test set's seed is one higher),
    # applied to the first PREVIEW_POOL images.
    if operation.train_share > 0:
        kind, share, seed = "training", operation.train_share, config.seed
        images, labels = dataset.x_train, dataset.y_train
    else:
        kind, share, seed = "test", operation.test_share, config.seed + 1
        images, labels = dataset.x_test, dataset.y_test
    images = images[:PREVIEW_POOL]
    changed, mask = apply_operation(images, operation, share, seed=seed)
    chosen = np.flatnonzero(mask)[:PREVIEW_COUNT]
    with st.expander("Preview of the image operation", expanded=True):
        if not len(chosen):
            st.caption(
                f"The share is too small to change any of the first "
                f"{PREVIEW_POOL} {kind} images."
            )
            return
        st.caption(
            f"{int(mask.sum())} of the first {PREVIEW_POOL} {kind} images "
            f"change; {len(chosen)} of them, before (top) and after (bottom)."
        )
        captions = [f"label {labels[index]}" for index in chosen]
        st.image(list(images[chosen]), caption=captions, width=PREVIEW_WIDTH)
        st.image(list(changed[chosen]), width=PREVIEW_WIDTH)
