"""AppTest tests for the CNN page: every knob, impossible models, training, presets."""

from __future__ import annotations

import pytest

from mnist_core.presets import apply_preset, presets_for
from tests.training_pages import (
    built_model,
    config_of,
    dataframe_with_column,
    metric_values,
    open_page,
    set_quick_run,
    wait_for_job,
    wait_for_sweep,
)
from ui.config_state import PAGE_KEYS

KEYS = PAGE_KEYS["cnn"]


@pytest.fixture
def app(monkeypatch, tmp_path):
    app = open_page("cnn", monkeypatch, tmp_path)
    app.run()
    return app


def layer_names(model) -> list[str]:
    return [layer.name for layer in model.layers]


def class_of(model, name: str) -> str:
    return type(model.get_layer(name)).__name__


def number(key: str, value):
    return lambda app: app.number_input(key=KEYS.widget(key)).set_value(value)


def choose(key: str, value):
    return lambda app: app.selectbox(key=KEYS.widget(key)).set_value(value)


def slide(key: str, value):
    return lambda app: app.slider(key=KEYS.widget(key)).set_value(value)


def click(key: str):
    return lambda app: app.button(key=KEYS.widget(key)).click()


def pick(key: str, value):
    return lambda app: app.button_group(key=KEYS.widget(key)).set_value(value)


# Each case: (id, change the widgets, check the built model). One knob at a
# time, starting from the tutorial's values.
KNOB_CASES = [
    ("filters", number("filters.0", 8), lambda m: m.get_layer("conv_1").filters == 8),
    (
        "kernel_typed",
        number("kernel_size.1", 5),
        lambda m: m.get_layer("conv_2").kernel_size == (5, 5),
    ),
    (
        "kernel_shortcut",
        pick("kernel_size.0.shortcut", 2),
        lambda m: m.get_layer("conv_1").kernel_size == (2, 2),
    ),
    (
        "conv_activation",
        choose("activation.0", "tanh"),
        lambda m: m.get_layer("conv_1").activation.__name__ == "tanh",
    ),
    (
        "pooling_first_block",
        choose("pooling.0", "max"),
        lambda m: class_of(m, "pool_1") == "MaxPooling2D",
    ),
    (
        "pooling_average",
        choose("pooling.1", "average"),
        lambda m: class_of(m, "pool_2") == "AveragePooling2D",
    ),
    (
        "pooling_global_max",
        choose("pooling.1", "global_max"),
        lambda m: class_of(m, "pool_2") == "GlobalMaxPooling2D",
    ),
    (
        "pooling_global_average",
        choose("pooling.1", "global_average"),
        lambda m: class_of(m, "pool_2") == "GlobalAveragePooling2D",
    ),
    (
        "pooling_none",
        choose("pooling.1", "none"),
        lambda m: "pool_2" not in layer_names(m),
    ),
    (
        "pool_size",
        number("pool_size.1", 3),
        lambda m: m.get_layer("pool_2").pool_size == (3, 3),
    ),
    (
        "pooling_shortcut",
        choose("pooling_shortcut", "average"),
        lambda m: class_of(m, "pool_2") == "AveragePooling2D",
    ),
    (
        "add_block",
        click("add_block"),
        lambda m: m.get_layer("conv_3").filters == 64,
    ),
    (
        "remove_block",
        click("remove.1"),
        lambda m: (
            [name for name in layer_names(m) if name.startswith("conv")] == ["conv_1"]
        ),
    ),
    (
        "conv_dropout_rate",
        slide("conv_dropout_rate", 0.4),
        lambda m: m.get_layer("dropout_conv").rate == 0.4,
    ),
    (
        "dense_units",
        pick("dense_units.shortcut", 256),
        lambda m: m.get_layer("dense").units == 256,
    ),
    (
        "dense_activation",
        choose("dense_activation", "sigmoid"),
        lambda m: m.get_layer("dense").activation.__name__ == "sigmoid",
    ),
    (
        "dense_dropout_zero",
        slide("dense_dropout_rate", 0.0),
        lambda m: "dropout_dense" not in layer_names(m),
    ),
    (
        "output_activation",
        choose("output_activation", "linear"),
        lambda m: m.get_layer("output").activation.__name__ == "linear",
    ),
    (
        "data_format",
        choose("data_format", "channels_first"),
        lambda m: (
            m.get_layer("conv_1").data_format == "channels_first"
            and m.get_layer("pool_2").data_format == "channels_first"
            and m.input_shape == (None, 1, 28, 28)
        ),
    ),
    (
        "optimizer",
        choose("optimizer", "adam"),
        lambda m: (
            type(m.optimizer).__name__ == "Adam"
            and float(m.optimizer.learning_rate) == pytest.approx(0.001)
        ),
    ),
    (
        "learning_rate",
        number("learning_rate", 0.5),
        lambda m: float(m.optimizer.learning_rate) == pytest.approx(0.5),
    ),
]


@pytest.mark.parametrize(
    ("change", "check"),
    [case[1:] for case in KNOB_CASES],
    ids=[case[0] for case in KNOB_CASES],
)
def test_cnn_knob_reaches_model(app, change, check):
    change(app)
    app.run()

    assert not app.exception
    assert not app.error
    assert check(built_model(app, "cnn"))


def test_cnn_default_optimizer_adadelta_at_one(app):
    model = built_model(app, "cnn")

    assert type(model.optimizer).__name__ == "Adadelta"
    assert float(model.optimizer.learning_rate) == 1.0
    assert model.count_params() == 1_199_882


def test_cnn_global_pooling_offered_on_last_block_only(app):
    first = app.selectbox(key=KEYS.widget("pooling.0")).options
    last = app.selectbox(key=KEYS.widget("pooling.1")).options

    assert "global max" not in first
    assert "global max" in last


def test_cnn_add_block_moves_global_pooling(app):
    app.selectbox(key=KEYS.widget("pooling.1")).set_value("global_max").run()

    app.button(key=KEYS.widget("add_block")).click().run()

    poolings = [block.pooling for block in config_of(app, "cnn").conv_blocks]
    assert not app.exception
    assert poolings == ["none", "none", "global_max"]


def test_cnn_image_operation_reaches_config(app):
    app.selectbox(key=KEYS.widget("operation")).set_value("rotate").run()
    app.slider(key=KEYS.widget("train_share")).set_value(0.5).run()
    app.slider(key=KEYS.widget("test_share")).set_value(0.2).run()
    app.slider(key=KEYS.widget("angle")).set_value(45.0).run()

    operation = config_of(app, "cnn").image_operation

    assert operation.name == "rotate"
    assert operation.train_share == 0.5
    assert operation.test_share == 0.2
    assert operation.angle == 45.0
    assert len(app.get("image")) == 2


def test_cnn_kernel_too_large_after_pooling_shows_error(app):
    app.selectbox(key=KEYS.widget("pooling.0")).set_value("max").run()

    app.number_input(key=KEYS.widget("kernel_size.1")).set_value(28).run()

    assert not app.exception
    assert "conv_2: a 28x28 kernel" in app.error[0].value
    assert app.button(key="cnn.train").disabled
    assert app.button(key="cnn.start_sweep").disabled


def test_cnn_pool_larger_than_map_shows_error(app):
    app.number_input(key=KEYS.widget("kernel_size.0")).set_value(13).run()
    app.number_input(key=KEYS.widget("kernel_size.1")).set_value(14).run()

    app.number_input(key=KEYS.widget("pool_size.1")).set_value(10).run()

    assert not app.exception
    assert "pool_2: a 10x10 pooling window" in app.error[0].value
    assert "3x3 feature map" in app.error[0].value
    assert app.button(key="cnn.train").disabled


def test_cnn_impossible_sweep_value_shows_error(app):
    app.selectbox(key=KEYS.widget("pooling.0")).set_value("max").run()
    app.selectbox(key=KEYS.widget("sweep_knob")).set_value(
        "conv_blocks.*.kernel_size"
    ).run()
    app.text_input(key=KEYS.widget("sweep_values")).set_value("3, 20").run()

    app.button(key="cnn.start_sweep").click().run()

    assert not app.exception
    assert "sweep value '20'" in app.error[0].value
    assert KEYS.sweep not in app.session_state


@pytest.mark.slow
def test_cnn_page_trains_one_epoch_with_flip(app):
    set_quick_run(app, "cnn")
    app.selectbox(key=KEYS.widget("operation")).set_value("flip_horizontal").run()
    app.slider(key=KEYS.widget("train_share")).set_value(0.5).run()
    app.slider(key=KEYS.widget("test_share")).set_value(0.5).run()
    app.button(key="cnn.train").click().run()

    snapshot = wait_for_job(app, "cnn")

    text = " ".join(element.value for element in app.markdown)
    assert snapshot.state == "done"
    assert not app.exception
    assert float(metric_values(app)["Test accuracy"].rstrip("%")) > 15
    assert "changed 150 training and 500 test images" in text
    assert "on the untouched ones" in text
    assert snapshot.record["image_operation"]["operated_test_accuracy"] is not None


PRESETS = presets_for("cnn")


@pytest.mark.slow
@pytest.mark.parametrize("preset", PRESETS, ids=[preset.key for preset in PRESETS])
def test_cnn_preset_trains_and_sweeps(app, preset):
    set_quick_run(app, "cnn")

    app.button(key=f"preset.{preset.key}").click().run()

    assert config_of(app, "cnn") == apply_preset(preset, config_of(app, "cnn"))
    assert config_of(app, "cnn").train_limit == 300

    app.button(key="cnn.train").click().run()
    assert wait_for_job(app, "cnn").record is not None
    assert "Test accuracy" in metric_values(app)

    values = ", ".join(preset.sweep_values[:2])
    app.text_input(key=KEYS.widget("sweep_values")).set_value(values).run()
    app.button(key="cnn.start_sweep").click().run()
    sweep = wait_for_sweep(app, "cnn")

    table = dataframe_with_column(app, "Range over seeds")
    assert list(table["Value"]) == list(preset.sweep_values[:2])
    assert sweep.knob == preset.sweep_knob
