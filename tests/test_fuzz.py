"""Fuzz tests: random and mutated inputs at every boundary a user can reach.

Each case draws from its own generator, np.random.default_rng((SEED, group,
case)), so a failing case id such as `upload-017-flip_bytes` reproduces on its
own. Every case must end in success or in the error type its entry point
documents, never in another exception. Model uploads must also leave every
listed model loadable. Nothing here trains: the tiny models are built once
per module and only their files are mutated.
"""

from __future__ import annotations

import gzip
import io
import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from mnist_core import drawing, storage, uploads
from mnist_core.architecture import describe_architecture
from mnist_core.config import (
    CNNConfig,
    ConvBlockSpec,
    DenseLayerSpec,
    MLPConfig,
    config_to_dict,
    default_config,
)
from mnist_core.data import SAMPLE_PATH, DataError, load_from_path
from mnist_core.jobs import Scheduler
from mnist_core.knobs import apply_knob_settings, config_from_settings
from mnist_core.models import build_model
from ui import state

SEED = 20260412
PROJECT_ROOT = Path(__file__).resolve().parents[1]
APP_PAGES = PROJECT_ROOT / "app_pages"
PAGE_TIMEOUT_SECONDS = 60

NUM_UPLOAD_CASES = 160
NUM_UPLOAD_PAGE_CASES = 8
NUM_KNOB_CASES = 200
NUM_KNOB_PAGE_CASES = 6
NUM_BUILD_CASES = 12
NUM_CANVAS_CASES = 60
NUM_IMAGE_CASES = 60
NUM_DATA_CASES = 80


def case_rng(group: str, case: int) -> np.random.Generator:
    """Return the generator of one case; `group` keeps the groups apart."""
    return np.random.default_rng((SEED, sum(map(ord, group)), case))


def pick(rng: np.random.Generator, items):
    """Return one element of the sequence `items`, chosen by `rng`."""
    return items[int(rng.integers(len(items)))]


# Text that a careless or hostile user might type or put in a file.
JUNK_TEXT = (
    "",
    " ",
    "relu",
    "none",
    "Lambda",
    "keras>Custom",
    "my_package>double",
    "../../etc/passwd",
    "C:\\Windows\\win.ini",
    "\x00",
    "ünïcödé",
    "数字",
    "\u202eevil",
    "🙂" * 40,
    "x" * 5000,
    "1e309",
    "NaN",
    "-0",
    "<script>alert(1)</script>",
)
JUNK_NUMBERS = (
    0,
    -1,
    1,
    2,
    3,
    28,
    29,
    784,
    2**31,
    2**63,
    10**30,
    -(10**18),
    10**400,
    0.5,
    -0.0,
    1e-300,
    1e308,
    float("nan"),
    float("inf"),
    float("-inf"),
    True,
    False,
)


def junk_value(rng: np.random.Generator, depth: int = 0) -> Any:
    """Return a random JSON-ready value: numbers, text, null, lists and objects."""
    kind = int(rng.integers(6 if depth < 3 else 3))
    if kind == 0:
        return pick(rng, JUNK_NUMBERS)
    if kind == 1:
        return pick(rng, JUNK_TEXT)
    if kind == 2:
        return None
    if kind == 3:
        return [junk_value(rng, depth + 1) for _ in range(int(rng.integers(4)))]
    if kind == 4:
        return [int(size) for size in rng.integers(-2, 40, int(rng.integers(5)))]
    keys = [pick(rng, ("units", "shape", "config", "class_name", "a", "数"))]
    return {key: junk_value(rng, depth + 1) for key in keys}


def nested_junk(rng: np.random.Generator, levels: int) -> Any:
    """Return lists and objects nested `levels` deep around a junk value."""
    value = junk_value(rng)
    for _ in range(levels):
        value = [value] if rng.random() < 0.5 else {"config": value}
    return value


# Model uploads: tiny models saved by this app, then mutated.


@pytest.fixture(scope="module")
def app_archives(tmp_path_factory) -> dict[str, bytes]:
    """A tiny MLP and CNN as this app saves them, as .keras file bytes."""
    folder = tmp_path_factory.mktemp("fuzz_sources")
    configs = {
        "mlp": MLPConfig(hidden_layers=(DenseLayerSpec(units=8),)),
        "cnn": CNNConfig(
            conv_blocks=(ConvBlockSpec(filters=2, pooling="max"),), dense_units=4
        ),
    }
    archives = {}
    for architecture, config in configs.items():
        record = {
            "model": architecture,
            "config": config_to_dict(config),
            "test_accuracy": 0.5,
            "history": {"loss": [1.0]},
            "data_source": {"kind": "sample", "description": "the bundled sample"},
        }
        path = storage.save_model(build_model(config), record, architecture, folder)
        archives[architecture] = path.read_bytes()
    return archives


def read_members(data: bytes) -> list[tuple[str, bytes]]:
    """Return the (name, content) of every member of a zip archive."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def write_members(members: list[tuple[str, bytes]]) -> bytes:
    """Return a deflated zip archive of `members`, duplicate names included."""
    output = io.BytesIO()
    with warnings.catch_warnings():
        # zipfile warns about a duplicate name, which is the point here.
        warnings.simplefilter("ignore", UserWarning)
        with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in members:
                archive.writestr(name, content)
    return output.getvalue()


def replace_member(data: bytes, name: str, content: bytes) -> bytes:
    members = [
        (old, content if old == name else old_content)
        for old, old_content in read_members(data)
    ]
    return write_members(members)


def edit_json_member(data: bytes, name: str, edit) -> bytes:
    """Return `data` with the JSON member `name` passed through `edit`."""
    members = dict(read_members(data))
    document = json.loads(members[name])
    edited = edit(document)
    return replace_member(data, name, json.dumps(edited).encode())


def model_layers(document: dict) -> list[dict]:
    return document["config"]["layers"]


def mutate_flip_bytes(rng, data: bytes) -> bytes:
    mutated = bytearray(data)
    for position in rng.integers(0, len(mutated), int(rng.integers(1, 16))):
        mutated[position] ^= int(rng.integers(1, 256))
    return bytes(mutated)


def mutate_truncate(rng, data: bytes) -> bytes:
    return data[: int(rng.integers(0, len(data)))]


def mutate_drop_member(rng, data: bytes) -> bytes:
    members = read_members(data)
    members.pop(int(rng.integers(len(members))))
    return write_members(members)


def mutate_duplicate_member(rng, data: bytes) -> bytes:
    members = read_members(data)
    return write_members([*members, pick(rng, members)])


MEMBER_NAMES = (
    "config.json",
    "metadata.json",
    "model.weights.h5",
    "model.weights.npz",
    storage.METADATA_MEMBER,
    "../config.json",
    "/etc/passwd",
    "C:config.json",
    "assets/vocab.txt",
    "ünïcödé.json",
    " ",
    "a/",
)


def mutate_rename_member(rng, data: bytes) -> bytes:
    members = read_members(data)
    position = int(rng.integers(len(members)))
    members[position] = (pick(rng, MEMBER_NAMES), members[position][1])
    return write_members(members)


def mutate_extra_member(rng, data: bytes) -> bytes:
    extra = (pick(rng, MEMBER_NAMES), rng.bytes(int(rng.integers(0, 200))))
    return write_members([*read_members(data), extra])


def mutate_swap_weights(rng, data: bytes, other: bytes) -> bytes:
    """Replace the weights with the other model's, random bytes or nothing."""
    weights = dict(read_members(other))["model.weights.h5"]
    choice = int(rng.integers(3))
    if choice == 1:
        weights = rng.bytes(int(rng.integers(0, 4096)))
    elif choice == 2:
        weights = b""
    return replace_member(data, "model.weights.h5", weights)


LAYER_CLASS_NAMES = (
    *uploads.model_checks.LAYER_CLASSES,
    "Sequential",
    "Functional",
    "Lambda",
    "TFOpLambda",
    "Conv3D",
    "Embedding",
    "LSTM",
    "function",
    "__keras_tensor__",
    "ünïcödé",
    "",
)


def mutate_layer_class(rng, data: bytes) -> bytes:
    def edit(document):
        layer = pick(rng, model_layers(document))
        layer["class_name"] = pick(rng, LAYER_CLASS_NAMES)
        if rng.random() < 0.3:
            layer["module"] = pick(rng, ("keras.layers", "keras", "os", "builtins"))
        return document

    return edit_json_member(data, "config.json", edit)


# Layer fields whose values decide shapes and sizes.
SHAPE_FIELDS = (
    "units",
    "filters",
    "kernel_size",
    "strides",
    "pool_size",
    "padding",
    "rate",
    "batch_shape",
    "target_shape",
    "axis",
    "data_format",
    "activation",
    "use_bias",
    "dtype",
    "name",
)


def mutate_layer_value(rng, data: bytes) -> bytes:
    def edit(document):
        for _ in range(int(rng.integers(1, 4))):
            layer = pick(rng, model_layers(document))
            layer.setdefault("config", {})[pick(rng, SHAPE_FIELDS)] = junk_value(rng)
        return document

    return edit_json_member(data, "config.json", edit)


# Layer fields that set a size, a window or a stride.
SIZE_FIELDS = (
    "units",
    "filters",
    "kernel_size",
    "strides",
    "pool_size",
    "target_shape",
)


def mutate_size_number(rng, data: bytes) -> bytes:
    """Set a size field of a layer that has one to a junk number or pair."""

    def edit(document):
        layers = [
            layer
            for layer in model_layers(document)
            if any(field in layer["config"] for field in SIZE_FIELDS)
        ]
        layer = pick(rng, layers)
        field = pick(rng, [name for name in SIZE_FIELDS if name in layer["config"]])
        number = pick(rng, JUNK_NUMBERS)
        if field != "units" and rng.random() < 0.5:
            number = [number, pick(rng, JUNK_NUMBERS)]
        layer["config"][field] = number
        return document

    return edit_json_member(data, "config.json", edit)


def mutate_input_shape(rng, data: bytes) -> bytes:
    def edit(document):
        shape = [None, *(int(size) for size in rng.integers(-1, 40, rng.integers(4)))]
        if rng.random() < 0.3:
            shape = [None, pick(rng, ((28, 28, 1), (1, 28, 28), (784,)))]
        model_layers(document)[0]["config"]["batch_shape"] = shape
        return document

    return edit_json_member(data, "config.json", edit)


def lambda_layer(rng) -> dict:
    """Return a Lambda layer as Keras writes one, in one of several disguises."""
    function = {
        "module": "builtins",
        "class_name": "function",
        "config": pick(rng, ("eval", "exec", "print")),
        "registered_name": "function",
    }
    layer = {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {"name": "lambda", "function": function, "arguments": {}},
        "registered_name": None,
    }
    disguise = int(rng.integers(4))
    if disguise == 1:
        layer["class_name"] = "Dense"
        layer["registered_name"] = "package>Lambda"
    elif disguise == 2:
        layer["config"]["activation"] = function
        layer["class_name"] = "Activation"
    elif disguise == 3:
        layer["config"]["function"] = {"class_name": "__lambda__", "config": "x"}
    return layer


def mutate_lambda(rng, data: bytes) -> bytes:
    def edit(document):
        layers = model_layers(document)
        layers.insert(int(rng.integers(1, len(layers) + 1)), lambda_layer(rng))
        return document

    return edit_json_member(data, "config.json", edit)


def mutate_extra_layer(rng, data: bytes) -> bytes:
    """Insert an allowed layer class with random settings."""

    def edit(document):
        layers = model_layers(document)
        config = {
            field: junk_value(rng)
            for field in rng.choice(SHAPE_FIELDS, int(rng.integers(1, 4)))
        }
        layer = {
            "module": "keras.layers",
            "class_name": pick(rng, uploads.model_checks.LAYER_CLASSES),
            "config": config,
            "registered_name": None,
        }
        layers.insert(int(rng.integers(1, len(layers) + 1)), layer)
        return document

    return edit_json_member(data, "config.json", edit)


def mutate_nested_junk(rng, data: bytes) -> bytes:
    def edit(document):
        layer = pick(rng, model_layers(document))
        levels = int(rng.integers(1, 120))
        layer["config"][pick(rng, SHAPE_FIELDS)] = nested_junk(rng, levels)
        return document

    return edit_json_member(data, "config.json", edit)


def replace_strings(rng, node: Any) -> Any:
    """Return `node` with some of its strings replaced by junk text."""
    if isinstance(node, dict):
        return {key: replace_strings(rng, value) for key, value in node.items()}
    if isinstance(node, list):
        return [replace_strings(rng, value) for value in node]
    if isinstance(node, str) and rng.random() < 0.15:
        return pick(rng, JUNK_TEXT)
    return node


def mutate_unicode(rng, data: bytes) -> bytes:
    return edit_json_member(data, "config.json", lambda doc: replace_strings(rng, doc))


def mutate_random_config(rng, data: bytes) -> bytes:
    def edit(document):
        if rng.random() < 0.5:
            return junk_value(rng)
        document["config"] = junk_value(rng)
        return document

    return edit_json_member(data, "config.json", edit)


BROKEN_JSON = (
    b"",
    b"{",
    b"\xff\xfe\x00",
    b'{"class_name": "Sequential", "config": ' * 3,
    b"[" * 100_000,
    b'{"class_name": 1' + b"0" * 5000 + b"}",
    b"null",
    b"NaN",
)


def mutate_broken_json(rng, data: bytes) -> bytes:
    name = pick(rng, ("config.json", storage.METADATA_MEMBER, "metadata.json"))
    return replace_member(data, name, pick(rng, BROKEN_JSON))


# Metadata fields the pages read.
METADATA_FIELDS = (
    "model",
    "config",
    "test_accuracy",
    "test_loss",
    "median_epoch_seconds",
    "num_parameters",
    "history",
    "data_source",
    "saved_at",
    "name",
    "label",
    "epoch_seconds",
    "image_operation",
    "config_inferred",
)


def mutate_metadata(rng, data: bytes) -> bytes:
    def edit(document):
        for _ in range(int(rng.integers(1, 4))):
            field = pick(rng, METADATA_FIELDS)
            if field == "config" and isinstance(document.get("config"), dict):
                document["config"][pick(rng, sorted(document["config"]))] = junk_value(
                    rng
                )
            else:
                document[field] = junk_value(rng)
        return document

    return edit_json_member(data, storage.METADATA_MEMBER, edit)


def mutate_random_bytes(rng, data: bytes) -> bytes:
    prefix = pick(rng, (b"", b"PK\x03\x04", b"PK\x05\x06", b"\x89PNG\r\n\x1a\n"))
    return prefix + rng.bytes(int(rng.integers(0, 4096)))


UPLOAD_MUTATIONS = {
    "flip_bytes": mutate_flip_bytes,
    "truncate": mutate_truncate,
    "drop_member": mutate_drop_member,
    "duplicate_member": mutate_duplicate_member,
    "rename_member": mutate_rename_member,
    "extra_member": mutate_extra_member,
    "layer_class": mutate_layer_class,
    "layer_value": mutate_layer_value,
    "size_number": mutate_size_number,
    "input_shape": mutate_input_shape,
    "lambda": mutate_lambda,
    "extra_layer": mutate_extra_layer,
    "nested_junk": mutate_nested_junk,
    "unicode": mutate_unicode,
    "random_config": mutate_random_config,
    "broken_json": mutate_broken_json,
    "metadata": mutate_metadata,
    "random_bytes": mutate_random_bytes,
    "swap_weights": None,
}
LAYER_LIST_MUTATIONS = (
    "layer_class",
    "layer_value",
    "size_number",
    "input_shape",
    "lambda",
    "extra_layer",
    "metadata",
    "swap_weights",
)
UPLOAD_FILENAMES = (
    "model.keras",
    "../../etc/passwd.keras",
    ".keras",
    "....keras",
    "ünïcödé 数字.keras",
    "a" * 300 + ".keras",
    "con.keras",
    "model.keras.keras",
)


def upload_case(case: int) -> str:
    kinds = list(UPLOAD_MUTATIONS)
    return f"upload-{case:03d}-{kinds[case % len(kinds)]}"


def make_upload(case: int, archives: dict[str, bytes]) -> tuple[bytes, str]:
    """Return the mutated file bytes and file name of one upload case."""
    rng = case_rng("upload", case)
    kind = upload_case(case).split("-", 2)[2]
    architecture = pick(rng, ("mlp", "cnn"))
    data = archives[architecture]
    if kind == "swap_weights":
        other = archives["cnn" if architecture == "mlp" else "mlp"]
        data = mutate_swap_weights(rng, data, other)
    else:
        data = UPLOAD_MUTATIONS[kind](rng, data)
    # Some cases carry a second mutation on top of a first that kept the
    # archive and its layer list readable.
    if rng.random() < 0.3 and kind in LAYER_LIST_MUTATIONS:
        data = pick(rng, (mutate_metadata, mutate_layer_value))(rng, data)
    return data, pick(rng, UPLOAD_FILENAMES)


@pytest.fixture
def upload_folder(tmp_path, monkeypatch):
    """An empty models folder and no shipped models, so listings show uploads."""
    monkeypatch.setenv(storage.MODELS_ENV_VARIABLE, str(tmp_path / "models"))
    monkeypatch.setattr(storage, "DEFAULT_MODELS_DIR", tmp_path / "shipped")
    return tmp_path / "models"


@pytest.mark.parametrize(
    "case",
    range(NUM_UPLOAD_CASES),
    ids=[upload_case(case) for case in range(NUM_UPLOAD_CASES)],
)
def test_upload_mutant_rejected_or_loadable(case, app_archives, upload_folder):
    data, filename = make_upload(case, app_archives)
    owner = f"fuzz-owner-{case}"

    try:
        stored = uploads.store_upload(data, filename, owner)
    except (uploads.UploadError, storage.ModelExistsError) as error:
        assert str(error).strip(), "the rejection has no message"
        stored = None

    listed = storage.list_visible_models(owner)
    assert [entry.path for entry in listed] == ([stored] if stored else [])
    for entry in listed:
        model, metadata = storage.load_model(entry.path)
        assert tuple(model.outputs[0].shape[1:]) == (10,)
        assert metadata["model"] in ("mlp", "cnn")


def test_upload_fuzz_covers_every_outcome(app_archives, upload_folder):
    """The mutations reach Keras itself, not only the archive checks."""
    outcomes = set()
    for case in range(0, NUM_UPLOAD_CASES, 2):
        data, filename = make_upload(case, app_archives)
        try:
            uploads.store_upload(data, filename, f"fuzz-coverage-{case}")
        except uploads.UploadError as error:
            reason = str(error)
            outcomes.add("keras" if reason.startswith("Keras") else "checks")
        else:
            outcomes.add("accepted")

    assert "accepted" in outcomes
    assert "checks" in outcomes
    assert "keras" in outcomes


def test_models_page_upload_mutants(app_archives, upload_folder):
    app = AppTest.from_file(
        str(APP_PAGES / "models.py"), default_timeout=PAGE_TIMEOUT_SECONDS
    )
    app.run()
    step = NUM_UPLOAD_CASES // NUM_UPLOAD_PAGE_CASES
    for case in range(0, NUM_UPLOAD_CASES, step):
        data, _ = make_upload(case, app_archives)
        filename = f"page-case-{case}.keras"
        uploader = app.file_uploader(key=state.MODELS_UPLOAD)
        uploader.set_value((filename, data, "application/octet-stream"))
        app.run()

        messages = [element.value for element in [*app.error, *app.success]]
        assert not app.exception, f"{upload_case(case)}: {app.exception}"
        assert any(filename in text or "Uploaded as" in text for text in messages), (
            f"{upload_case(case)} shows no outcome: {messages}"
        )

    app.file_uploader(key=state.MODELS_UPLOAD).set_value(
        ("notes.keras", b"just some text\n", "text/plain")
    )
    app.run()
    assert not app.exception
    assert any("notes.keras was rejected" in error.value for error in app.error)


# Knob settings: "name=value" as links, the command line and sweeps write them.

KNOB_NAMES = {
    "mlp": (
        "optimizer",
        "learning_rate",
        "momentum",
        "batch_size",
        "epochs",
        "train_limit",
        "seed",
        "validation",
        "validation_split",
        "precision",
        "steps_per_execution",
        "hidden_layers",
        "hidden_layers.0.units",
        "hidden_layers.1.dropout_rate",
        "hidden_layers.*.units",
        "hidden_layers.*.activation",
        "hidden_layers.9.units",
        "output_activation",
        "image_operation.name",
        "image_operation.train_share",
        "image_operation.angle",
        "image_operation.shift_pixels",
    ),
    "cnn": (
        "optimizer",
        "learning_rate",
        "batch_size",
        "epochs",
        "conv_blocks",
        "conv_blocks.0.filters",
        "conv_blocks.1.kernel_size",
        "conv_blocks.*.kernel_size",
        "conv_blocks.*.pooling",
        "conv_blocks.*.pool_size",
        "conv_blocks.0.pooling",
        "conv_dropout_rate",
        "dense_units",
        "dense_activation",
        "dense_dropout_rate",
        "data_format",
        "output_activation",
        "image_operation.noise_std",
    ),
}
INVALID_KNOB_NAMES = (
    "",
    "colour",
    "hidden_layers.",
    "hidden_layers.x.units",
    "hidden_layers.-1.units",
    "hidden_layers.0",
    "hidden_layers.0.units.extra",
    "conv_blocks.99.filters",
    "image_operation",
    "image_operation.nope",
    "architecture",
    "__class__",
    "learning_rate.0",
    "ünïcödé",
)
KNOB_VALUES = (
    "0",
    "1",
    "-1",
    "2",
    "3",
    "7",
    "28",
    "29",
    "512",
    "4096",
    "4097",
    "60000",
    "1e9",
    "1" + "0" * 400,
    "1e309",
    "-1e309",
    "nan",
    "inf",
    "0.5",
    "1.5",
    "1e-8",
    "0x10",
    "1_000",
    "none",
    "all",
    "true",
    "relu",
    "softmax",
    "max",
    "global_max",
    "global_average",
    "adam",
    "adadelta",
    "channels_first",
    "flip_horizontal",
    "",
    " ",
    "ünïcödé",
    "=",
    "512:relu:0.2",
)
LAYER_PARTS = {
    "hidden_layers": (
        ("1", "20", "512", "4096", "0", "-3", "x", "1e400", "nan"),
        ("relu", "tanh", "softmax", "nope", ""),
        ("0", "0.2", "0.95", "0.96", "-0.1", "nan", "inf"),
    ),
    "conv_blocks": (
        ("1", "2", "32", "512", "513", "0", "x"),
        ("1", "2", "3", "5", "13", "27", "28", "29", "0"),
        ("relu", "linear", "bogus"),
        ("none", "max", "average", "global_max", "global_average", "min"),
        ("1", "2", "3", "7", "14", "28", "29", "0"),
    ),
}


def random_layer_list(rng, list_name: str) -> str:
    """Return a compact layer list, e.g. 32:3:relu:max:2,64:3, valid or not."""
    layers = []
    for _ in range(int(rng.integers(0, 11))):
        parts = LAYER_PARTS[list_name]
        num_values = int(rng.integers(0, len(parts) + 2))
        values = [pick(rng, parts[i % len(parts)]) for i in range(num_values)]
        layers.append(":".join(values))
    return pick(rng, (",", ", ", ",,")).join(layers)


# Plausible values of each knob, by the last part of its name, so that a
# good share of the random settings describe a model that can be built.
PLAUSIBLE_VALUES = {
    "optimizer": ("adam", "sgd", "rmsprop", "adadelta", "adagrad"),
    "learning_rate": ("0.001", "0.1", "1.0", "100"),
    "momentum": ("0", "0.9"),
    "batch_size": ("1", "32", "60000"),
    "epochs": ("1", "3", "500"),
    "train_limit": ("none", "10", "300"),
    "seed": ("0", "2147483647"),
    "validation": ("test", "split"),
    "validation_split": ("0.01", "0.5"),
    "precision": ("auto", "float32", "mixed_bfloat16"),
    "steps_per_execution": ("none", "1", "1000"),
    "units": ("1", "20", "4096"),
    "dropout_rate": ("0", "0.95"),
    "activation": ("relu", "tanh", "gelu"),
    "output_activation": ("softmax", "linear"),
    "name": ("none", "flip_horizontal", "rotate", "noise", "invert"),
    "train_share": ("0", "0.5", "1"),
    "angle": ("-360", "45"),
    "shift_pixels": ("-27", "4"),
    "noise_std": ("0", "2"),
    "filters": ("1", "4", "16"),
    "kernel_size": ("1", "3", "5", "13", "28"),
    "pooling": ("none", "max", "average", "global_max", "global_average"),
    "pool_size": ("1", "2", "3", "7", "14"),
    "conv_dropout_rate": ("0", "0.25"),
    "dense_units": ("1", "128"),
    "dense_activation": ("relu", "elu"),
    "dense_dropout_rate": ("0", "0.5"),
    "data_format": ("channels_last", "channels_first"),
}
PLAUSIBLE_LAYER_LISTS = {
    "hidden_layers": ("", "1", "20:tanh:0", "512:relu:0.2,512:relu:0.2"),
    "conv_blocks": ("4", "2:5:relu:max:2,4:3", "4:3:relu:global_max", "2:28"),
}


def random_knob_settings(rng, architecture: str) -> list[str]:
    """Return 1 to 4 random "name=value" settings for `architecture`."""
    settings = []
    for _ in range(int(rng.integers(1, 5))):
        if rng.random() < 0.1:
            name = pick(rng, INVALID_KNOB_NAMES)
        else:
            name = pick(rng, KNOB_NAMES[architecture])
        leaf = name.rsplit(".", 1)[-1]
        if rng.random() < 0.5 and name in PLAUSIBLE_LAYER_LISTS:
            value = pick(rng, PLAUSIBLE_LAYER_LISTS[name])
        elif rng.random() < 0.6 and leaf in PLAUSIBLE_VALUES:
            value = pick(rng, PLAUSIBLE_VALUES[leaf])
        elif name in LAYER_PARTS:
            value = random_layer_list(rng, name)
        else:
            value = pick(rng, KNOB_VALUES)
        separator = "=" if rng.random() < 0.95 else pick(rng, (":", "", "=="))
        settings.append(f"{name}{separator}{value}")
    return settings


def knob_case(case: int) -> tuple[str, list[str]]:
    rng = case_rng("knobs", case)
    architecture = pick(rng, ("mlp", "cnn"))
    return architecture, random_knob_settings(rng, architecture)


@pytest.mark.parametrize(
    "case", range(NUM_KNOB_CASES), ids=lambda case: f"knobs-{case:03d}"
)
def test_knob_settings_raise_only_value_errors(case):
    architecture, settings = knob_case(case)

    try:
        config = apply_knob_settings(default_config(architecture), settings)
        rows = describe_architecture(config)
    except ValueError as error:
        # KnobError, ArchitectureError and the config's own checks are all
        # ValueErrors whose message names the setting.
        assert str(error).strip(), f"{settings}: the error has no message"
    else:
        assert rows[-1].output_shape == (10,)
        assert all(row.num_parameters >= 0 for row in rows)


def test_knob_fuzz_reaches_valid_and_invalid_configs():
    outcomes = {"valid": 0, "invalid": 0}
    for case in range(NUM_KNOB_CASES):
        architecture, settings = knob_case(case)
        try:
            describe_architecture(
                apply_knob_settings(default_config(architecture), settings)
            )
        except ValueError:
            outcomes["invalid"] += 1
        else:
            outcomes["valid"] += 1

    assert outcomes["valid"] >= NUM_KNOB_CASES // 10
    assert outcomes["invalid"] >= NUM_KNOB_CASES // 10


def small_buildable_configs() -> list:
    """Return fuzzed configs that describe_architecture accepts and are small."""
    configs = []
    for case in range(NUM_KNOB_CASES):
        architecture, settings = knob_case(case)
        try:
            config = apply_knob_settings(default_config(architecture), settings)
            rows = describe_architecture(config)
        except ValueError:
            continue
        if sum(row.num_parameters for row in rows) < 2_000_000:
            configs.append((case, config, rows))
    return configs[:NUM_BUILD_CASES]


def test_described_configs_build_same_parameter_count():
    cases = small_buildable_configs()
    assert cases, "no fuzzed config was small enough to build"
    for case, config, rows in cases:
        model = build_model(config)
        described = sum(row.num_parameters for row in rows)
        assert model.count_params() == described, f"knobs-{case:03d}"
        assert tuple(model.outputs[0].shape[1:]) == (10,), f"knobs-{case:03d}"


@pytest.fixture
def quiet_scheduler(monkeypatch, tmp_path):
    """Pages that start no worker process, on the sample and a fresh folder."""
    monkeypatch.setattr(Scheduler, "warm_up", lambda scheduler: None)
    monkeypatch.setenv("MNIST_DATA", str(SAMPLE_PATH))
    monkeypatch.setenv(storage.MODELS_ENV_VARIABLE, str(tmp_path / "models"))


def link_settings(case: int) -> tuple[str, dict[str, str]]:
    """Return one knob case's architecture and its settings as query parameters."""
    architecture, settings = knob_case(case)
    parameters = {}
    for setting in settings:
        name, _, value = setting.partition("=")
        if name:
            parameters[name] = value
    return architecture, parameters


@pytest.mark.parametrize(
    "case", range(NUM_KNOB_PAGE_CASES * 2), ids=lambda case: f"link-{case:03d}"
)
def test_training_page_link_shows_message_not_exception(case, quiet_scheduler):
    architecture, parameters = link_settings(case)
    app = AppTest.from_file(
        str(APP_PAGES / f"{architecture}.py"), default_timeout=PAGE_TIMEOUT_SECONDS
    )
    for name, value in parameters.items():
        app.query_params[name] = value
    app.run()

    assert not app.exception, f"{parameters}: {app.exception}"
    # The page applies the settings in config_from_settings's order.
    try:
        describe_architecture(config_from_settings(architecture, parameters))
    except ValueError:
        messages = [element.value for element in [*app.error, *app.warning]]
        assert messages, f"{parameters}: the page shows no error or warning"


# Links whose settings are each valid but together build no model.
IMPOSSIBLE_CNN_LINKS = {
    "kernel_after_conv": {"conv_blocks.*.kernel_size": "28"},
    "pool_after_conv": {"conv_blocks": "4:3:relu:max:27"},
    "kernel_after_pool": {"conv_blocks": "2:13:relu:max:7,4:5"},
    "deep_stack": {"conv_blocks": ",".join(["2:5"] * 8)},
}


@pytest.mark.parametrize("link", sorted(IMPOSSIBLE_CNN_LINKS))
def test_cnn_page_impossible_link_shows_error(link, quiet_scheduler):
    app = AppTest.from_file(
        str(APP_PAGES / "cnn.py"), default_timeout=PAGE_TIMEOUT_SECONDS
    )
    for name, value in IMPOSSIBLE_CNN_LINKS[link].items():
        app.query_params[name] = value
    app.run()

    assert not app.exception
    assert app.error, "the page shows no error for an impossible model"


# Drawings: the canvas's RGBA pixels and uploaded pictures.


def random_canvas(rng, case: int) -> np.ndarray:
    """Return a canvas-like picture: empty, full, noise, one pixel or extremes."""
    side = drawing.CANVAS_SIDE
    kind = case % 8
    if kind == 0:
        return np.zeros((side, side, 4), np.uint8)
    if kind == 1:
        return np.full((side, side, 4), 255, np.uint8)
    if kind == 2:
        return rng.integers(0, 256, (side, side, 4), dtype=np.uint8)
    if kind == 3:
        canvas = np.zeros((side, side, 4), np.uint8)
        row, column = rng.integers(0, side, 2)
        canvas[row, column] = 255
        return canvas
    if kind == 4:
        canvas = np.zeros((side, side, 4), np.uint8)
        canvas[..., 3] = 255
        top, left = rng.integers(0, side, 2)
        canvas[top : top + int(rng.integers(1, 60)), left:, :3] = 255
        return canvas
    if kind == 5:
        shape = tuple(int(size) for size in rng.integers(0, 6, int(rng.integers(0, 5))))
        return rng.integers(0, 256, shape, dtype=np.uint8)
    if kind == 6:
        extremes = np.array([0.0, 1.0, -1e30, 1e30, np.finfo(np.float32).max])
        shape = (int(rng.integers(1, 64)), int(rng.integers(1, 64)), 4)
        return rng.choice(extremes, shape).astype(np.float32)
    dtype = pick(rng, (np.uint16, np.int32, np.float64, np.bool_, np.int8))
    shape = (
        int(rng.integers(1, 50)),
        int(rng.integers(1, 50)),
        int(rng.integers(1, 5)),
    )
    values = rng.integers(-(2**15), 2**15, shape)
    return values.astype(dtype)


@pytest.mark.parametrize(
    "case", range(NUM_CANVAS_CASES), ids=lambda case: f"canvas-{case:03d}"
)
def test_canvas_preprocessing_raises_only_value_error(case):
    image = random_canvas(case_rng("canvas", case), case)

    try:
        steps = drawing.preprocess_image(image)
    except ValueError as error:
        assert str(error).strip()
        return
    if steps is not None:
        assert steps.framed.shape == (28, 28)
        assert np.isfinite(steps.framed).all()
        assert steps.framed.min() >= 0.0
        assert steps.framed.max() <= 1.0


def encode_picture(rng) -> bytes:
    """Return a random small PNG or JPEG, in one of Pillow's modes."""
    mode = pick(rng, ("L", "RGB", "RGBA", "LA", "P", "1", "I;16", "F"))
    size = (int(rng.integers(1, 80)), int(rng.integers(1, 80)))
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGB")
    if mode == "I;16":
        image = image.convert("L").convert("I").convert("I;16")
    elif mode == "F":
        image = image.convert("L").convert("F")
    else:
        image = image.convert(mode)
    output = io.BytesIO()
    if mode in ("L", "RGB") and rng.random() < 0.5:
        image.save(output, "JPEG", quality=int(rng.integers(1, 95)))
    else:
        image.save(output, "PNG" if mode != "F" else "TIFF")
    return output.getvalue()


def random_image_upload(rng, case: int) -> bytes:
    kind = case % 5
    if kind == 0:
        return rng.bytes(int(rng.integers(0, 3000)))
    if kind == 1:
        return b"\x89PNG\r\n\x1a\n" + rng.bytes(int(rng.integers(0, 500)))
    picture = encode_picture(rng)
    if kind == 2:
        return picture
    if kind == 3:
        return mutate_flip_bytes(rng, picture)
    return mutate_truncate(rng, picture)


@pytest.mark.parametrize(
    "case", range(NUM_IMAGE_CASES), ids=lambda case: f"picture-{case:03d}"
)
def test_image_upload_raises_only_upload_error(case):
    data = random_image_upload(case_rng("picture", case), case)

    try:
        pixels = drawing.read_upload(data)
    except drawing.UploadError as error:
        assert str(error).strip()
        return
    steps = drawing.preprocess_image(pixels)
    if steps is not None:
        assert steps.framed.shape == (28, 28)


# Data files: Keras-layout .npz archives and folders of IDX files.


def small_arrays(rng) -> dict[str, np.ndarray]:
    return {
        "x_train": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 20, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 10, dtype=np.uint8),
    }


def junk_array(rng) -> np.ndarray:
    kind = int(rng.integers(8))
    if kind == 0:
        return np.zeros((int(rng.integers(0, 4)), 28, 28), np.uint8)
    if kind == 1:
        return rng.integers(0, 256, (5, 27, 28), dtype=np.uint8)
    if kind == 2:
        return rng.random((5, 28, 28))
    if kind == 3:
        return np.array(pick(rng, (-1, 10, 255, 2**40)), np.int64).repeat(20)
    if kind == 4:
        return np.array(["a"] * 20)
    if kind == 5:
        return np.ones(20, bool)
    if kind == 6:
        return np.float32(np.nan).repeat(20)
    return np.zeros(())


def npz_bytes(arrays: dict[str, np.ndarray], compressed: bool) -> bytes:
    output = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(output, **arrays)
    return output.getvalue()


def edit_npy_header(rng, data: bytes) -> bytes:
    """Rewrite one member's .npy header to declare another shape or dtype."""
    members = read_members(data)
    position = int(rng.integers(len(members)))
    name, content = members[position]
    header_end = content.index(b"\n") + 1
    size = pick(rng, (0, 1, 10**6, 10**9, 10**12, 2**62, 10**30))
    descr = pick(rng, ("|u1", "<u8", "|O", "<f4", "|V4", "<U3", "garbage"))
    header = repr({"descr": descr, "fortran_order": False, "shape": (size, 28, 28)})
    header_bytes = header.encode().ljust(header_end - 10 - 1) + b"\n"
    new_header = content[:8] + len(header_bytes).to_bytes(2, "little") + header_bytes
    members[position] = (name, new_header + content[header_end:])
    return write_members(members)


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim])
    for size in array.shape:
        header += int(size).to_bytes(4, "big")
    return header + array.astype(np.uint8).tobytes()


def make_data_file(rng, case: int, folder: Path) -> Path:
    """Write one random or mutated MNIST data file or IDX folder; return its path."""
    kind = case % 8
    arrays = small_arrays(rng)
    if kind == 0:
        arrays[pick(rng, sorted(arrays))] = junk_array(rng)
        data = npz_bytes(arrays, bool(rng.integers(2)))
    elif kind == 1:
        data = npz_bytes(arrays, bool(rng.integers(2)))
        data = pick(rng, (mutate_flip_bytes, mutate_truncate))(rng, data)
    elif kind == 2:
        data = edit_npy_header(rng, npz_bytes(arrays, False))
    elif kind == 3:
        del arrays[pick(rng, sorted(arrays))]
        data = npz_bytes(arrays, False)
    elif kind == 4:
        data = rng.bytes(int(rng.integers(0, 2000)))
    elif kind == 5:
        output = io.BytesIO()
        np.save(output, arrays["x_train"])
        data = output.getvalue()
    else:
        return make_idx_folder(rng, arrays, folder, gzip_files=kind == 7)
    path = folder / pick(rng, ("mnist.npz", "mnist.npy", "mnist.gz", "mnist"))
    path.write_bytes(data)
    return path


def make_idx_folder(rng, arrays, folder: Path, gzip_files: bool) -> Path:
    """Write the four IDX files, one of them damaged, into a new folder."""
    idx_folder = folder / "idx"
    idx_folder.mkdir()
    stems = {
        "x_train": "train-images-idx3-ubyte",
        "y_train": "train-labels-idx1-ubyte",
        "x_test": "t10k-images-idx3-ubyte",
        "y_test": "t10k-labels-idx1-ubyte",
    }
    damaged = pick(rng, sorted(stems))
    for key, stem in stems.items():
        data = idx_bytes(arrays[key])
        if key == damaged:
            damage = int(rng.integers(4))
            if damage == 0:
                data = mutate_flip_bytes(rng, data[:16]) + data[16:]
            elif damage == 1:
                data = mutate_truncate(rng, data)
            elif damage == 2:
                data = bytes([0, 0, 8, int(rng.integers(0, 256))]) + rng.bytes(64)
            else:
                continue
        if gzip_files:
            data = gzip.compress(data)
            if key == damaged and rng.random() < 0.5:
                data = mutate_flip_bytes(rng, data)
        suffix = ".gz" if gzip_files else ""
        (idx_folder / f"{stem}{suffix}").write_bytes(data)
    return idx_folder


@pytest.mark.parametrize(
    "case", range(NUM_DATA_CASES), ids=lambda case: f"data-{case:03d}"
)
def test_data_file_raises_only_data_error(case, tmp_path):
    path = make_data_file(case_rng("data", case), case, tmp_path)

    try:
        dataset = load_from_path(path)
    except DataError as error:
        assert str(error).strip()
        return
    assert dataset.x_train.shape[1:] == (28, 28)
    assert int(dataset.y_train.max()) < 10


# Faults the fuzzing found, each with the value that triggered it.


def npz_with_declared_rows(num_rows: int) -> bytes:
    """Return an .npz whose x_train header declares `num_rows` 28x28 images."""
    arrays = small_arrays(np.random.default_rng(0))
    members = read_members(npz_bytes(arrays, compressed=False))
    name, content = members[0]
    header_end = content.index(b"\n") + 1
    header = repr({"descr": "|u1", "fortran_order": False, "shape": (num_rows, 28, 28)})
    header_bytes = header.encode().ljust(header_end - 11) + b"\n"
    length = len(header_bytes).to_bytes(2, "little")
    members[0] = (name, content[:8] + length + header_bytes + content[header_end:])
    return write_members(members)


@pytest.mark.parametrize(
    "num_rows", [10**12, 10**30], ids=["memory_error", "overflow_error"]
)
def test_load_from_path_rejects_npz_header_huge_shape(num_rows, tmp_path):
    path = tmp_path / "huge.npz"
    path.write_bytes(npz_with_declared_rows(num_rows))

    with pytest.raises(DataError, match="not a readable .npz archive"):
        load_from_path(path)


def test_load_from_path_rejects_npz_expanding_past_limit(tmp_path, monkeypatch):
    path = tmp_path / "mnist.npz"
    arrays = small_arrays(np.random.default_rng(0))
    arrays["x_train"] = np.zeros_like(arrays["x_train"])
    arrays["x_test"] = np.zeros_like(arrays["x_test"])
    path.write_bytes(npz_bytes(arrays, compressed=True))
    # The arrays expand to over 23,000 bytes; the compressed file has about 1,000.
    monkeypatch.setattr("mnist_core.data.MAX_DATA_FILE_BYTES", 20_000)

    with pytest.raises(DataError, match="expand to"):
        load_from_path(path)


def test_load_from_path_rejects_idx_shape_product_overflow(tmp_path):
    arrays = small_arrays(np.random.default_rng(0))
    for key, stem in (
        ("y_train", "train-labels-idx1-ubyte"),
        ("x_test", "t10k-images-idx3-ubyte"),
        ("y_test", "t10k-labels-idx1-ubyte"),
    ):
        (tmp_path / stem).write_bytes(idx_bytes(arrays[key]))
    # 2**31 * 2**31 * 4 is 2**64, which np.prod wraps around to 0 values.
    sizes = (2**31, 2**31, 4)
    header = bytes([0, 0, 0x08, 3]) + b"".join(s.to_bytes(4, "big") for s in sizes)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(header)

    with pytest.raises(DataError, match="header says shape"):
        load_from_path(tmp_path)


def layer_json(class_name: str, **config) -> dict:
    return {
        "module": "keras.layers",
        "class_name": class_name,
        "config": {"name": class_name.lower(), **config},
        "registered_name": None,
    }


def with_layers_after_input(data: bytes, layers: list[dict]) -> bytes:
    def edit(document):
        model_layers(document)[1:1] = layers
        return document

    return edit_json_member(data, "config.json", edit)


IMAGE_LAYER = layer_json("Reshape", target_shape=[28, 28, 1])
FLATTEN_LAYER = layer_json("Flatten")
SIZE_FAULTS = {
    "reshape_zero": [layer_json("Reshape", target_shape=[0, -1])],
    "conv_stride_zero": [
        IMAGE_LAYER,
        layer_json("Conv2D", filters=2, kernel_size=3, strides=0),
        FLATTEN_LAYER,
    ],
    "conv_stride_zero_same": [
        IMAGE_LAYER,
        layer_json("Conv2D", filters=2, kernel_size=3, strides=0, padding="same"),
        FLATTEN_LAYER,
    ],
    "pool_size_zero": [
        IMAGE_LAYER,
        layer_json("MaxPooling2D", pool_size=0),
        FLATTEN_LAYER,
    ],
    "filters_infinite": [
        IMAGE_LAYER,
        layer_json("Conv2D", filters=float("inf"), kernel_size=3),
        FLATTEN_LAYER,
    ],
}


@pytest.mark.parametrize("fault", sorted(SIZE_FAULTS))
def test_upload_size_fault_rejected_by_checks(fault, app_archives, upload_folder):
    data = with_layers_after_input(app_archives["mlp"], SIZE_FAULTS[fault])

    with pytest.raises(uploads.UploadError, match="config cannot be read"):
        uploads.store_upload(data, f"{fault}.keras", "fuzz-owner")


def test_upload_dense_units_infinite_rejected(app_archives, upload_folder):
    def edit(document):
        model_layers(document)[1]["config"]["units"] = float("inf")
        return document

    data = edit_json_member(app_archives["mlp"], "config.json", edit)

    with pytest.raises(uploads.UploadError, match="config cannot be read"):
        uploads.store_upload(data, "units.keras", "fuzz-owner")


@pytest.mark.parametrize("field", ["learning_rate", "seed", "epochs"])
def test_upload_metadata_config_huge_integer_rejected(
    field, app_archives, upload_folder
):
    def edit(document):
        document["config"][field] = 10**400
        return document

    data = edit_json_member(app_archives["mlp"], storage.METADATA_MEMBER, edit)

    with pytest.raises(
        uploads.UploadError, match=f"metadata's config is invalid.*{field}"
    ):
        uploads.store_upload(data, "huge.keras", "fuzz-owner")


def test_upload_keras_error_summarized(app_archives, upload_folder):
    def edit(document):
        model_layers(document)[1]["config"]["units"] = "8"
        return document

    data = edit_json_member(app_archives["mlp"], "config.json", edit)

    with pytest.raises(uploads.UploadError) as raised:
        uploads.store_upload(data, "text-units.keras", "fuzz-owner")
    message = str(raised.value)
    assert message.startswith("Keras could not load the model: Received an invalid")
    assert "units=8" in message
    assert "\n" not in message
    assert len(message) <= 400


def test_upload_keras_error_drops_colour_codes():
    error = ValueError("Exception encountered when calling X.\n\n\x1b[1mboom\x1b[0m\n")

    assert uploads.summarize_keras_error(error) == (
        "Exception encountered when calling X. boom"
    )


@pytest.mark.parametrize("data_source", ["C:\\win.ini", [5], True, 3])
def test_upload_drops_data_source_not_object(data_source, app_archives, upload_folder):
    def edit(document):
        document["data_source"] = data_source
        return document

    data = edit_json_member(app_archives["mlp"], storage.METADATA_MEMBER, edit)

    path = uploads.store_upload(data, "source.keras", "fuzz-owner")
    assert "data_source" not in storage.read_metadata(path)


def test_models_page_survives_odd_data_source(app_archives, upload_folder):
    def edit(document):
        document["data_source"] = "<script>alert(1)</script>"
        return document

    data = edit_json_member(app_archives["mlp"], storage.METADATA_MEMBER, edit)
    app = AppTest.from_file(
        str(APP_PAGES / "models.py"), default_timeout=PAGE_TIMEOUT_SECONDS
    )
    app.run()
    app.file_uploader(key=state.MODELS_UPLOAD).set_value(
        ("source.keras", data, "application/octet-stream")
    )
    app.run()

    assert not app.exception
    assert any("Uploaded as source" in message.value for message in app.success)
    app.run()
    assert not app.exception
