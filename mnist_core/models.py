"""Model builders: a config in, an uncompiled Keras model out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mnist_core.architecture import check_buildable
from mnist_core.config import (
    IMAGE_SIZE,
    NUM_CLASSES,
    CNNConfig,
    MLPConfig,
    RunConfig,
)

if TYPE_CHECKING:
    import keras

_POOLING_LAYERS = {
    "max": "MaxPooling2D",
    "average": "AveragePooling2D",
    "global_max": "GlobalMaxPooling2D",
    "global_average": "GlobalAveragePooling2D",
}


def _glorot(seed: int, layer_number: int):
    """Keras's default kernel initializer, seeded per layer from the run's seed."""
    import keras

    return keras.initializers.GlorotUniform(seed=seed * 1000 + layer_number)


def input_shape_for(config: RunConfig) -> tuple[int, ...]:
    """Return the input shape the model expects, without the batch axis."""
    if config.architecture == "mlp":
        return (IMAGE_SIZE * IMAGE_SIZE,)
    if config.data_format == "channels_first":
        return (1, IMAGE_SIZE, IMAGE_SIZE)
    return (IMAGE_SIZE, IMAGE_SIZE, 1)


def build_mlp(config: MLPConfig = MLPConfig(), dtype: str = "float32") -> keras.Model:
    """Build the MLP; with no arguments, the tutorial's 669,706-parameter model.

    `dtype` is a Keras dtype policy name given to every hidden layer (for
    example "mixed_bfloat16"); the softmax output always computes in float32.
    """
    import keras

    layers = [keras.Input(shape=input_shape_for(config), name="pixels")]
    for index, spec in enumerate(config.hidden_layers, start=1):
        dense = keras.layers.Dense(
            spec.units,
            activation=spec.activation,
            kernel_initializer=_glorot(config.seed, index),
            dtype=dtype,
            name=f"dense_{index}",
        )
        layers.append(dense)
        if spec.dropout_rate > 0:
            dropout = keras.layers.Dropout(
                rate=spec.dropout_rate,
                seed=config.seed + index,
                dtype=dtype,
                name=f"dropout_{index}",
            )
            layers.append(dropout)
    output = keras.layers.Dense(
        NUM_CLASSES,
        activation=config.output_activation,
        kernel_initializer=_glorot(config.seed, 100),
        dtype="float32",
        name="output",
    )
    layers.append(output)
    return keras.Sequential(layers, name="mlp")


def build_cnn(config: CNNConfig = CNNConfig(), dtype: str = "float32") -> keras.Model:
    """Build the CNN; with no arguments, the tutorial's 1,199,882-parameter model.

    Every conv and pooling layer gets `data_format=` explicitly, because
    Keras's image data format setting is shared by the whole process. Raises
    ArchitectureError when a kernel or pool window is larger than its input.
    """
    import keras

    check_buildable(config)
    data_format = config.data_format
    layers = [keras.Input(shape=input_shape_for(config), name="image")]
    for index, block in enumerate(config.conv_blocks, start=1):
        conv = keras.layers.Conv2D(
            block.filters,
            kernel_size=(block.kernel_size, block.kernel_size),
            activation=block.activation,
            kernel_initializer=_glorot(config.seed, index),
            data_format=data_format,
            dtype=dtype,
            name=f"conv_{index}",
        )
        layers.append(conv)
        if block.pooling != "none":
            layers.append(_pooling_layer(block, data_format, dtype, index))

    last_pooling = config.conv_blocks[-1].pooling
    if config.conv_dropout_rate > 0:
        conv_dropout = keras.layers.Dropout(
            rate=config.conv_dropout_rate,
            seed=config.seed + 1,
            dtype=dtype,
            name="dropout_conv",
        )
        layers.append(conv_dropout)
    if last_pooling not in ("global_max", "global_average"):
        layers.append(
            keras.layers.Flatten(data_format=data_format, dtype=dtype, name="flatten")
        )

    dense = keras.layers.Dense(
        config.dense_units,
        activation=config.dense_activation,
        kernel_initializer=_glorot(config.seed, 50),
        dtype=dtype,
        name="dense",
    )
    layers.append(dense)
    if config.dense_dropout_rate > 0:
        dense_dropout = keras.layers.Dropout(
            rate=config.dense_dropout_rate,
            seed=config.seed + 2,
            dtype=dtype,
            name="dropout_dense",
        )
        layers.append(dense_dropout)
    output = keras.layers.Dense(
        NUM_CLASSES,
        activation=config.output_activation,
        kernel_initializer=_glorot(config.seed, 100),
        dtype="float32",
        name="output",
    )
    layers.append(output)
    return keras.Sequential(layers, name="cnn")


def _pooling_layer(block, data_format: str, dtype: str, index: int):
    import keras

    layer_class = getattr(keras.layers, _POOLING_LAYERS[block.pooling])
    name = f"pool_{index}"
    if block.pooling.startswith("global"):
        return layer_class(data_format=data_format, dtype=dtype, name=name)
    return layer_class(
        pool_size=(block.pool_size, block.pool_size),
        data_format=data_format,
        dtype=dtype,
        name=name,
    )


def build_model(config: RunConfig, dtype: str = "float32") -> keras.Model:
    """Build the uncompiled model that `config` describes."""
    if config.architecture == "mlp":
        return build_mlp(config, dtype=dtype)
    return build_cnn(config, dtype=dtype)


def build_optimizer(config: RunConfig) -> keras.optimizers.Optimizer:
    """Build the config's optimizer, always with an explicit learning rate."""
    import keras

    rate = config.learning_rate
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=rate)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=rate, momentum=config.momentum)
    if config.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=rate)
    if config.optimizer == "adagrad":
        return keras.optimizers.Adagrad(learning_rate=rate)
    # Adadelta: the tutorial's Keras used 1.0; today's default is 0.001.
    return keras.optimizers.Adadelta(learning_rate=rate)


def needs_xla(config: RunConfig) -> bool:
    """Return True for a channels_first CNN on a machine without a GPU.

    TensorFlow's CPU kernels compute Conv2D gradients only for channels_last
    (TensorFlow 2.21 fails with "Conv2DCustomBackpropFilterOp only supports
    NHWC"); XLA compiles the channels_first gradients on the CPU as well.
    NOTE: measured on a 2-core CPU, the XLA-compiled CNN ran several times
    slower per epoch than the same CNN in channels_last.
    """
    if config.architecture != "cnn" or config.data_format != "channels_first":
        return False
    import tensorflow as tf

    return not tf.config.list_logical_devices("GPU")


def compile_model(
    model: keras.Model, config: RunConfig, steps_per_execution: int = 1
) -> None:
    """Compile with the tutorial's loss and metric and the config's optimizer."""
    model.compile(
        loss="categorical_crossentropy",
        optimizer=build_optimizer(config),
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
        jit_compile=True if needs_xla(config) else "auto",
    )
