"""Train one model from a config and return its run record.

`train_model` runs in the calling thread. The app calls it inside worker
processes (see `mnist_core.jobs`); the command line and the tests call it
directly. Images stay uint8 until each batch is scaled, so a run holds no
float32 copy of the training set.
"""

from __future__ import annotations

import datetime
import logging
import math
import platform
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mnist_core import hardware
from mnist_core.architecture import count_macs, describe_architecture
from mnist_core.config import NUM_CLASSES, RunConfig, config_to_dict
from mnist_core.data import Dataset
from mnist_core.models import build_model, compile_model, input_shape_for
from mnist_core.operations import apply_operation

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[dict[str, Any]], None]
StopCheck = Callable[[], bool]
# Seconds between two batch-level progress reports; epoch ends always report.
BATCH_REPORT_INTERVAL = 0.25


@dataclass
class PreparedData:
    """Images (uint8) and labels of one run, after its image operation."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_validation: np.ndarray
    y_validation: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_operated: np.ndarray  # boolean mask over the test images
    num_train_operated: int


def prepare_data(config: RunConfig, dataset: Dataset) -> PreparedData:
    """Apply the training-set limit, the image operation and the validation mode."""
    x_train = dataset.x_train
    y_train = dataset.y_train
    if config.train_limit is not None:
        x_train = x_train[: config.train_limit]
        y_train = y_train[: config.train_limit]

    operation = config.image_operation
    x_train, train_mask = apply_operation(
        x_train, operation, operation.train_share, seed=config.seed
    )
    x_test, test_mask = apply_operation(
        dataset.x_test, operation, operation.test_share, seed=config.seed + 1
    )

    if config.validation == "split":
        order = np.random.default_rng(config.seed + 2).permutation(len(x_train))
        num_validation = max(1, int(round(config.validation_split * len(x_train))))
        validation_index = np.sort(order[:num_validation])
        train_index = np.sort(order[num_validation:])
        x_validation = x_train[validation_index]
        y_validation = y_train[validation_index]
        x_train = x_train[train_index]
        y_train = y_train[train_index]
    else:
        x_validation = x_test
        y_validation = dataset.y_test

    return PreparedData(
        x_train=x_train,
        y_train=y_train,
        x_validation=x_validation,
        y_validation=y_validation,
        x_test=x_test,
        y_test=dataset.y_test,
        test_operated=test_mask,
        num_train_operated=int(train_mask.sum()),
    )


def _pipeline_options():
    """tf.data options for the in-memory pipelines below.

    Keras turns the default graph rewrites off for NumPy input too. They run
    at every new iterator, and model.fit makes at least one per epoch. On the
    full training set they added about a third to the pipeline's CPU time.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_optimization.apply_default_optimizations = False
    return options


def _shuffled_batch_indices(num_samples: int, batch_size: int, seed: int):
    """Return a dataset of index batches, in a new random order each epoch.

    The order is drawn once per epoch as a whole permutation and cut into
    batches, as Keras does for NumPy input. A shuffle buffer over single
    indices took twice the CPU time per epoch (0.25 s against 0.12 s for
    60,000 images on 2 AMD EPYC cores).
    """
    import tensorflow as tf

    num_full_batches = num_samples // batch_size
    num_in_full_batches = num_full_batches * batch_size

    def batches_of_permutation(epoch_key):
        # The run's seed and the epoch key fix the permutation.
        seed_pair = tf.stack([tf.constant(seed, tf.int64), epoch_key])
        order = tf.random.experimental.stateless_shuffle(
            tf.range(num_samples, dtype=tf.int64), seed=seed_pair
        )
        # (num_full_batches, batch_size), then the partial batch if any
        full = tf.reshape(order[:num_in_full_batches], (-1, batch_size))
        batches = tf.data.Dataset.from_tensor_slices(full)
        if num_samples > num_in_full_batches:
            partial = tf.data.Dataset.from_tensors(order[num_in_full_batches:])
            batches = batches.concatenate(partial)
        return batches

    # Each new iterator draws the next key of a sequence that the seed fixes.
    # NOTE: tf.random.set_seed, which keras.utils.set_random_seed calls,
    # changes that sequence; the app's processes never call it.
    epoch_keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    return epoch_keys.take(1).flat_map(batches_of_permutation)


def make_tf_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    config: RunConfig,
    shuffle: bool,
    seed: int = 0,
    batch_size: int | None = None,
):
    """Batch uint8 images into scaled, reshaped float32 inputs and one-hot targets.

    One iteration is one epoch. Only the batch at hand is scaled to float32;
    the images stay uint8. With `shuffle`, every iteration takes the images
    in a new order drawn from `seed`; without it, in their stored order.
    Batches hold `batch_size` images, the config's batch size if None.
    """
    import tensorflow as tf

    input_shape = input_shape_for(config)
    batch_size = batch_size or config.batch_size
    num_samples = len(images)
    num_batches = math.ceil(num_samples / batch_size)
    images_tensor = tf.constant(images)
    labels_tensor = tf.constant(labels.astype(np.int32))

    def scale_batch(batch_images, batch_labels):
        # (batch, 28, 28) uint8 -> (batch, *input_shape) float32 in [0, 1]
        batch_images = tf.cast(batch_images, tf.float32) / 255.0
        batch_images = tf.reshape(batch_images, (-1, *input_shape))
        return batch_images, tf.one_hot(batch_labels, NUM_CLASSES)

    def gather_batch(batch_indices):
        batch_images = tf.gather(images_tensor, batch_indices)
        return scale_batch(batch_images, tf.gather(labels_tensor, batch_indices))

    def slice_batch(start):
        end = tf.minimum(start + batch_size, num_samples)
        return scale_batch(images_tensor[start:end], labels_tensor[start:end])

    if shuffle:
        batch_indices = _shuffled_batch_indices(num_samples, batch_size, seed)
        batches = batch_indices.map(gather_batch, num_parallel_calls=tf.data.AUTOTUNE)
    else:
        starts = tf.data.Dataset.range(0, num_samples, batch_size)
        batches = starts.map(slice_batch, num_parallel_calls=tf.data.AUTOTUNE)
    # Keras reads the number of batches per epoch from the cardinality.
    batches = batches.apply(tf.data.experimental.assert_cardinality(num_batches))
    return batches.with_options(_pipeline_options()).prefetch(tf.data.AUTOTUNE)


def _make_progress_callback(
    on_progress: ProgressCallback | None,
    should_stop: StopCheck | None,
    total_epochs: int,
    steps_per_epoch: int,
):
    import keras

    class ProgressReporter(keras.callbacks.Callback):
        """Report batches and epochs, time each epoch and honour stop requests."""

        def __init__(self) -> None:
            super().__init__()
            self.epoch_seconds: list[float] = []
            self.stop_reason: str | None = None
            self.started = time.perf_counter()
            self.last_report = 0.0
            self.epoch = 0

        def _send(self, event: dict[str, Any]) -> None:
            if on_progress is not None:
                event["elapsed_seconds"] = time.perf_counter() - self.started
                on_progress(event)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            self.epoch_started = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            logs = logs or {}
            loss = float(logs.get("loss", math.nan))
            if not math.isfinite(loss):
                self.stop_reason = "nan"
                self.model.stop_training = True
            elif should_stop is not None and should_stop():
                self.stop_reason = "stopped"
                self.model.stop_training = True
            now = time.perf_counter()
            if now - self.last_report >= BATCH_REPORT_INTERVAL:
                self.last_report = now
                self._send(
                    {
                        "kind": "batch",
                        "epoch": self.epoch + 1,
                        "epochs": total_epochs,
                        # With steps_per_execution > 1 the last group of an
                        # epoch ends past its last batch.
                        "batch": min(batch + 1, steps_per_epoch),
                        "batches": steps_per_epoch,
                        "loss": loss,
                        "accuracy": float(logs.get("accuracy", math.nan)),
                    }
                )

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.epoch_started
            self.epoch_seconds.append(seconds)
            metrics = {key: float(value) for key, value in (logs or {}).items()}
            self._send(
                {
                    "kind": "epoch",
                    "epoch": epoch + 1,
                    "epochs": total_epochs,
                    "seconds": seconds,
                    "metrics": metrics,
                }
            )

    return ProgressReporter()


def _finite_or_none(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def evaluate_predictions(
    probabilities: np.ndarray, labels: np.ndarray
) -> tuple[float | None, float]:
    """Return (categorical cross-entropy as Keras computes it, accuracy)."""
    import keras

    targets = np.eye(NUM_CLASSES, dtype=np.float32)[labels.astype(np.int64)]
    losses = keras.losses.categorical_crossentropy(targets, probabilities)
    loss = float(np.mean(keras.ops.convert_to_numpy(losses)))
    accuracy = float(np.mean(np.argmax(probabilities, axis=1) == labels))
    return _finite_or_none(loss), accuracy


def predict_probabilities(model, images: np.ndarray, config: RunConfig) -> np.ndarray:
    """Return the model's (num_samples, 10) outputs for uint8 images."""
    labels = np.zeros(len(images), dtype=np.uint8)
    batch_size = hardware.resolve_evaluation_batch_size(config)
    batches = make_tf_dataset(
        images, labels, config, shuffle=False, batch_size=batch_size
    )
    inputs_only = batches.map(lambda inputs, targets: inputs)
    return np.asarray(model.predict(inputs_only, verbose=0), dtype=np.float32)


def _split_accuracy(
    probabilities: np.ndarray, labels: np.ndarray, mask: np.ndarray
) -> float | None:
    if not mask.any():
        return None
    predicted = np.argmax(probabilities[mask], axis=1)
    return float(np.mean(predicted == labels[mask]))


def _library_versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def _history_dict(history) -> dict[str, list[float | None]]:
    return {
        key: [_finite_or_none(value) for value in values]
        for key, values in history.history.items()
    }


def median_epoch_seconds(epoch_seconds: list[float]) -> float | None:
    """Median seconds per epoch, leaving out the first (it includes graph tracing)."""
    if not epoch_seconds:
        return None
    later = epoch_seconds[1:] or epoch_seconds
    return float(statistics.median(later))


def train_model(
    config: RunConfig,
    dataset: Dataset,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
):
    """Build, compile, fit and evaluate the config's model.

    `on_progress` receives plain dicts: {"kind": "batch", ...} about every
    BATCH_REPORT_INTERVAL seconds and {"kind": "epoch", ...} after each
    epoch. `should_stop` is polled after every batch (every
    steps_per_execution batches); when it returns True, training ends after
    that batch and the model is still evaluated. Returns (record, model).
    """
    started_at = datetime.datetime.now(datetime.UTC)
    start = time.perf_counter()
    precision = hardware.resolve_precision(config.precision)
    steps_per_execution = hardware.resolve_steps_per_execution(config)

    data = prepare_data(config, dataset)
    model = build_model(config, dtype=precision)
    compile_model(model, config, steps_per_execution=steps_per_execution)
    train_batches = make_tf_dataset(
        data.x_train, data.y_train, config, shuffle=True, seed=config.seed
    )
    validation_batches = make_tf_dataset(
        data.x_validation,
        data.y_validation,
        config,
        shuffle=False,
        batch_size=hardware.resolve_evaluation_batch_size(config),
    )
    steps_per_epoch = math.ceil(len(data.x_train) / config.batch_size)
    reporter = _make_progress_callback(
        on_progress, should_stop, config.epochs, steps_per_epoch
    )

    history = model.fit(
        train_batches,
        epochs=config.epochs,
        validation_data=validation_batches,
        callbacks=[reporter],
        shuffle=False,  # train_batches is already shuffled each epoch
        verbose=0,
    )
    training_seconds = time.perf_counter() - start

    probabilities = predict_probabilities(model, data.x_test, config)
    test_loss, test_accuracy = evaluate_predictions(probabilities, data.y_test)
    record = {
        "run_id": uuid.uuid4().hex[:12],
        "model": config.architecture,
        "config": config_to_dict(config),
        "architecture_summary": [
            {
                "name": row.name,
                "layer_type": row.layer_type,
                "output_shape": list(row.output_shape),
                "num_parameters": row.num_parameters,
                "macs": row.macs,
            }
            for row in describe_architecture(config)
        ],
        "num_parameters": int(model.count_params()),
        "macs": count_macs(config),
        "data_source": {
            "kind": dataset.source.kind,
            "description": dataset.source.description,
            "fingerprint": dataset.fingerprint,
            "num_train": len(data.x_train),
            "num_validation": len(data.x_validation),
            "num_test": len(data.x_test),
        },
        "seed": config.seed,
        "validation": config.validation,
        "history": _history_dict(history),
        "epoch_seconds": list(reporter.epoch_seconds),
        "median_epoch_seconds": median_epoch_seconds(reporter.epoch_seconds),
        "training_seconds": training_seconds,
        "total_seconds": time.perf_counter() - start,
        "test_loss": test_loss,
        "test_accuracy": test_accuracy,
        "image_operation": {
            "num_train_operated": data.num_train_operated,
            "num_test_operated": int(data.test_operated.sum()),
            "operated_test_accuracy": _split_accuracy(
                probabilities, data.y_test, data.test_operated
            ),
            "untouched_test_accuracy": _split_accuracy(
                probabilities, data.y_test, ~data.test_operated
            ),
        },
        "stopped_early": reporter.stop_reason is not None,
        "stop_reason": reporter.stop_reason,
        "epochs_completed": len(reporter.epoch_seconds),
        "precision": precision,
        "steps_per_execution": steps_per_execution,
        "threads": hardware.tensorflow_threads(),
        "devices": hardware.device_names(),
        "concurrent_trainings": 0,
        "versions": _library_versions(),
        "started_at": started_at.isoformat(timespec="seconds"),
    }
    logger.info(
        "Trained %s: test accuracy %.4f in %.1f s",
        config.architecture,
        test_accuracy,
        record["total_seconds"],
    )
    return record, model
