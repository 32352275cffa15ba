"""Sidebar widgets both training pages share: sizes, optimizer and training knobs.

Every widget has a key under the page's widget prefix and takes its first
value from the stored config (`seed_widget`), never from a `value=` argument,
so a preset or a link can replace the values by deleting the keys.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from mnist_core.config import (
    KERAS_DEFAULT_LEARNING_RATES,
    MAX_BATCH_SIZE,
    MAX_EPOCHS,
    OPTIMIZERS,
    TUTORIAL_ERA_LEARNING_RATES,
    RunConfig,
    default_learning_rate,
)
from ui.config_state import PageKeys

OPTIMIZER_LABELS = {
    "rmsprop": "RMSprop",
    "sgd": "SGD with momentum",
    "adam": "Adam",
    "adadelta": "Adadelta",
    "adagrad": "Adagrad",
}
PRECISION_LABELS = {
    "auto": "auto: bfloat16 where fast",
    "float32": "float32, as in the tutorial",
    "mixed_bfloat16": "mixed bfloat16",
}
VALIDATION_LABELS = {
    "test": "The test set, as in the tutorial",
    "split": "A held-out share of the training images",
}
# Measured effect of the learning-rate change, per optimizer.
LEARNING_RATE_EFFECTS = {
    "adadelta": (
        "With 0.001 the tutorial's CNN ends its 12 epochs near 83% test "
        "accuracy instead of 99% (measured on the full MNIST with Keras 3.15)."
    ),
    "adagrad": "The smaller rate makes each step ten times shorter.",
}


def seed_widget(key: str, value: Any) -> None:
    """Give the widget `key` its starting value unless it already has one."""
    if key not in st.session_state:
        st.session_state[key] = value


def _copy_shortcut(shortcut_key: str, number_key: str) -> None:
    choice = st.session_state.get(shortcut_key)
    if choice is not None:
        st.session_state[number_key] = choice


def number_with_shortcuts(
    label: str,
    shortcuts: Sequence[int],
    value: int,
    key: str,
    max_value: int,
    help: str,
    format_shortcut: Callable[[int], str] = str,
) -> int:
    """Draw one-click values (pills) above a number input; return the number."""
    shortcut_key = f"{key}.shortcut"
    seed_widget(key, value)
    current = st.session_state[key]
    st.session_state[shortcut_key] = current if current in shortcuts else None
    st.pills(
        label,
        shortcuts,
        format_func=format_shortcut,
        key=shortcut_key,
        on_change=_copy_shortcut,
        args=(shortcut_key, key),
        help=help,
    )
    number = st.number_input(
        f"{label}, any value",
        min_value=1,
        max_value=max_value,
        step=1,
        key=key,
        label_visibility="collapsed",
    )
    return int(number)


def select(
    label: str,
    options: Sequence[str],
    value: str,
    key: str,
    help: str,
    **arguments: Any,
) -> str:
    """Draw a select box seeded with `value`; a value not offered becomes the first."""
    seed_widget(key, value)
    if st.session_state[key] not in options:
        st.session_state[key] = options[0]
    return st.selectbox(label, options, key=key, help=help, **arguments)


def rate_slider(label: str, value: float, key: str, help: str) -> float:
    """Draw a 0..0.95 slider for a dropout rate or an image share."""
    seed_widget(key, float(value))
    return float(
        st.slider(label, min_value=0.0, max_value=0.95, step=0.01, key=key, help=help)
    )


def _reset_learning_rate(keys: PageKeys) -> None:
    optimizer = st.session_state[keys.widget("optimizer")]
    st.session_state[keys.widget("learning_rate")] = default_learning_rate(optimizer)


def _set_learning_rate(keys: PageKeys, rate: float) -> None:
    st.session_state[keys.widget("learning_rate")] = rate


def learning_rate_note(keys: PageKeys, optimizer: str) -> None:
    """Explain where the tutorial-era and today's default learning rates differ."""
    today = KERAS_DEFAULT_LEARNING_RATES[optimizer]
    if optimizer not in TUTORIAL_ERA_LEARNING_RATES:
        st.caption(f"Keras's default learning rate for {optimizer}: {today:g}.")
        return
    era = TUTORIAL_ERA_LEARNING_RATES[optimizer]
    st.caption(
        f"The tutorial's Keras (2.1, 2018) started {OPTIMIZER_LABELS[optimizer]} "
        f"at {era:g}; Keras has defaulted to {today:g} since TensorFlow 2. "
        + LEARNING_RATE_EFFECTS[optimizer]
        + f" This page starts at {default_learning_rate(optimizer):g}."
    )
    tutorial_column, today_column = st.columns(2)
    tutorial_column.button(
        f"Use {era:g}",
        key=keys.widget("learning_rate.tutorial"),
        help="The tutorial-era default",
        on_click=_set_learning_rate,
        args=(keys, era),
    )
    today_column.button(
        f"Use {today:g}",
        key=keys.widget("learning_rate.today"),
        help="Today's Keras default",
        on_click=_set_learning_rate,
        args=(keys, today),
    )


def optimizer_controls(config: RunConfig, keys: PageKeys) -> dict[str, Any]:
    """Draw the optimizer, its learning rate and momentum; return the fields."""
    optimizer = select(
        "Optimizer",
        OPTIMIZERS,
        config.optimizer,
        keys.widget("optimizer"),
        help="The algorithm that updates the weights after each batch",
        format_func=OPTIMIZER_LABELS.get,
        on_change=_reset_learning_rate,
        args=(keys,),
    )
    seed_widget(keys.widget("learning_rate"), float(config.learning_rate))
    learning_rate = st.number_input(
        "Learning rate",
        min_value=1e-7,
        max_value=100.0,
        step=0.0001,
        format="%g",
        key=keys.widget("learning_rate"),
        help="How far each update moves the weights; changes with the optimizer",
    )
    learning_rate_note(keys, optimizer)
    momentum = config.momentum
    if optimizer == "sgd":
        seed_widget(keys.widget("momentum"), float(config.momentum))
        momentum = st.number_input(
            "Momentum",
            min_value=0.0,
            max_value=0.999,
            step=0.1,
            key=keys.widget("momentum"),
            help="Share of the previous update added to the next one (SGD only)",
        )
    return {
        "optimizer": optimizer,
        "learning_rate": float(learning_rate),
        "momentum": float(momentum),
    }


def _whole_number(label: str, value: int | None, key: str, **arguments: Any):
    seed_widget(key, value)
    number = st.number_input(label, step=1, key=key, **arguments)
    return None if number is None else int(number)


def training_controls(config: RunConfig, keys: PageKeys) -> dict[str, Any]:
    """Draw batch size, epochs, data size, seed, validation and speed knobs."""
    fields = {
        "batch_size": _whole_number(
            "Batch size",
            config.batch_size,
            keys.widget("batch_size"),
            min_value=1,
            max_value=MAX_BATCH_SIZE,
            help="Images per weight update",
        ),
        "epochs": _whole_number(
            "Epochs",
            config.epochs,
            keys.widget("epochs"),
            min_value=1,
            max_value=MAX_EPOCHS,
            help="Passes over the training images",
        ),
        "train_limit": _whole_number(
            "Training images",
            config.train_limit,
            keys.widget("train_limit"),
            min_value=10,
            max_value=10_000_000,
            placeholder="all",
            help="Train on the first N training images for a quick run; "
            "empty means all of them",
        ),
        "seed": _whole_number(
            "Random seed",
            config.seed,
            keys.widget("seed"),
            min_value=0,
            max_value=2**31 - 1,
            help="Seeds the initial weights, dropout, shuffling and image choices",
        ),
    }
    fields.update(validation_controls(config, keys))
    fields.update(speed_controls(config, keys))
    return fields


def validation_controls(config: RunConfig, keys: PageKeys) -> dict[str, Any]:
    """Draw the validation mode and the held-out share; return the fields."""
    seed_widget(keys.widget("validation"), config.validation)
    validation = st.radio(
        "Validate on",
        list(VALIDATION_LABELS),
        format_func=VALIDATION_LABELS.get,
        key=keys.widget("validation"),
        help="The images the validation curve is measured on after each epoch",
    )
    validation_split = config.validation_split
    if validation == "split":
        seed_widget(keys.widget("validation_split"), float(validation_split))
        validation_split = st.slider(
            "Held-out share",
            min_value=0.01,
            max_value=0.5,
            step=0.01,
            key=keys.widget("validation_split"),
            help="Share of the training images kept out of training to validate on",
        )
    return {"validation": validation, "validation_split": float(validation_split)}


def speed_controls(config: RunConfig, keys: PageKeys) -> dict[str, Any]:
    """Draw the precision and batches per step; return the fields."""
    precision = select(
        "Precision",
        list(PRECISION_LABELS),
        config.precision,
        keys.widget("precision"),
        help="Number format of the hidden layers' computations. Auto picks "
        "mixed bfloat16 only on CPUs and GPUs with fast bfloat16 instructions, "
        "where it is faster; elsewhere it is slower than float32. The output "
        "layer always computes in float32",
        format_func=PRECISION_LABELS.get,
    )
    steps_per_execution = _whole_number(
        "Batches per step",
        config.steps_per_execution,
        keys.widget("steps_per_execution"),
        min_value=1,
        max_value=1000,
        placeholder="auto",
        help="Batches Keras runs per Python round trip (steps_per_execution). "
        "More is faster for small models but updates progress and checks for "
        "Stop less often. Empty: 4 for models with cheap batches, such as the "
        "tutorial's MLP, and 1 for the others",
    )
    if precision == "float32" and steps_per_execution == 1:
        st.caption("Speed settings as in the tutorial.")
    return {"precision": precision, "steps_per_execution": steps_per_execution}
