"""Time the tutorial's MLP and CNN in plain Keras and through mnist_core.

Run from the repository root:

    python benchmarks/bench_training.py --json bench.json

Each training runs in a fresh Python process, so its memory is measured on
its own. Runs are interleaved (plain, core, plain, core, ... over seeds) so
that load from other processes falls on both sides alike. See
benchmarks/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The development machine's full MNIST, unless MNIST_DATA names another file.
DEFAULT_DATA = os.environ.get("MNIST_DATA", "/work/shared/data/mnist.npz")
# The tutorial's epochs: 20 for the MLP, 12 for the CNN.
TUTORIAL_EPOCHS = {"mlp": 20, "cnn": 12}
BATCH_SIZE = 128
NUM_CLASSES = 10
VARIANTS = ("plain", "core")


# The measured process: one training, then a JSON result file.


def _rss_bytes() -> int:
    """Return this process's resident set size now, from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS missing from /proc/self/status")


def _peak_rss_bytes() -> int:
    """Return the peak resident set size of this process (ru_maxrss, KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _load_arrays(data_path: str, train_limit: int | None):
    import numpy as np

    with np.load(data_path) as arrays:
        x_train = arrays["x_train"]
        y_train = arrays["y_train"]
        x_test = arrays["x_test"]
        y_test = arrays["y_test"]
    if train_limit is not None:
        x_train = x_train[:train_limit]
        y_train = y_train[:train_limit]
    return x_train, y_train, x_test, y_test


def _build_plain_model(model_name: str):
    """Build and compile the tutorial's model as its script does (Keras 3 syntax)."""
    import keras
    from keras import layers

    if model_name == "mlp":
        model = keras.Sequential(
            [
                keras.Input(shape=(784,)),
                layers.Dense(512, activation="relu"),
                layers.Dropout(0.2),
                layers.Dense(512, activation="relu"),
                layers.Dropout(0.2),
                layers.Dense(NUM_CLASSES, activation="softmax"),
            ]
        )
        optimizer = keras.optimizers.RMSprop()
    else:
        model = keras.Sequential(
            [
                keras.Input(shape=(28, 28, 1)),
                layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
                layers.Conv2D(64, (3, 3), activation="relu"),
                layers.MaxPooling2D(pool_size=(2, 2)),
                layers.Dropout(0.25),
                layers.Flatten(),
                layers.Dense(128, activation="relu"),
                layers.Dropout(0.5),
                layers.Dense(NUM_CLASSES, activation="softmax"),
            ]
        )
        # The tutorial's Keras defaulted Adadelta to 1.0; Keras 3 uses 0.001.
        optimizer = keras.optimizers.Adadelta(learning_rate=1.0)
    model.compile(
        loss="categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"]
    )
    return model


def _make_epoch_timer():
    import keras

    class EpochTimer(keras.callbacks.Callback):
        """Seconds from on_epoch_begin to on_epoch_end, validation included.

        Also stamps the process's CPU time at each epoch end, as
        EpochCPUStamps does for mnist_core's progress events.
        """

        def __init__(self) -> None:
            super().__init__()
            self.epoch_seconds: list[float] = []
            self.cpu_stamps: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.epoch_seconds.append(time.perf_counter() - self.epoch_started)
            self.cpu_stamps.append(time.process_time())

    return EpochTimer()


class EpochCPUStamps:
    """A train_model progress sink that stamps CPU time at each epoch's end.

    train_model reports an epoch from its on_epoch_end callback, so these
    stamps fall where EpochTimer's do.
    """

    def __init__(self) -> None:
        self.cpu_stamps: list[float] = []
        self.num_events = 0

    def __call__(self, event: dict) -> None:
        self.num_events += 1
        if event["kind"] == "epoch":
            self.cpu_stamps.append(time.process_time())


def cpu_seconds_between(cpu_stamps: list[float]) -> list[float]:
    """CPU seconds of epochs 2, 3, ...: the differences of epoch-end stamps."""
    return [later - earlier for earlier, later in itertools.pairwise(cpu_stamps)]


def _train_plain(arguments, arrays) -> dict:
    """Train as the tutorial's script does: float32 arrays, one-hot targets."""
    import keras

    keras.utils.set_random_seed(arguments.seed)
    x_train, y_train, x_test, y_test = arrays
    started = time.perf_counter()

    shape = (784,) if arguments.model == "mlp" else (28, 28, 1)
    # (num_samples, 784) for the MLP, (num_samples, 28, 28, 1) for the CNN
    x_train = x_train.reshape(len(x_train), *shape).astype("float32") / 255
    x_test = x_test.reshape(len(x_test), *shape).astype("float32") / 255
    y_train = keras.utils.to_categorical(y_train, NUM_CLASSES)
    y_test = keras.utils.to_categorical(y_test, NUM_CLASSES)

    model = _build_plain_model(arguments.model)
    timer = _make_epoch_timer()
    history = model.fit(
        x_train,
        y_train,
        batch_size=BATCH_SIZE,
        epochs=arguments.epochs,
        verbose=0,
        validation_data=(x_test, y_test),
        callbacks=[timer],
    )
    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    return {
        "epoch_seconds": timer.epoch_seconds,
        "later_epoch_cpu_seconds": cpu_seconds_between(timer.cpu_stamps),
        "run_seconds": time.perf_counter() - started,
        "test_loss": float(test_loss),
        "test_accuracy": float(test_accuracy),
        "val_accuracy": [float(value) for value in history.history["val_accuracy"]],
        "precision": "float32",
        "steps_per_execution": 1,
    }


def _train_core(arguments, dataset) -> dict:
    """Train through mnist_core.training.train_model with the app's defaults."""
    from mnist_core.config import default_config
    from mnist_core.knobs import apply_knob_settings
    from mnist_core.training import train_model

    settings = [f"epochs={arguments.epochs}", f"seed={arguments.seed}"]
    if arguments.train_limit is not None:
        settings.append(f"train_limit={arguments.train_limit}")
    settings += arguments.settings
    config = apply_knob_settings(default_config(arguments.model), settings)
    progress = EpochCPUStamps()
    started = time.perf_counter()

    # A progress sink and a stop check about as cheap as the worker's own.
    record, _ = train_model(
        config, dataset, on_progress=progress, should_stop=lambda: False
    )
    return {
        "epoch_seconds": record["epoch_seconds"],
        "later_epoch_cpu_seconds": cpu_seconds_between(progress.cpu_stamps),
        "run_seconds": time.perf_counter() - started,
        "test_loss": record["test_loss"],
        "test_accuracy": record["test_accuracy"],
        "val_accuracy": record["history"]["val_accuracy"],
        "precision": record["precision"],
        "steps_per_execution": record["steps_per_execution"],
        "progress_events": progress.num_events,
    }


def run_measured(arguments) -> int:
    """Import TensorFlow, load the data, train once and write the result file."""
    # TensorFlow's import is part of the baseline.
    import keras
    import tensorflow as tf

    if arguments.variant == "core":
        # The script runs as benchmarks/bench_training.py: make mnist_core importable.
        sys.path.insert(0, str(PROJECT_ROOT))
        import mnist_core.training  # noqa: F401

    if arguments.variant == "plain":
        arrays = _load_arrays(arguments.data, arguments.train_limit)
        num_train = len(arrays[0])
    else:
        from mnist_core.data import load_from_path

        dataset = load_from_path(arguments.data)
        num_train = min(dataset.num_train, arguments.train_limit or math.inf)
    baseline_rss = _rss_bytes()
    if arguments.variant == "plain":
        result = _train_plain(arguments, arrays)
    else:
        result = _train_core(arguments, dataset)
    peak_rss = _peak_rss_bytes()

    usage = resource.getrusage(resource.RUSAGE_SELF)
    result.update(
        variant=arguments.variant,
        model=arguments.model,
        seed=arguments.seed,
        num_train=int(num_train),
        baseline_rss_bytes=baseline_rss,
        peak_rss_bytes=peak_rss,
        training_adds_bytes=peak_rss - baseline_rss,
        process_cpu_seconds=usage.ru_utime + usage.ru_stime,
        tensorflow=tf.__version__,
        keras=keras.__version__,
    )
    Path(arguments.result).write_text(json.dumps(result))
    return 0


# The driver: starts the measured processes and summarises them.


def _busy_cpu_seconds() -> float:
    """Return the CPU seconds all processes have used since boot (/proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    jiffies = [int(value) for value in fields]
    # user nice system idle iowait irq softirq steal ...: idle and iowait are free
    busy = sum(jiffies) - jiffies[3] - jiffies[4]
    return busy / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    """Return the CPU seconds of this process and its finished children."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


class OtherLoadMeter:
    """Measures the CPU cores other processes use while a block runs.

    The block's own work is the CPU time of this process and of the children
    it has waited for by the end of the block. All other CPU time on the
    machine counts as other processes' load.
    """

    def __enter__(self) -> OtherLoadMeter:
        self.busy_before = _busy_cpu_seconds()
        self.own_before = _own_cpu_seconds()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exception) -> None:
        self.wall_seconds = time.perf_counter() - self.started
        own = _own_cpu_seconds() - self.own_before
        busy = _busy_cpu_seconds() - self.busy_before
        self.other_cores = max(0.0, busy - own) / self.wall_seconds


def run_in_fresh_process(
    variant: str,
    model_name: str,
    seed: int,
    epochs: int,
    data: str,
    train_limit: int | None = None,
    settings: tuple[str, ...] = (),
) -> dict:
    """Train once in a new Python process; return its figures and the CPU load.

    `settings` are knob settings ("name=value") for the mnist_core side.
    """
    with tempfile.TemporaryDirectory(prefix="bench-training-") as folder:
        result_path = Path(folder) / "result.json"
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--measure",
            variant,
            "--models",
            model_name,
            "--seeds",
            "1",
            "--first-seed",
            str(seed),
            "--epochs",
            str(epochs),
            "--data",
            data,
            "--result",
            str(result_path),
        ]
        if train_limit is not None:
            command += ["--train-limit", str(train_limit)]
        for setting in settings:
            command += ["--set", setting]

        with OtherLoadMeter() as load:
            completed = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True)
        if completed.returncode != 0:
            tail = completed.stderr.decode(errors="replace")[-3000:]
            raise RuntimeError(f"{variant} {model_name} seed {seed} failed:\n{tail}")
        result = json.loads(result_path.read_text())

    result.update(
        process_wall_seconds=load.wall_seconds,
        other_processes_cores=load.other_cores,
        load_average_after=os.getloadavg()[0],
    )
    return result


def later_epochs(epoch_seconds: list[float]) -> list[float]:
    """Leave out the first epoch (graph tracing) when there is more than one."""
    return epoch_seconds[1:] or epoch_seconds


def summarise_side(runs: list[dict]) -> dict:
    """Medians, accuracies, memory and contention of one side's runs."""
    pooled = [s for run in runs for s in later_epochs(run["epoch_seconds"])]
    pooled_cpu = [s for run in runs for s in run["later_epoch_cpu_seconds"]]
    accuracies = [run["test_accuracy"] for run in runs]
    return {
        "median_epoch_seconds": statistics.median(pooled),
        "median_epoch_cpu_seconds": (
            statistics.median(pooled_cpu) if pooled_cpu else None
        ),
        "per_run_median_epoch_seconds": [
            statistics.median(later_epochs(run["epoch_seconds"])) for run in runs
        ],
        "test_accuracy_mean": statistics.fmean(accuracies),
        "test_accuracy_min": min(accuracies),
        "peak_rss_bytes_max": max(run["peak_rss_bytes"] for run in runs),
        "training_adds_bytes_max": max(run["training_adds_bytes"] for run in runs),
        "baseline_rss_bytes_max": max(run["baseline_rss_bytes"] for run in runs),
        "run_seconds_median": statistics.median(run["run_seconds"] for run in runs),
        "other_processes_cores_mean": statistics.fmean(
            run["other_processes_cores"] for run in runs
        ),
        "precision": runs[0]["precision"],
        "steps_per_execution": runs[0]["steps_per_execution"],
    }


def summarise_model(runs: list[dict]) -> dict:
    """Summarise both sides of one model and compare core with plain."""
    plain = summarise_side([run for run in runs if run["variant"] == "plain"])
    core = summarise_side([run for run in runs if run["variant"] == "core"])
    summary = {"plain": plain, "core": core}

    summary["ratio"] = core["median_epoch_seconds"] / plain["median_epoch_seconds"]
    summary["cpu_ratio"] = None
    if plain["median_epoch_cpu_seconds"] and core["median_epoch_cpu_seconds"]:
        summary["cpu_ratio"] = (
            core["median_epoch_cpu_seconds"] / plain["median_epoch_cpu_seconds"]
        )
    # Each seed's core run against the plain run just before it.
    summary["pair_ratios"] = [
        core_median / plain_median
        for plain_median, core_median in zip(
            plain["per_run_median_epoch_seconds"],
            core["per_run_median_epoch_seconds"],
            strict=True,
        )
    ]
    summary["accuracy_gap_points"] = 100 * (
        core["test_accuracy_mean"] - plain["test_accuracy_mean"]
    )
    return summary


def _megabytes(num_bytes: float) -> str:
    return f"{num_bytes / 1e6:,.0f} MB"


def _optional(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


TABLE_HEADER = (
    f"{'model':<5} {'side':<5} {'s/epoch':>8} {'ratio':>6} {'cpu s/ep':>8} "
    f"{'ratio':>6} {'acc mean':>9} {'acc min':>8} {'peak RSS':>9} {'adds':>8} "
    f"{'others':>6} {'seeds':>5}"
)
TABLE_NOTES = """\
s/epoch: wall seconds per epoch, median over the epochs after the first,
  validation included. cpu s/ep: the process's CPU seconds per epoch, median
  over the same epochs; it moves less than wall time when other processes
  share the CPU. ratio: core / plain.
acc: test accuracy over the seeds. peak RSS: ru_maxrss of the process (max over
  seeds). adds: peak RSS minus the RSS after importing TensorFlow and loading
  the uint8 data, i.e. what one training adds (plain includes its float32
  copies of the data).
others: CPU cores that other processes used during the runs (0 = quiet)."""


def _table_row(model_name: str, variant: str, summary: dict) -> str:
    figures = summary[variant]
    is_core = variant == "core"
    ratio = _optional(summary["ratio"], ".3f") if is_core else ""
    cpu_ratio = _optional(summary["cpu_ratio"], ".3f") if is_core else ""
    cpu_seconds = _optional(figures["median_epoch_cpu_seconds"], ".2f")
    num_seeds = len(figures["per_run_median_epoch_seconds"])
    return (
        f"{model_name:<5} {variant:<5} "
        f"{figures['median_epoch_seconds']:>8.2f} {ratio:>6} "
        f"{cpu_seconds:>8} {cpu_ratio:>6} "
        f"{100 * figures['test_accuracy_mean']:>8.2f}% "
        f"{100 * figures['test_accuracy_min']:>7.2f}% "
        f"{_megabytes(figures['peak_rss_bytes_max']):>9} "
        f"{_megabytes(figures['training_adds_bytes_max']):>8} "
        f"{figures['other_processes_cores_mean']:>6.2f} {num_seeds:>5}"
    )


def print_table(summaries: dict, settings: dict) -> None:
    """Print one row per model and side, then the per-seed ratios."""
    print()
    print(
        f"Epochs: {settings['epochs']}; training images: {settings['num_train']}; "
        f"CPU: {settings['cpu']}, {settings['cpu_count']} cores, bf16 flags: "
        f"{', '.join(settings['cpu_bf16_flags']) or 'none'}; TensorFlow "
        f"{settings['tensorflow']}, Keras {settings['keras']}; "
        f"{settings['total_minutes']:.1f} min in all"
    )
    print(TABLE_HEADER)
    print("-" * len(TABLE_HEADER))
    for model_name, summary in summaries.items():
        for variant in VARIANTS:
            print(_table_row(model_name, variant, summary))
    print()
    for model_name, summary in summaries.items():
        pairs = ", ".join(f"{ratio:.3f}" for ratio in summary["pair_ratios"])
        core = summary["core"]
        print(
            f"{model_name}: core - plain test accuracy "
            f"{summary['accuracy_gap_points']:+.2f} points; core/plain s/epoch "
            f"per seed: {pairs}; core runs {core['precision']} with "
            f"steps_per_execution {core['steps_per_execution']}"
        )
    print()
    print(TABLE_NOTES)


def _cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _print_run(result: dict, elapsed_seconds: float) -> None:
    epochs = " ".join(f"{seconds:.2f}" for seconds in result["epoch_seconds"])
    print(
        f"{result['model']} {result['variant']:<5} seed {result['seed']}: "
        f"epochs {epochs} s; test accuracy {100 * result['test_accuracy']:.2f}%; "
        f"peak RSS {_megabytes(result['peak_rss_bytes'])}; other processes "
        f"{result['other_processes_cores']:.2f} cores; "
        f"{elapsed_seconds / 60:.1f} min so far",
        flush=True,
    )


def run_interleaved(arguments) -> list[dict]:
    """Run plain, core, plain, core, ... over the seeds of each model."""
    started = time.perf_counter()
    runs = []
    for model_name in arguments.model_names:
        epochs = arguments.epochs or TUTORIAL_EPOCHS[model_name]
        num_seeds = arguments.cnn_seeds if model_name == "cnn" else arguments.seeds
        for seed in range(arguments.first_seed, arguments.first_seed + num_seeds):
            for variant in VARIANTS:
                result = run_in_fresh_process(
                    variant,
                    model_name,
                    seed,
                    epochs,
                    arguments.data,
                    arguments.train_limit,
                    arguments.settings,
                )
                runs.append(result)
                _print_run(result, time.perf_counter() - started)
    return runs


def _cpu_flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def run_benchmark(arguments) -> int:
    """Run the interleaved trainings, print the table and write the JSON."""
    started = time.perf_counter()
    runs = run_interleaved(arguments)
    summaries = {
        name: summarise_model([run for run in runs if run["model"] == name])
        for name in arguments.model_names
    }
    settings = {
        "epochs": arguments.epochs or "tutorial (mlp 20, cnn 12)",
        "num_train": runs[0]["num_train"],
        "data": arguments.data,
        "core_settings": arguments.settings,
        "cpu": _cpu_name(),
        "cpu_count": len(os.sched_getaffinity(0)),
        # The CPU flags that make bfloat16 fast (mnist_core.hardware reads the same).
        "cpu_bf16_flags": sorted(_cpu_flags() & {"amx_bf16", "avx512_bf16"}),
        "python": platform.python_version(),
        "tensorflow": runs[0]["tensorflow"],
        "keras": runs[0]["keras"],
        "total_minutes": (time.perf_counter() - started) / 60,
    }
    print_table(summaries, settings)
    if arguments.json:
        report = {"settings": settings, "summaries": summaries, "runs": runs}
        Path(arguments.json).write_text(json.dumps(report, indent=2))
        print(f"wrote {arguments.json}")
    return 0


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA, help="MNIST .npz file")
    parser.add_argument(
        "--epochs",
        type=int,
        help="epochs per run (default: the tutorial's, 20 for mlp and 12 for cnn)",
    )
    parser.add_argument(
        "--seeds", type=int, default=3, help="seeds (run pairs) for the MLP"
    )
    parser.add_argument(
        "--cnn-seeds", type=int, default=1, help="seeds (run pairs) for the CNN"
    )
    parser.add_argument("--first-seed", type=int, default=0, help="first seed")
    parser.add_argument(
        "--models", default="mlp,cnn", help="comma-separated: mlp, cnn or both"
    )
    parser.add_argument(
        "--train-limit", type=int, help="use the first N training images"
    )
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a knob for the mnist_core side only, e.g. --set steps_per_execution=1",
    )
    parser.add_argument("--json", metavar="PATH", help="write every figure to PATH")
    # Internal: run one measured training in this process.
    parser.add_argument("--measure", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    arguments.model_names = [name.strip() for name in arguments.models.split(",")]
    for name in arguments.model_names:
        if name not in TUTORIAL_EPOCHS:
            parser.error(f"--models takes mlp and cnn, got {name!r}")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    if arguments.measure:
        arguments.variant = arguments.measure
        arguments.model = arguments.models
        arguments.seed = arguments.first_seed
        return run_measured(arguments)
    return run_benchmark(arguments)


if __name__ == "__main__":
    sys.exit(main())
