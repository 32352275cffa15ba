"""Write a run's config as a standalone Keras script, step by step like the tutorial.

`generate_script(config)` returns a Python script that loads MNIST, applies
the run's training-set limit, image operation and validation mode with NumPy,
builds the same layers with plain `keras.Sequential`, compiles with the same
optimizer and learning rate, trains and evaluates. `diff_against_default`
returns the numbers of the lines that differ from the script of the
tutorial's model; `generate_script` marks them with a trailing "# changed".
"""

from __future__ import annotations

import difflib

from mnist_core.config import CNNConfig, MLPConfig, RunConfig, default_config
from mnist_core.script_parts import (
    DATA_LINES,
    OPERATION_FUNCTIONS,
    SPLIT_LINES,
    header_lines,
)

CHANGED_MARK = "  # changed"
OPTIMIZER_CLASSES = {
    "rmsprop": "RMSprop",
    "sgd": "SGD",
    "adam": "Adam",
    "adadelta": "Adadelta",
    "adagrad": "Adagrad",
}
POOLING_CLASSES = {
    "max": "MaxPooling2D",
    "average": "AveragePooling2D",
    "global_max": "GlobalMaxPooling2D",
    "global_average": "GlobalAveragePooling2D",
}


def _settings_lines(config: RunConfig) -> list[str]:
    lines = [
        "# Settings",
        f"batch_size = {config.batch_size}",
        "num_classes = 10",
        f"epochs = {config.epochs}",
        f"learning_rate = {config.learning_rate!r}",
    ]
    if config.optimizer == "adadelta":
        lines[-1] += "  # the tutorial's Keras used 1.0; Keras 3's default is 0.001"
    if config.optimizer == "sgd":
        lines.append(f"momentum = {config.momentum!r}")
    lines += [
        f"seed = {config.seed}",
        f"train_limit = {config.train_limit}  # first N training images; None: all",
    ]
    if isinstance(config, CNNConfig):
        lines.append(f'data_format = "{config.data_format}"')
    lines += ["", "keras.utils.set_random_seed(seed)"]
    if config.precision == "mixed_bfloat16":
        lines.append('keras.mixed_precision.set_global_policy("mixed_bfloat16")')
    return lines + [""]


def _operation_lines(config: RunConfig) -> list[str]:
    operation = config.image_operation
    if not operation.active:
        return []
    settings = {
        "rotate": f"angle = {operation.angle!r}  # degrees, counter-clockwise",
        "shift": f"shift_pixels = {operation.shift_pixels}  # right and down",
        "noise": f"noise_std = {operation.noise_std!r}  # on the 0..1 pixel scale",
    }
    lines = [
        f"# Image operation: {operation.name} on a random share of the images.",
        f"train_share = {operation.train_share!r}",
        f"test_share = {operation.test_share!r}",
    ]
    if operation.name in settings:
        lines.append(settings[operation.name])
    lines += ["", ""]
    lines += OPERATION_FUNCTIONS[operation.name].splitlines()
    lines += [
        "",
        "",
        "def operate_share(images, share, rng):",
        '    """Operate on round(share * len(images)) images chosen at random."""',
        "    operated = np.zeros(len(images), dtype=bool)",
        "    count = int(round(share * len(images)))",
        "    if count:",
        "        chosen = rng.choice(len(images), size=count, replace=False)",
        "        operated[chosen] = True",
        "    images = images.copy()",
        "    images[operated] = operate(images[operated], rng)",
        "    return images, operated",
        "",
        "",
        "train_rng = np.random.default_rng(seed)",
        "x_train, train_operated = operate_share(x_train, train_share, train_rng)",
        "test_rng = np.random.default_rng(seed + 1)",
        "x_test, test_operated = operate_share(x_test, test_share, test_rng)",
        "",
    ]
    return lines


def _preprocess_lines(config: RunConfig) -> list[str]:
    splits = ["train", "test"]
    if config.validation == "split":
        splits.insert(1, "val")
    if isinstance(config, MLPConfig):
        lines = [
            "# Preprocess: flatten each image to 784 values and scale them to [0, 1].",
            "input_shape = (784,)",
        ]
    else:
        lines = [
            "# Preprocess: add the channel axis where data_format puts it, and",
            "# scale the pixels to [0, 1].",
            'if data_format == "channels_first":',
            "    input_shape = (1, 28, 28)",
            "else:",
            "    input_shape = (28, 28, 1)",
        ]
    for split in splits:
        lines.append(
            f"x_{split} = x_{split}.reshape(len(x_{split}), *input_shape)"
            '.astype("float32") / 255'
        )
    lines += ['print(x_train.shape[0], "train samples")', ""]
    lines.append("# Convert class vectors to one-hot rows.")
    for split in splits:
        lines.append(f"y_{split} = keras.utils.to_categorical(y_{split}, num_classes)")
    return lines + [""]


def _mlp_layers(config: MLPConfig) -> list[str]:
    lines = ["keras.Input(shape=input_shape),"]
    for layer in config.hidden_layers:
        lines.append(
            f'keras.layers.Dense({layer.units}, activation="{layer.activation}"),'
        )
        if layer.dropout_rate > 0:
            lines.append(f"keras.layers.Dropout({layer.dropout_rate!r}),")
    return lines


def _cnn_layers(config: CNNConfig) -> list[str]:
    lines = ["keras.Input(shape=input_shape),"]
    for block in config.conv_blocks:
        kernel = f"({block.kernel_size}, {block.kernel_size})"
        lines += [
            "keras.layers.Conv2D(",
            f"    {block.filters},",
            f"    kernel_size={kernel},",
            f'    activation="{block.activation}",',
            "    data_format=data_format,",
            "),",
        ]
        if block.pooling in ("max", "average"):
            pool = f"({block.pool_size}, {block.pool_size})"
            lines.append(
                f"keras.layers.{POOLING_CLASSES[block.pooling]}("
                f"pool_size={pool}, data_format=data_format),"
            )
        elif block.pooling != "none":
            lines.append(
                f"keras.layers.{POOLING_CLASSES[block.pooling]}(data_format=data_format),"
            )
    if config.conv_dropout_rate > 0:
        lines.append(f"keras.layers.Dropout({config.conv_dropout_rate!r}),")
    if config.conv_blocks[-1].pooling not in ("global_max", "global_average"):
        lines.append("keras.layers.Flatten(data_format=data_format),")
    activation = config.dense_activation
    lines.append(
        f'keras.layers.Dense({config.dense_units}, activation="{activation}"),'
    )
    if config.dense_dropout_rate > 0:
        lines.append(f"keras.layers.Dropout({config.dense_dropout_rate!r}),")
    return lines


def _model_lines(config: RunConfig) -> list[str]:
    if isinstance(config, MLPConfig):
        layers = _mlp_layers(config)
    else:
        layers = _cnn_layers(config)
    output = f'num_classes, activation="{config.output_activation}"'
    if config.precision == "mixed_bfloat16":
        # The softmax stays in float32 under mixed precision.
        output += ', dtype="float32"'
    layers.append(f"keras.layers.Dense({output}),")
    lines = ["# Model", "model = keras.Sequential(", "    ["]
    lines += [f"        {line}" for line in layers]
    lines += ["    ],", f'    name="{config.architecture}",', ")", "model.summary()"]
    return lines + [""]


def _compile_lines(config: RunConfig) -> list[str]:
    optimizer = OPTIMIZER_CLASSES[config.optimizer]
    arguments = "learning_rate=learning_rate"
    if config.optimizer == "sgd":
        arguments += ", momentum=momentum"
    lines = [
        "# Compile",
        "model.compile(",
        '    loss="categorical_crossentropy",',
        f"    optimizer=keras.optimizers.{optimizer}({arguments}),",
        '    metrics=["accuracy"],',
    ]
    if config.steps_per_execution not in (None, 1):
        lines.append(f"    steps_per_execution={config.steps_per_execution},")
    if isinstance(config, CNNConfig) and config.data_format == "channels_first":
        # TensorFlow 2.21's CPU kernels compute Conv2D gradients only for
        # channels_last; XLA compiles channels_first on the CPU too.
        lines.append(
            "    jit_compile=True,  # channels_first trains on a CPU only with XLA"
        )
    return lines + [")", ""]


def _fit_and_evaluate_lines(config: RunConfig) -> list[str]:
    validation = (
        "(x_val, y_val)" if config.validation == "split" else "(x_test, y_test)"
    )
    lines = [
        "# Train",
        "history = model.fit(",
        "    x_train,",
        "    y_train,",
        "    batch_size=batch_size,",
        "    epochs=epochs,",
        "    verbose=1,",
        f"    validation_data={validation},",
        ")",
        "",
        "# Evaluate",
        "score = model.evaluate(x_test, y_test, verbose=0)",
        'print("Test loss:", score[0])',
        'print("Test accuracy:", score[1])',
    ]
    operation = config.image_operation
    if operation.active and operation.test_share > 0:
        lines += [
            "predicted = np.argmax(model.predict(x_test, verbose=0), axis=1)",
            "correct = predicted == np.argmax(y_test, axis=1)",
            'print("Operated test accuracy:", correct[test_operated].mean())',
        ]
        if operation.test_share < 1:
            lines.append(
                'print("Untouched test accuracy:", correct[~test_operated].mean())'
            )
    return lines


def _script_lines(config: RunConfig) -> list[str]:
    lines = header_lines(config.architecture)
    lines += _settings_lines(config)
    lines += DATA_LINES
    lines += _operation_lines(config)
    if config.validation == "split":
        lines += [SPLIT_LINES[0], f"validation_split = {config.validation_split!r}"]
        lines += SPLIT_LINES[1:]
    lines += _preprocess_lines(config)
    lines += _model_lines(config)
    lines += _compile_lines(config)
    lines += _fit_and_evaluate_lines(config)
    return lines


def diff_against_default(config: RunConfig) -> set[int]:
    """Return the 1-based numbers of the script's lines that the default lacks."""
    lines = _script_lines(config)
    default_lines = _script_lines(default_config(config.architecture))
    matcher = difflib.SequenceMatcher(a=default_lines, b=lines, autojunk=False)
    changed = set()
    for tag, _, _, start, end in matcher.get_opcodes():
        if tag != "equal":
            changed.update(range(start + 1, end + 1))
    return {number for number in changed if lines[number - 1].strip()}


def generate_script(config: RunConfig, mark_changes: bool = True) -> str:
    """Return a standalone Keras script that trains and evaluates `config`.

    With `mark_changes`, lines that differ from the tutorial model's script
    end in "# changed".
    """
    lines = _script_lines(config)
    if mark_changes:
        for number in diff_against_default(config):
            lines[number - 1] += CHANGED_MARK
    return "\n".join(lines) + "\n"


def script_filename(config: RunConfig) -> str:
    """Return a file name for the script, e.g. `mnist_cnn.py`."""
    return f"mnist_{config.architecture}.py"
