"""Headless command line: python -m mnist_core train --model mlp --epochs 2."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from mnist_core.architecture import check_buildable
from mnist_core.config import config_from_dict, default_config
from mnist_core.data import DataError, load_dataset, resolve_source
from mnist_core.knobs import KnobError, apply_knob_settings


def _parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m mnist_core")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train one model and print each epoch")
    train.add_argument("--model", choices=("mlp", "cnn"), required=True)
    train.add_argument("--epochs", type=int, help="number of epochs")
    train.add_argument("--batch-size", type=int, help="images per batch")
    train.add_argument(
        "--train-limit", type=int, help="use the first N training images"
    )
    train.add_argument("--data", help="a Keras-layout .npz or a folder of IDX files")
    train.add_argument(
        "--seed", type=int, help="seed for every random source of the run"
    )
    train.add_argument("--save", metavar="NAME", help="save the model under this name")
    train.add_argument("--json", metavar="PATH", help="write the run record to PATH")
    train.add_argument(
        "--save-dir",
        metavar="FOLDER",
        help="folder for --save (default: saved/ in the models folder)",
    )
    train.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set any knob, e.g. --set optimizer=adam --set hidden_layers.0.units=20",
    )
    train.add_argument("--config", metavar="PATH", help="start from a config JSON file")
    return parser.parse_args(argv)


def _build_config(arguments: argparse.Namespace):
    if arguments.config:
        data = json.loads(Path(arguments.config).read_text())
        # A run record stores its config under "config", a config file is bare.
        if isinstance(data, dict) and "config" in data:
            data = data["config"]
        config = config_from_dict(data)
    else:
        config = default_config(arguments.model)
    flag_settings = {
        "epochs": arguments.epochs,
        "batch_size": arguments.batch_size,
        "train_limit": arguments.train_limit,
        "seed": arguments.seed,
    }
    settings = [
        f"{name}={value}" for name, value in flag_settings.items() if value is not None
    ]
    config = apply_knob_settings(config, settings + arguments.settings)
    # A kernel or pool window larger than its feature map passes the config's
    # own checks but fails the build; report it before any training starts.
    check_buildable(config)
    return config


def _save_path(arguments: argparse.Namespace) -> Path:
    """Return where --save writes; raises ValueError for a bad or taken name."""
    from mnist_core.storage import models_dir, sanitize_name

    folder = Path(arguments.save_dir) if arguments.save_dir else models_dir() / "saved"
    path = folder / f"{sanitize_name(arguments.save)}.keras"
    if path.exists():
        raise ValueError(f"{path} already exists; pick another --save name")
    return path


def _print_progress(event: dict) -> None:
    if event["kind"] != "epoch":
        return
    metrics = event["metrics"]
    parts = [f"epoch {event['epoch']}/{event['epochs']}", f"{event['seconds']:.1f} s"]
    for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if name in metrics:
            parts.append(f"{name} {metrics[name]:.4f}")
    print("  ".join(parts), flush=True)


def run_train(arguments: argparse.Namespace) -> int:
    from mnist_core.training import train_model

    try:
        config = _build_config(arguments)
        if arguments.save:
            _save_path(arguments)
        dataset = load_dataset(resolve_source(arguments.data))
    except (ValueError, KnobError, DataError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"data: {dataset.source.description}, {dataset.num_train} training and "
        f"{dataset.num_test} test images",
        flush=True,
    )
    record, model = train_model(config, dataset, on_progress=_print_progress)
    print(
        f"test loss {record['test_loss']}  "
        f"test accuracy {record['test_accuracy']:.4f}  "
        f"parameters {record['num_parameters']:,}",
        flush=True,
    )
    try:
        if arguments.json:
            Path(arguments.json).write_text(json.dumps(record, indent=2))
        if arguments.save:
            from mnist_core.storage import save_model

            folder = Path(arguments.save_dir) if arguments.save_dir else None
            path = save_model(model, record, arguments.save, folder=folder)
            print(f"saved {path}")
    except (ValueError, OSError) as error:
        # Training is done by now; only writing its results failed.
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    arguments = _parse_arguments(sys.argv[1:] if argv is None else argv)
    if arguments.command == "train":
        return run_train(arguments)
    return 2


if __name__ == "__main__":
    sys.exit(main())
