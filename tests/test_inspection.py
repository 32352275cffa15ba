"""Tests for mnist_core.inspection, checked against NumPy written in the tests."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from mnist_core import storage
from mnist_core.config import CNNConfig, ConvBlockSpec, MLPConfig
from mnist_core.data import SAMPLE_PATH, load_from_path
from mnist_core.inspection import ModelInspector
from mnist_core.mistakes import confusion_matrix, predicted_labels
from mnist_core.model_layers import InspectionError
from mnist_core.models import build_cnn, build_mlp
from mnist_core.training import train_model

SMALL_CNN = CNNConfig(
    conv_blocks=(ConvBlockSpec(filters=4), ConvBlockSpec(filters=6, pooling="max")),
    dense_units=16,
    epochs=1,
    train_limit=500,
    batch_size=64,
    optimizer="adam",
    learning_rate=0.005,
    precision="float32",
)


@pytest.fixture(scope="module")
def dataset():
    return load_from_path(SAMPLE_PATH)


@pytest.fixture(scope="module")
def image(dataset):
    """A test digit as float32 (28, 28) in [0, 1]."""
    return dataset.x_test[0].astype(np.float32) / 255.0


@pytest.fixture(scope="module")
def fresh_cnn():
    return build_cnn(SMALL_CNN)


@pytest.fixture(scope="module")
def loaded_cnn(fresh_cnn, tmp_path_factory):
    path = storage.save_model(
        fresh_cnn, {"model": "cnn"}, "small-cnn", tmp_path_factory.mktemp("models")
    )
    model, _ = storage.load_model(path)
    return model


def convolve(images: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Valid cross-correlation of (height, width, channels) with Keras's
    (kernel_height, kernel_width, channels, filters) kernel, as (filters, h, w)."""
    kernel_height, kernel_width = kernel.shape[:2]
    # (out_height, out_width, channels, kernel_height, kernel_width)
    windows = sliding_window_view(images, (kernel_height, kernel_width), axis=(0, 1))
    return np.einsum("ijcab,abcf->fij", windows, kernel) + bias[:, None, None]


def pool_2x2(maps: np.ndarray, reduce) -> np.ndarray:
    """Pool (channels, height, width) maps over 2x2 windows, dropping odd edges."""
    channels, height, width = maps.shape
    result = np.empty((channels, height // 2, width // 2), dtype=np.float32)
    for row in range(height // 2):
        for column in range(width // 2):
            window = maps[:, 2 * row : 2 * row + 2, 2 * column : 2 * column + 2]
            result[:, row, column] = reduce(window.reshape(channels, 4), axis=1)
    return result


def relu(values: np.ndarray) -> np.ndarray:
    return np.maximum(values, 0)


@pytest.mark.parametrize("which", ["fresh", "loaded"])
def test_first_conv_map_matches_numpy(which, fresh_cnn, loaded_cnn, image):
    model = fresh_cnn if which == "fresh" else loaded_cnn
    kernel, bias = model.layers[0].get_weights()
    expected = relu(convolve(image[:, :, None], kernel, bias))

    outputs, _ = ModelInspector(model).layer_outputs(image)

    assert outputs[0].values.shape == (4, 26, 26)
    np.testing.assert_allclose(outputs[0].values, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("which", ["fresh", "loaded"])
def test_max_pool_map_matches_window_max(which, fresh_cnn, loaded_cnn, image):
    model = fresh_cnn if which == "fresh" else loaded_cnn
    first_kernel, first_bias = model.layers[0].get_weights()
    second_kernel, second_bias = model.layers[1].get_weights()
    first = relu(convolve(image[:, :, None], first_kernel, first_bias))
    second = relu(convolve(first.transpose(1, 2, 0), second_kernel, second_bias))
    expected = pool_2x2(second, np.max)

    outputs, _ = ModelInspector(model).layer_outputs(image)
    pooled = [output for output in outputs if output.layer_type == "MaxPooling2D"]

    assert len(pooled) == 1
    assert pooled[0].values.shape == (6, 12, 12)
    np.testing.assert_allclose(pooled[0].values, expected, rtol=1e-4, atol=1e-5)


def test_layer_outputs_in_forward_order(fresh_cnn, image):
    outputs, probabilities = ModelInspector(fresh_cnn).layer_outputs(image)

    names = [output.name for output in outputs]
    assert names == ["conv_1", "conv_2", "pool_2", "dense"]
    assert outputs[1].output_shape == (24, 24, 6)
    assert probabilities.shape == (10,)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)


def build_channels_first_cnn() -> keras.Model:
    """A functional CNN with names and data format this app never uses."""
    inputs = keras.Input(shape=(1, 28, 28), name="pixels_in")
    features = keras.layers.Conv2D(
        3, kernel_size=5, data_format="channels_first", name="edge_finder"
    )(inputs)
    pooled = keras.layers.AveragePooling2D(
        pool_size=2, data_format="channels_first", name="squash"
    )(features)
    flat = keras.layers.Flatten(name="unroll")(pooled)
    answer = keras.layers.Dense(10, activation="softmax", name="answer")(flat)
    return keras.Model(inputs, answer, name="borrowed")


@pytest.fixture(scope="module")
def channels_first_models(tmp_path_factory):
    model = build_channels_first_cnn()
    path = tmp_path_factory.mktemp("borrowed") / "borrowed.keras"
    model.save(path)
    loaded = keras.models.load_model(path, compile=False, safe_mode=True)
    return {"fresh": model, "loaded": loaded}


@pytest.mark.parametrize("which", ["fresh", "loaded"])
def test_channels_first_model_maps_match_numpy(which, channels_first_models, image):
    model = channels_first_models[which]
    kernel, bias = model.get_layer("edge_finder").get_weights()
    convolved = convolve(image[:, :, None], kernel, bias)  # linear activation
    averaged = pool_2x2(convolved, np.mean)

    inspector = ModelInspector(model)
    outputs, _ = inspector.layer_outputs(image)

    assert inspector.kind == "cnn"
    assert [output.name for output in outputs] == ["edge_finder", "squash"]
    assert outputs[0].output_shape == (3, 24, 24)
    np.testing.assert_allclose(outputs[0].values, convolved, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(outputs[1].values, averaged, rtol=1e-4, atol=1e-5)


def test_channels_first_sequential_with_other_names(image, tmp_path):
    model = keras.Sequential(
        [
            keras.Input(shape=(1, 28, 28)),
            keras.layers.Conv2D(
                2,
                kernel_size=3,
                activation="relu",
                data_format="channels_first",
                name="first_look",
            ),
            keras.layers.MaxPooling2D(data_format="channels_first", name="shrink"),
            keras.layers.Flatten(name="line_up"),
            keras.layers.Dense(10, activation="softmax", name="verdict"),
        ]
    )
    path = tmp_path / "sequential.keras"
    model.save(path)
    loaded = keras.models.load_model(path, compile=False, safe_mode=True)
    kernel, bias = loaded.get_layer("first_look").get_weights()
    expected = pool_2x2(relu(convolve(image[:, :, None], kernel, bias)), np.max)

    outputs, _ = ModelInspector(loaded).layer_outputs(image)

    assert outputs[1].name == "shrink"
    np.testing.assert_allclose(outputs[1].values, expected, rtol=1e-4, atol=1e-5)


def test_planted_kernel_appears_in_conv_kernels(fresh_cnn):
    model = keras.models.clone_model(fresh_cnn)
    layer = model.layers[1]
    kernel, bias = layer.get_weights()
    planted = np.arange(1, 10, dtype=np.float32).reshape(3, 3)
    kernel[:] = 0
    kernel[:, :, 2, 5] = planted  # input channel 2 of filter 5
    layer.set_weights([kernel, bias])

    kernels = ModelInspector(model).conv_kernels()[layer.name]

    assert kernels.shape == (6, 4, 3, 3)
    np.testing.assert_array_equal(kernels[5, 2], planted)
    assert np.count_nonzero(kernels) == 9


def build_one_pixel_mlp(pixel: int) -> keras.Model:
    """An MLP whose first Dense kernel is zero except the row of one pixel."""
    model = build_mlp(MLPConfig(precision="float32"))
    first = model.layers[0]
    kernel, bias = first.get_weights()
    kernel[:] = 0
    kernel[pixel] = 1.0
    first.set_weights([kernel, np.zeros_like(bias)])
    return model


def test_saliency_of_one_pixel_model(image):
    pixel = 14 * 28 + 15
    model = build_one_pixel_mlp(pixel)
    bright = image.copy()
    bright[14, 15] = 1.0  # lets the ReLU units pass a gradient

    saliency = ModelInspector(model).saliency(bright)

    assert saliency.shape == (28, 28)
    assert saliency[14, 15] == pytest.approx(1.0)
    assert np.count_nonzero(saliency) == 1


def test_mlp_hidden_activations_match_numpy(image):
    model = build_mlp(MLPConfig(precision="float32"))
    kernel, bias = model.layers[0].get_weights()
    expected = relu(image.reshape(784) @ kernel + bias)

    inspector = ModelInspector(model)
    outputs, _ = inspector.layer_outputs(image)

    assert inspector.kind == "mlp"
    assert [output.name for output in outputs] == ["dense_1", "dense_2"]
    np.testing.assert_allclose(outputs[0].values, expected, rtol=1e-4, atol=1e-5)


def test_first_dense_weights_put_pixel_in_place():
    model = build_mlp(MLPConfig(precision="float32"))
    kernel, bias = model.layers[0].get_weights()
    kernel[3 * 28 + 7, 5] = 42.0  # unit 5 reads pixel (row 3, column 7)
    model.layers[0].set_weights([kernel, bias])

    weights = ModelInspector(model).first_dense_weights()

    assert weights.shape == (512, 28, 28)
    assert weights[5, 3, 7] == 42.0


def test_first_dense_weights_none_for_cnn(fresh_cnn):
    assert ModelInspector(fresh_cnn).first_dense_weights() is None


def test_model_input_shape_rejects_wrong_size():
    model = keras.Sequential(
        [keras.Input(shape=(32, 32, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    with pytest.raises(InspectionError, match="28 x 28"):
        ModelInspector(model)


def test_inspector_rejects_wrong_output_size():
    model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(5)])
    with pytest.raises(InspectionError, match=r"\(10,\)"):
        ModelInspector(model)


@pytest.fixture(scope="module")
def trained_cnn(dataset):
    _, model = train_model(SMALL_CNN, dataset)
    return model


def test_confusion_matrix_of_trained_cnn(trained_cnn, dataset):
    inspector = ModelInspector(trained_cnn)
    probabilities, softmaxed = inspector.test_probabilities(
        dataset.x_test, dataset.fingerprint
    )
    predicted = predicted_labels(probabilities)

    matrix = confusion_matrix(dataset.y_test, predicted)

    assert not softmaxed
    assert np.trace(matrix) == np.sum(predicted == dataset.y_test)
    assert matrix.sum() == dataset.num_test
    assert np.trace(matrix) / matrix.sum() > 0.2  # above chance after one epoch


def test_test_probabilities_computed_once(trained_cnn, dataset):
    inspector = ModelInspector(trained_cnn)

    first, _ = inspector.test_probabilities(dataset.x_test, dataset.fingerprint)
    second, _ = inspector.test_probabilities(dataset.x_test, dataset.fingerprint)

    assert first is second


def test_bfloat16_model_outputs_float32(image):
    model = build_cnn(SMALL_CNN, dtype="mixed_bfloat16")
    inspector = ModelInspector(model)

    outputs, probabilities = inspector.layer_outputs(image)
    saliency = inspector.saliency(image)

    assert outputs[0].values.dtype == np.float32
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-3)
    assert np.isfinite(saliency).all()
    assert saliency.max() == pytest.approx(1.0)


def test_functional_model_with_nested_model_rejected():
    inner = keras.Sequential(
        [keras.layers.Conv2D(2, 3, activation="relu"), keras.layers.MaxPooling2D()]
    )
    inputs = keras.Input(shape=(28, 28, 1))
    flat = keras.layers.Flatten()(inner(inputs))
    outputs = keras.layers.Dense(10, activation="softmax")(flat)

    with pytest.raises(InspectionError, match="functional model"):
        ModelInspector(keras.Model(inputs, outputs))


def test_sequential_with_nested_sequential_opened(image):
    inner = keras.Sequential(
        [keras.layers.Conv2D(2, 3, activation="relu"), keras.layers.MaxPooling2D()]
    )
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            inner,
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )

    outputs, _ = ModelInspector(model).layer_outputs(image)

    assert [output.layer_type for output in outputs] == ["Conv2D", "MaxPooling2D"]
