"""Compare input pipelines and batches per round trip inside one process.

Run from the repository root:

    python benchmarks/bench_pipeline.py pipeline
    python benchmarks/bench_pipeline.py steps --model mlp --reps 6

`pipeline` iterates one epoch of training batches through four pipelines,
alternating them: Keras's own pipeline for NumPy arrays (what model.fit
builds from float32 arrays), mnist_core.training.make_tf_dataset, the same
with tf.data's default graph rewrites, and a shuffle buffer over single
indices. It reports the wall and CPU seconds per epoch of the pipeline alone.

`steps` trains the same model one epoch at a time, alternating plain Keras
on float32 arrays with mnist_core's pipeline at each precision in
--precisions and each steps_per_execution in --steps, and reports the median
wall and CPU seconds per epoch. The mnist_core side validates in the batches
that train_model uses. Alternating epochs inside one process puts the load
from other processes on every setting alike. On a shared machine, compare
the CPU seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

# Hide TensorFlow's C++ notes, among them one per epoch for "with rewrites",
# which changes an option that make_tf_dataset sets.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Python puts this script's folder on sys.path; mnist_core lives one up.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from bench_training import DEFAULT_DATA  # noqa: E402

NUM_CLASSES = 10
# Short names for the table's setting column.
PRECISION_NAMES = {"float32": "f32", "mixed_bfloat16": "bf16"}


def _timed(function) -> tuple[float, float]:
    """Run `function`; return its (wall seconds, CPU seconds of this process)."""
    wall_started = time.perf_counter()
    cpu_started = time.process_time()
    function()
    return time.perf_counter() - wall_started, time.process_time() - cpu_started


def _float32_arrays(dataset, config):
    """Return the tutorial's float32 inputs and one-hot targets for `config`."""
    import keras

    from mnist_core.preprocess import preprocess_images

    def inputs(images):
        return preprocess_images(images, config.architecture, "channels_last")

    return (
        inputs(dataset.x_train),
        keras.utils.to_categorical(dataset.y_train, NUM_CLASSES),
        inputs(dataset.x_test),
        keras.utils.to_categorical(dataset.y_test, NUM_CLASSES),
    )


def _load(arguments):
    import dataclasses

    from mnist_core.config import default_config
    from mnist_core.data import load_from_path

    dataset = load_from_path(arguments.data)
    if arguments.train_limit is not None:
        limit = arguments.train_limit
        dataset = dataclasses.replace(
            dataset, x_train=dataset.x_train[:limit], y_train=dataset.y_train[:limit]
        )
    return dataset, default_config(arguments.model)


def _buffer_shuffle_dataset(images, labels, batch_size: int, seed: int):
    """Shuffle single indices through a buffer as large as the data, then batch."""
    import tensorflow as tf

    images_tensor = tf.constant(images)
    labels_tensor = tf.constant(labels.astype("int32"))
    indices = tf.data.Dataset.range(len(images))
    indices = indices.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)

    def gather_batch(batch_indices):
        batch_images = tf.cast(tf.gather(images_tensor, batch_indices), tf.float32)
        targets = tf.one_hot(tf.gather(labels_tensor, batch_indices), NUM_CLASSES)
        return batch_images / 255.0, targets

    batches = indices.batch(batch_size).map(
        gather_batch, num_parallel_calls=tf.data.AUTOTUNE
    )
    return batches.prefetch(tf.data.AUTOTUNE)


def compare_pipelines(arguments) -> None:
    """Time one epoch of batches through each pipeline, alternating them."""
    import tensorflow as tf

    # Keras's internal adapter that model.fit uses for NumPy input (Keras 3.15).
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

    from mnist_core.training import make_tf_dataset

    dataset, config = _load(arguments)
    x_train, y_train, _, _ = _float32_arrays(dataset, config)
    keras_adapter = ArrayDataAdapter(
        x_train, y_train, batch_size=config.batch_size, shuffle=True
    )
    core_batches = make_tf_dataset(
        dataset.x_train, dataset.y_train, config, shuffle=True
    )
    # The same pipeline with tf.data's default graph rewrites turned back on.
    with_rewrites = tf.data.Options()
    with_rewrites.experimental_optimization.apply_default_optimizations = True
    pipelines = {
        "keras numpy": keras_adapter.get_tf_dataset(),
        "mnist_core": core_batches,
        "with rewrites": core_batches.with_options(with_rewrites),
        "index buffer": _buffer_shuffle_dataset(
            dataset.x_train, dataset.y_train, config.batch_size, seed=0
        ),
    }

    def read_epoch(batches):
        # reduce() iterates inside TensorFlow, with no Python call per batch.
        return batches.reduce(tf.constant(0.0), lambda total, batch: total + 1.0)

    for batches in pipelines.values():
        read_epoch(batches)
    timings = {name: [] for name in pipelines}
    for _ in range(arguments.reps):
        for name, batches in pipelines.items():
            timings[name].append(_timed(lambda batches=batches: read_epoch(batches)))
    print_medians(timings, reference="keras numpy")


def _make_fit(name: str, config, dataset, arrays, steps_per_execution: int, dtype: str):
    """Return a function that trains one epoch of its own model."""
    import dataclasses

    from mnist_core.hardware import resolve_evaluation_batch_size
    from mnist_core.models import build_model, compile_model
    from mnist_core.training import make_tf_dataset

    model = build_model(config, dtype=dtype)
    compile_model(model, config, steps_per_execution=steps_per_execution)
    if name == "plain":
        x_train, y_train, x_test, y_test = arrays

        def fit_plain():
            model.fit(
                x_train,
                y_train,
                batch_size=config.batch_size,
                epochs=1,
                verbose=0,
                validation_data=(x_test, y_test),
            )

        return fit_plain

    grouped = dataclasses.replace(config, steps_per_execution=steps_per_execution)
    evaluation_batch_size = resolve_evaluation_batch_size(grouped)

    def fit_core():
        train_batches = make_tf_dataset(
            dataset.x_train, dataset.y_train, config, shuffle=True
        )
        validation_batches = make_tf_dataset(
            dataset.x_test,
            dataset.y_test,
            config,
            shuffle=False,
            batch_size=evaluation_batch_size,
        )
        # The batches come shuffled, as in mnist_core.training.train_model.
        model.fit(
            train_batches,
            epochs=1,
            verbose=0,
            validation_data=validation_batches,
            shuffle=False,
        )

    return fit_core


def compare_steps(arguments) -> None:
    """Time one-epoch fits of plain Keras and of each steps_per_execution."""
    dataset, config = _load(arguments)
    arrays = _float32_arrays(dataset, config)
    fits = {"plain": _make_fit("plain", config, dataset, arrays, 1, "float32")}
    for dtype in arguments.precisions:
        for steps in arguments.steps:
            name = f"{PRECISION_NAMES[dtype]} steps {steps}"
            fits[name] = _make_fit("core", config, dataset, arrays, steps, dtype)

    # The first epoch of each model traces its functions: leave it out.
    for fit in fits.values():
        fit()
    timings = {name: [] for name in fits}
    for repetition in range(arguments.reps):
        names = list(fits) if repetition % 2 == 0 else list(reversed(fits))
        for name in names:
            timings[name].append(_timed(fits[name]))
        print(f"repetition {repetition + 1} of {arguments.reps} done", flush=True)
    print_medians(timings, reference="plain")


def print_medians(timings: dict[str, list[tuple[float, float]]], reference: str):
    """Print median wall and CPU seconds per epoch and the ratios to `reference`."""
    print(f"{'setting':<18} {'wall s':>8} {'ratio':>6} {'cpu s':>8} {'ratio':>6}")
    reference_wall = statistics.median(wall for wall, _ in timings[reference])
    reference_cpu = statistics.median(cpu for _, cpu in timings[reference])
    for name, pairs in timings.items():
        wall = statistics.median(wall for wall, _ in pairs)
        cpu = statistics.median(cpu for _, cpu in pairs)
        print(
            f"{name:<18} {wall:>8.3f} {wall / reference_wall:>6.3f} "
            f"{cpu:>8.3f} {cpu / reference_cpu:>6.3f}"
        )
    print(f"medians over {len(timings[reference])} alternations per setting")


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=("pipeline", "steps"))
    parser.add_argument("--data", default=DEFAULT_DATA, help="MNIST .npz file")
    parser.add_argument("--model", choices=("mlp", "cnn"), default="mlp")
    parser.add_argument("--reps", type=int, default=6, help="alternations")
    parser.add_argument(
        "--steps",
        type=lambda text: [int(value) for value in text.split(",")],
        default=[1, 2, 4, 8],
        help="comma-separated steps_per_execution values for `steps`",
    )
    parser.add_argument(
        "--precisions",
        type=lambda text: text.split(","),
        default=["float32"],
        help="comma-separated precisions for the mnist_core side of `steps`: "
        "float32, mixed_bfloat16",
    )
    parser.add_argument(
        "--train-limit", type=int, help="use the first N training images"
    )
    arguments = parser.parse_args(argv)
    unknown = set(arguments.precisions) - set(PRECISION_NAMES)
    if unknown:
        parser.error(
            f"unknown precision {sorted(unknown)}; use {list(PRECISION_NAMES)}"
        )
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    if arguments.part == "pipeline":
        compare_pipelines(arguments)
    else:
        compare_steps(arguments)
    return 0


if __name__ == "__main__":
    sys.exit(main())
