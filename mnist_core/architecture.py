"""Layer shapes, parameter counts and multiply-accumulates, computed without Keras.

The pages show these before training, so they must not import TensorFlow. The
arithmetic follows Keras's "valid" padding: a Conv2D with a k x k kernel turns
an n x n map into (n - k + 1) x (n - k + 1), and a p x p pooling window with
its default stride p turns it into floor((n - p) / p) + 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from mnist_core.config import (
    GLOBAL_POOLINGS,
    IMAGE_SIZE,
    NUM_CLASSES,
    CNNConfig,
    MLPConfig,
    RunConfig,
    default_config,
)

_POOLING_NAMES = {
    "max": "MaxPooling2D",
    "average": "AveragePooling2D",
    "global_max": "GlobalMaxPooling2D",
    "global_average": "GlobalAveragePooling2D",
}


class ArchitectureError(ValueError):
    """A knob combination that cannot be built, naming the layer at fault."""


@dataclass(frozen=True)
class LayerRow:
    """One layer of a model as the pages list it."""

    name: str
    layer_type: str
    output_shape: tuple[int, ...]  # without the batch axis
    num_parameters: int
    macs: int  # multiply-accumulate operations for one image


def _image_shape(size: int, channels: int, data_format: str) -> tuple[int, ...]:
    if data_format == "channels_first":
        return (channels, size, size)
    return (size, size, channels)


def describe_mlp(config: MLPConfig) -> list[LayerRow]:
    """List the MLP's layers with output shapes, parameters and MACs."""
    rows = []
    width = IMAGE_SIZE * IMAGE_SIZE
    for index, spec in enumerate(config.hidden_layers, start=1):
        parameters = width * spec.units + spec.units
        macs = width * spec.units
        rows.append(
            LayerRow(f"dense_{index}", "Dense", (spec.units,), parameters, macs)
        )
        if spec.dropout_rate > 0:
            rows.append(LayerRow(f"dropout_{index}", "Dropout", (spec.units,), 0, 0))
        width = spec.units
    output_parameters = width * NUM_CLASSES + NUM_CLASSES
    output_macs = width * NUM_CLASSES
    rows.append(
        LayerRow("output", "Dense", (NUM_CLASSES,), output_parameters, output_macs)
    )
    return rows


def describe_cnn(config: CNNConfig) -> list[LayerRow]:
    """List the CNN's layers; raises ArchitectureError if a map would vanish."""
    rows = []
    size = IMAGE_SIZE
    channels = 1
    data_format = config.data_format
    for index, block in enumerate(config.conv_blocks, start=1):
        kernel = block.kernel_size
        if kernel > size:
            raise ArchitectureError(
                f"conv_{index}: a {kernel}x{kernel} kernel is larger than the "
                f"{size}x{size} feature map it receives; use a kernel of at most "
                f"{size}x{size} or fewer pooling layers before it"
            )
        size = size - kernel + 1
        parameters = kernel * kernel * channels * block.filters + block.filters
        macs = size * size * kernel * kernel * channels * block.filters
        shape = _image_shape(size, block.filters, data_format)
        rows.append(LayerRow(f"conv_{index}", "Conv2D", shape, parameters, macs))
        channels = block.filters
        if block.pooling == "none":
            continue
        layer_type = _POOLING_NAMES[block.pooling]
        if block.pooling in GLOBAL_POOLINGS:
            rows.append(LayerRow(f"pool_{index}", layer_type, (channels,), 0, 0))
            size = 0
            continue
        window = block.pool_size
        if window > size:
            raise ArchitectureError(
                f"pool_{index}: a {window}x{window} pooling window is larger than "
                f"the {size}x{size} feature map from conv_{index}; the map would "
                "shrink below one pixel. Use a smaller pool size or kernel"
            )
        size = (size - window) // window + 1
        shape = _image_shape(size, channels, data_format)
        rows.append(LayerRow(f"pool_{index}", layer_type, shape, 0, 0))

    width = channels if size == 0 else size * size * channels
    if config.conv_dropout_rate > 0:
        last_shape = rows[-1].output_shape
        rows.append(LayerRow("dropout_conv", "Dropout", last_shape, 0, 0))
    if size != 0:
        rows.append(LayerRow("flatten", "Flatten", (width,), 0, 0))
    units = config.dense_units
    rows.append(
        LayerRow("dense", "Dense", (units,), width * units + units, width * units)
    )
    if config.dense_dropout_rate > 0:
        rows.append(LayerRow("dropout_dense", "Dropout", (units,), 0, 0))
    output_parameters = units * NUM_CLASSES + NUM_CLASSES
    rows.append(
        LayerRow(
            "output", "Dense", (NUM_CLASSES,), output_parameters, units * NUM_CLASSES
        )
    )
    return rows


def describe_architecture(config: RunConfig) -> list[LayerRow]:
    """List the layers `config` builds; raises ArchitectureError if impossible."""
    if config.architecture == "mlp":
        return describe_mlp(config)
    return describe_cnn(config)


def check_buildable(config: RunConfig) -> None:
    """Raise ArchitectureError if the config's layers cannot be built."""
    describe_architecture(config)


def count_parameters(config: RunConfig) -> int:
    """Return the number of trainable parameters the config's model has."""
    return sum(row.num_parameters for row in describe_architecture(config))


def count_macs(config: RunConfig) -> int:
    """Return multiply-accumulate operations for one forward pass of one image."""
    return sum(row.macs for row in describe_architecture(config))


def compare_with_tutorial(config: RunConfig) -> dict[str, tuple[int, int]]:
    """Return {"parameters": (tutorial, this), "macs": (tutorial, this)}."""
    reference = default_config(config.architecture)
    return {
        "parameters": (count_parameters(reference), count_parameters(config)),
        "macs": (count_macs(reference), count_macs(config)),
    }
