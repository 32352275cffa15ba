"""Tests for the plain-words causes read from a run's config."""

from mnist_core.config import CNNConfig, DenseLayerSpec, MLPConfig, config_to_dict
from mnist_core.likely_causes import (
    dropout_rates,
    join_causes,
    learning_rate_cause,
    output_cause,
    softmax_hidden_cause,
)


def test_learning_rate_cause_high():
    config = config_to_dict(MLPConfig(learning_rate=0.01))

    cause = learning_rate_cause(config, "high")

    assert "10 times the usual value for rmsprop" in cause
    assert learning_rate_cause(config, "low") is None


def test_learning_rate_cause_low():
    config = config_to_dict(MLPConfig(learning_rate=0.0001))

    assert "10 times smaller" in learning_rate_cause(config, "low")
    assert learning_rate_cause(config, "high") is None


def test_learning_rate_cause_adadelta_default_is_usual():
    config = config_to_dict(CNNConfig())

    assert learning_rate_cause(config, "high") is None
    assert learning_rate_cause(config, "low") is None


def test_output_cause_by_activation():
    assert "ReLU" in output_cause(config_to_dict(MLPConfig(output_activation="relu")))
    assert "linear" in output_cause(
        config_to_dict(MLPConfig(output_activation="linear"))
    )
    assert output_cause(config_to_dict(MLPConfig())) is None


def test_softmax_hidden_cause_only_with_softmax():
    hidden = (DenseLayerSpec(activation="softmax"), DenseLayerSpec())

    assert softmax_hidden_cause(config_to_dict(MLPConfig(hidden_layers=hidden)))
    assert softmax_hidden_cause(config_to_dict(MLPConfig())) is None


def test_dropout_rates_of_cnn():
    assert dropout_rates(config_to_dict(CNNConfig())) == [0.25, 0.5]


def test_join_causes_fallback():
    assert join_causes(None, None, fallback="none found") == "none found"
    assert join_causes("A.", None, "B.", fallback="none found") == "A. B."
