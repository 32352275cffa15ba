"""AppTest tests for the MLP page: every knob, training, presets, sweeps, links."""

from __future__ import annotations

import pytest

from mnist_core.data import DataSource
from mnist_core.jobs import get_scheduler
from mnist_core.limits import ServerLimits
from mnist_core.presets import apply_preset, presets_for
from tests.training_pages import (
    built_model,
    config_of,
    dataframe_with_column,
    metric_values,
    open_app,
    open_page,
    set_quick_run,
    wait_for_job,
    wait_for_sweep,
)
from ui import state, training_view
from ui.config_state import PAGE_KEYS

KEYS = PAGE_KEYS["mlp"]


@pytest.fixture
def app(monkeypatch, tmp_path):
    app = open_page("mlp", monkeypatch, tmp_path)
    app.run()
    return app


def activation_name(layer) -> str:
    return layer.activation.__name__


# Each case: (id, change the widgets, check the built model). One knob at a
# time, starting from the tutorial's values.
KNOB_CASES = [
    (
        "units_typed",
        lambda app: app.number_input(key=KEYS.widget("units.0")).set_value(20),
        lambda model: model.get_layer("dense_1").units == 20,
    ),
    (
        "units_shortcut",
        lambda app: app.button_group(key=KEYS.widget("units.1.shortcut")).set_value(
            1000
        ),
        lambda model: model.get_layer("dense_2").units == 1000,
    ),
    (
        "hidden_activation",
        lambda app: app.selectbox(key=KEYS.widget("activation.1")).set_value("tanh"),
        lambda model: activation_name(model.get_layer("dense_2")) == "tanh",
    ),
    (
        "dropout_rate",
        lambda app: app.slider(key=KEYS.widget("dropout_rate.0")).set_value(0.5),
        lambda model: model.get_layer("dropout_1").rate == 0.5,
    ),
    (
        "dropout_zero_removes_layer",
        lambda app: app.slider(key=KEYS.widget("dropout_rate.1")).set_value(0.0),
        lambda model: "dropout_2" not in [layer.name for layer in model.layers],
    ),
    (
        "add_layer",
        lambda app: app.button(key=KEYS.widget("add_layer")).click(),
        lambda model: model.get_layer("dense_3").units == 512,
    ),
    (
        "remove_layer",
        lambda app: app.button(key=KEYS.widget("remove.0")).click(),
        lambda model: (
            [layer.name for layer in model.layers] == ["dense_1", "dropout_1", "output"]
        ),
    ),
    (
        "output_activation",
        lambda app: app.selectbox(key=KEYS.widget("output_activation")).set_value(
            "sigmoid"
        ),
        lambda model: activation_name(model.get_layer("output")) == "sigmoid",
    ),
    (
        "softmax_everywhere",
        lambda app: app.button(key=KEYS.widget("softmax_everywhere")).click(),
        lambda model: (
            [
                activation_name(model.get_layer(name))
                for name in ("dense_1", "dense_2", "output")
            ]
            == ["softmax"] * 3
        ),
    ),
    (
        "learning_rate",
        lambda app: app.number_input(key=KEYS.widget("learning_rate")).set_value(0.01),
        lambda model: float(model.optimizer.learning_rate) == pytest.approx(0.01),
    ),
    (
        "precision_float32",
        lambda app: app.selectbox(key=KEYS.widget("precision")).set_value("float32"),
        lambda model: model.get_layer("dense_1").dtype_policy.name == "float32",
    ),
    (
        "precision_bfloat16",
        lambda app: app.selectbox(key=KEYS.widget("precision")).set_value(
            "mixed_bfloat16"
        ),
        lambda model: model.get_layer("dense_1").dtype_policy.name == "mixed_bfloat16",
    ),
    (
        "seed",
        lambda app: app.number_input(key=KEYS.widget("seed")).set_value(3),
        lambda model: model.get_layer("dense_1").kernel_initializer.seed == 3001,
    ),
]


@pytest.mark.parametrize(
    ("change", "check"),
    [case[1:] for case in KNOB_CASES],
    ids=[case[0] for case in KNOB_CASES],
)
def test_mlp_knob_reaches_model(app, change, check):
    change(app)
    app.run()

    assert not app.exception
    assert check(built_model(app, "mlp"))


@pytest.mark.parametrize(
    ("optimizer", "class_name", "learning_rate"),
    [
        ("rmsprop", "RMSprop", 0.001),
        ("sgd", "SGD", 0.01),
        ("adam", "Adam", 0.001),
        ("adadelta", "Adadelta", 1.0),
        ("adagrad", "Adagrad", 0.001),
    ],
)
def test_mlp_optimizer_reaches_model(app, optimizer, class_name, learning_rate):
    app.selectbox(key=KEYS.widget("optimizer")).set_value(optimizer).run()

    model = built_model(app, "mlp")

    assert type(model.optimizer).__name__ == class_name
    assert float(model.optimizer.learning_rate) == pytest.approx(learning_rate)


def test_mlp_sgd_momentum_reaches_model(app):
    app.selectbox(key=KEYS.widget("optimizer")).set_value("sgd").run()
    app.number_input(key=KEYS.widget("momentum")).set_value(0.9).run()

    model = built_model(app, "mlp")

    assert float(model.optimizer.momentum) == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("kind", "key", "value", "field"),
    [
        ("number_input", "batch_size", 32, "batch_size"),
        ("number_input", "epochs", 3, "epochs"),
        ("number_input", "train_limit", 500, "train_limit"),
        ("number_input", "steps_per_execution", 8, "steps_per_execution"),
        ("radio", "validation", "split", "validation"),
    ],
    ids=["batch_size", "epochs", "train_limit", "steps_per_execution", "validation"],
)
def test_mlp_training_knob_reaches_config(app, kind, key, value, field):
    getattr(app, kind)(key=KEYS.widget(key)).set_value(value).run()

    assert getattr(config_of(app, "mlp"), field) == value


def test_mlp_validation_split_reaches_config(app):
    app.radio(key=KEYS.widget("validation")).set_value("split").run()
    app.slider(key=KEYS.widget("validation_split")).set_value(0.2).run()

    assert config_of(app, "mlp").validation_split == pytest.approx(0.2)


def test_mlp_adadelta_shows_both_learning_rates(app):
    app.selectbox(key=KEYS.widget("optimizer")).set_value("adadelta").run()

    assert app.number_input(key=KEYS.widget("learning_rate")).value == 1.0
    assert any("defaulted to 0.001" in caption.value for caption in app.caption)

    app.button(key=KEYS.widget("learning_rate.today")).click().run()

    assert config_of(app, "mlp").learning_rate == pytest.approx(0.001)


def test_mlp_architecture_table_totals(app):
    table = dataframe_with_column(app, "MACs per image")

    assert list(table["Layer"]) == [
        "dense_1",
        "dropout_1",
        "dense_2",
        "dropout_2",
        "output",
        "total",
    ]
    assert table["Parameters"].iloc[-1] == "669,706"


def test_mlp_architecture_compares_with_tutorial(app):
    app.number_input(key=KEYS.widget("units.0")).set_value(20).run()

    captions = " ".join(caption.value for caption in app.caption)

    assert "fewer parameters and MACs in the hidden layers" in captions


def test_mlp_link_settings_applied(monkeypatch, tmp_path):
    app = open_page("mlp", monkeypatch, tmp_path)
    app.query_params["hidden_layers.*.units"] = "20"
    app.query_params["learning_rate"] = "fast"
    app.query_params["colour"] = "red"
    app.run()

    warnings = " ".join(warning.value for warning in app.warning)
    assert [layer.units for layer in config_of(app, "mlp").hidden_layers] == [20, 20]
    assert app.number_input(key=KEYS.widget("units.0")).value == 20
    assert "learning_rate='fast'" in warnings
    assert "colour" in warnings
    assert config_of(app, "mlp").learning_rate == 0.001


def test_mlp_share_link_carries_changes(app):
    app.selectbox(key=KEYS.widget("output_activation")).set_value("relu").run()

    link = app.code[-1].value

    assert "output_activation=relu" in link
    assert app.query_params["output_activation"] == "relu"


def test_mlp_knobs_survive_page_visit(monkeypatch, tmp_path):
    app = open_app(monkeypatch, tmp_path)
    app.switch_page("app_pages/mlp.py").run()
    app.number_input(key=KEYS.widget("units.0")).set_value(20).run()

    app.switch_page("app_pages/home.py").run()
    app.switch_page("app_pages/mlp.py").run()

    assert app.number_input(key=KEYS.widget("units.0")).value == 20
    assert config_of(app, "mlp").hidden_layers[0].units == 20


def test_mlp_server_limit_shows_error(app, monkeypatch):
    monkeypatch.setattr(get_scheduler(), "limits", ServerLimits(max_epochs=5))

    app.button(key="mlp.train").click().run()

    assert not app.exception
    assert "epochs is 20" in app.error[0].value
    assert KEYS.job not in app.session_state


@pytest.mark.slow
def test_mlp_page_trains_one_epoch(app, tmp_path):
    set_quick_run(app, "mlp")
    app.button(key="mlp.train").click().run()

    snapshot = wait_for_job(app, "mlp")

    metrics = metric_values(app)
    assert snapshot.state == "done"
    assert not app.exception
    assert float(metrics["Test accuracy"].rstrip("%")) > 15
    assert metrics["Parameters"] == "669,706"
    assert app.session_state[state.SESSION_MODELS]["mlp"]["path"]
    assert snapshot.job_id in app.session_state[state.RECORDED_JOBS]
    run_file = tmp_path / "models" / "runs" / f"{snapshot.record['run_id']}.json"
    assert run_file.is_file()

    app.text_input(key="mlp.save_name").set_value("my mlp")
    app.button(key="mlp.save").click().run()

    assert not app.error
    assert app.success[-1].value.startswith("Saved as my_mlp.keras.")
    assert len(list((tmp_path / "models").rglob("my_mlp.keras"))) == 1

    app.button(key="mlp.save").click().run()

    assert not app.error
    notes = [element.value for element in app.info]
    assert "This run is already saved as my_mlp.keras." in notes
    assert len(list((tmp_path / "models").rglob("my_mlp.keras"))) == 1


@pytest.mark.slow
def test_mlp_stop_keeps_model(app):
    set_quick_run(app, "mlp")
    app.number_input(key=KEYS.widget("epochs")).set_value(300).run()
    app.button(key="mlp.train").click().run()
    job = app.session_state[KEYS.job]

    assert app.button(key="mlp.train").disabled
    assert "A run is in progress" in " ".join(item.value for item in app.caption)
    while job.snapshot().epoch < 2 and job.snapshot().active:
        app.run()

    app.button(key="mlp.stop").click().run()
    snapshot = wait_for_job(app, "mlp")

    assert snapshot.state == "stopped"
    assert "Training stopped on request" in app.warning[0].value
    assert "Test accuracy" in metric_values(app)


PRESETS = presets_for("mlp")


@pytest.mark.slow
@pytest.mark.parametrize("preset", PRESETS, ids=[preset.key for preset in PRESETS])
def test_mlp_preset_trains_and_sweeps(app, preset):
    set_quick_run(app, "mlp")

    app.button(key=f"preset.{preset.key}").click().run()

    expected = apply_preset(preset, config_of(app, "mlp"))
    assert config_of(app, "mlp") == expected
    assert config_of(app, "mlp").train_limit == 300

    app.button(key="mlp.train").click().run()
    assert wait_for_job(app, "mlp").record is not None
    assert "Test accuracy" in metric_values(app)

    separator = "; " if "," in preset.sweep_values[0] else ", "
    values = separator.join(preset.sweep_values[:2])
    app.text_input(key=KEYS.widget("sweep_values")).set_value(values).run()
    app.button(key="mlp.start_sweep").click().run()
    sweep = wait_for_sweep(app, "mlp")

    table = dataframe_with_column(app, "Range over seeds")
    assert list(table["Value"]) == list(preset.sweep_values[:2])
    assert sweep.knob == preset.sweep_knob
    assert sweep.validation == "split"


@pytest.mark.slow
def test_mlp_training_survives_page_visit(monkeypatch, tmp_path):
    app = open_app(monkeypatch, tmp_path)
    app.switch_page("app_pages/mlp.py").run()
    set_quick_run(app, "mlp")
    app.number_input(key=KEYS.widget("epochs")).set_value(300).run()
    app.button(key="mlp.train").click().run()

    app.switch_page("app_pages/home.py").run()
    app.switch_page("app_pages/mlp.py").run()

    job = app.session_state[KEYS.job]
    assert job.snapshot().active
    assert app.button(key="mlp.stop")
    assert app.button(key="mlp.train").disabled
    app.button(key="mlp.stop").click().run()
    assert wait_for_job(app, "mlp").state in ("stopped", "cancelled")


@pytest.mark.slow
def test_mlp_failed_job_shows_error(app, monkeypatch):
    missing = DataSource("file", "/nonexistent/mnist.npz", "a missing file")
    monkeypatch.setattr(training_view, "get_data_source", lambda: (missing, None))
    set_quick_run(app, "mlp")
    app.button(key="mlp.train").click().run()

    snapshot = wait_for_job(app, "mlp")

    assert snapshot.state == "failed"
    assert not app.exception
    assert app.error[0].value.startswith("Training failed:")
    assert "nonexistent" in app.error[0].value


@pytest.mark.slow
def test_mlp_sweep_stop_keeps_table(app):
    set_quick_run(app, "mlp")
    app.number_input(key=KEYS.widget("epochs")).set_value(300).run()
    app.text_input(key=KEYS.widget("sweep_values")).set_value("0.01, 0.001").run()
    app.number_input(key=KEYS.widget("sweep_repeats")).set_value(2).run()
    app.button(key="mlp.start_sweep").click().run()

    app.button(key="mlp.stop_sweep").click().run()
    sweep = wait_for_sweep(app, "mlp")

    states = [result.state for result in sweep.results()]
    table = dataframe_with_column(app, "Range over seeds")
    assert states[1:] == ["cancelled"] * 3
    assert states[0] in ("cancelled", "stopped")
    assert list(table["Value"]) == ["0.01", "0.001"]
