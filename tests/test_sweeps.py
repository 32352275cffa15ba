"""Tests for sweeps: planning, summaries, and real tiny runs on a scheduler."""

import dataclasses
import time

import pytest

from mnist_core.config import DenseLayerSpec, MLPConfig
from mnist_core.data import SAMPLE_PATH, DataSource
from mnist_core.jobs import Scheduler
from mnist_core.knobs import KnobError, config_from_settings
from mnist_core.limits import LimitError, ServerLimits
from mnist_core.sweeps import (
    RunResult,
    config_for_value,
    learning_curves,
    noise_notes,
    parse_values,
    plan_sweep,
    split_knob,
    submit_sweep,
    summarize,
    value_scale,
)

SAMPLE = DataSource("sample", str(SAMPLE_PATH), "the bundled sample")
OWNER = "sweep-tests"
# A small MLP on 300 images: one epoch takes well under a second.
TINY = MLPConfig(
    hidden_layers=(DenseLayerSpec(units=32),),
    epochs=1,
    train_limit=300,
)
DEADLINE_SECONDS = 180


@pytest.fixture(scope="module")
def scheduler():
    limits = ServerLimits(max_concurrent_trainings=1, threads_per_training=2)
    scheduler = Scheduler(limits)
    scheduler.warm_up()
    yield scheduler
    scheduler.close()


def wait_for(sweep):
    deadline = time.monotonic() + DEADLINE_SECONDS
    while sweep.active and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not sweep.active, "the sweep did not finish in time"
    return sweep.results()


def fake_result(value, seed, accuracy, state="done"):
    record = {
        "test_accuracy": accuracy,
        "test_loss": 0.5,
        "median_epoch_seconds": 1.0,
        "total_seconds": 3.0,
        "num_parameters": 100,
        "history": {"val_accuracy": [accuracy - 0.1, accuracy]},
    }
    return RunResult(value, seed, state, record if state == "done" else None)


def test_parse_values_commas():
    assert parse_values("0.01, 0.001,0.0001") == ("0.01", "0.001", "0.0001")


def test_parse_values_semicolons_keep_layer_lists():
    text = "512:relu:0.2,512:relu:0.2; 512:relu:0.2"

    assert parse_values(text) == ("512:relu:0.2,512:relu:0.2", "512:relu:0.2")


def test_parse_values_new_lines():
    assert parse_values("relu\nsigmoid\n") == ("relu", "sigmoid")


def test_parse_values_rejects_repeats():
    with pytest.raises(ValueError, match="repeat: 20"):
        parse_values("20, 200, 20")


def test_parse_values_rejects_empty():
    with pytest.raises(ValueError, match="no sweep values"):
        parse_values(" , ")


def test_split_knob_plus():
    assert split_knob("a.b + c") == ("a.b", "c")


def test_config_for_value_every_layer():
    config = config_for_value(MLPConfig(), "hidden_layers.*.units", "20")

    assert [layer.units for layer in config.hidden_layers] == [20, 20]


def test_config_for_value_two_knobs():
    knob = "image_operation.train_share+image_operation.test_share"

    config = config_for_value(config_from_settings("cnn", {}), knob, "0.5")

    assert config.image_operation.train_share == 0.5
    assert config.image_operation.test_share == 0.5


def test_config_for_value_names_bad_value():
    with pytest.raises(KnobError, match="'fast'"):
        config_for_value(MLPConfig(), "learning_rate", "fast")


def test_config_for_value_rejects_impossible_model():
    base = config_from_settings("cnn", {"conv_blocks.0.pooling": "max"})

    with pytest.raises(KnobError, match="conv_2"):
        config_for_value(base, "conv_blocks.*.kernel_size", "20")


def test_plan_sweep_values_and_seeds():
    runs = plan_sweep(MLPConfig(seed=5), "learning_rate", ["0.01", "0.001"], 2)

    assert [(run.value, run.seed) for run in runs] == [
        ("0.01", 5),
        ("0.01", 6),
        ("0.001", 5),
        ("0.001", 6),
    ]
    assert [run.config.learning_rate for run in runs] == [0.01, 0.01, 0.001, 0.001]
    assert [run.config.seed for run in runs] == [5, 6, 5, 6]


def test_plan_sweep_validates_on_split_by_default():
    runs = plan_sweep(MLPConfig(validation="test"), "epochs", ["1"])

    assert runs[0].config.validation == "split"


def test_plan_sweep_rejects_too_many_seeds():
    with pytest.raises(ValueError, match="seeds per value"):
        plan_sweep(MLPConfig(), "epochs", ["1"], repeats=9)


def test_summarize_mean_and_range():
    results = [
        fake_result("a", 0, 0.90),
        fake_result("a", 1, 0.94),
        fake_result("b", 0, 0.80),
        fake_result("b", 1, 0.0, state="cancelled"),
    ]

    first, second = summarize(["a", "b"], results)

    assert first.test_accuracy == pytest.approx(0.92)
    assert first.accuracy_min == 0.90
    assert first.accuracy_max == 0.94
    assert first.num_scored == 2
    assert second.num_scored == 1
    assert second.num_runs == 2
    assert second.states == "1 done, 1 cancelled"


def test_summarize_lists_findings():
    nan_run = fake_result("relu", 0, 0.098)
    nan_run.record.update(stop_reason="nan", stopped_early=True)

    relu, softmax = summarize(
        ["relu", "softmax"], [nan_run, fake_result("softmax", 0, 0.9)]
    )

    assert relu.findings == ("nan",)
    assert softmax.findings == ()


def test_noise_notes_within_seed_spread():
    results = [
        fake_result("a", 0, 0.90),
        fake_result("a", 1, 0.94),
        fake_result("b", 0, 0.91),
        fake_result("b", 1, 0.92),
        fake_result("c", 0, 0.50),
        fake_result("c", 1, 0.51),
    ]

    notes = noise_notes(summarize(["a", "b", "c"], results))

    assert [(note.first, note.second) for note in notes] == [("a", "b")]
    assert notes[0].spread == pytest.approx(0.04)


def test_noise_notes_need_two_seeds():
    results = [fake_result("a", 0, 0.90), fake_result("b", 0, 0.90)]

    assert noise_notes(summarize(["a", "b"], results)) == []


def test_value_scale_kinds():
    assert value_scale(["0.01", "0.001", "0.0001"]) == "log"
    assert value_scale(["20", "200"]) == "linear"
    assert value_scale(["max", "average"]) == "categorical"


def test_sweep_two_values_real_runs(scheduler):
    runs = plan_sweep(TINY, "learning_rate", ["0.01", "0.001"])

    sweep = submit_sweep("learning_rate", runs, scheduler, SAMPLE, OWNER)
    results = wait_for(sweep)
    summaries = summarize(sweep.values, results)

    assert [result.state for result in results] == ["done", "done"]
    assert [summary.value for summary in summaries] == ["0.01", "0.001"]
    for summary in summaries:
        assert summary.num_scored == 1
        assert summary.test_accuracy > 0.15
        assert summary.median_epoch_seconds > 0
        assert summary.num_parameters == 784 * 32 + 32 + 32 * 10 + 10
    assert [result.record["validation"] for result in results] == ["split", "split"]
    curve_values = {row["value"] for row in learning_curves(results)}
    assert curve_values == {"0.01", "0.001"}


def test_sweep_seeds_give_range_real_runs(scheduler):
    runs = plan_sweep(TINY, "hidden_layers.*.units", ["16", "64"], repeats=2)

    sweep = submit_sweep("hidden_layers.*.units", runs, scheduler, SAMPLE, OWNER)
    summaries = summarize(sweep.values, wait_for(sweep))

    for summary in summaries:
        assert summary.num_scored == 2
        assert summary.accuracy_min <= summary.test_accuracy
        assert summary.test_accuracy <= summary.accuracy_max
    assert summaries[0].num_parameters < summaries[1].num_parameters


def test_sweep_stop_cancels_queued_runs(scheduler):
    slow = dataclasses.replace(TINY, epochs=50)
    runs = plan_sweep(slow, "seed", ["1", "2", "3"])

    sweep = submit_sweep("seed", runs, scheduler, SAMPLE, OWNER)
    sweep.stop()
    results = wait_for(sweep)

    assert [result.state for result in results[1:]] == ["cancelled", "cancelled"]
    assert results[0].state in ("cancelled", "stopped")
    assert summarize(sweep.values, results)[2].test_accuracy is None


def test_submit_sweep_too_many_runs_queues_none():
    scheduler = Scheduler(ServerLimits(max_queued_per_session=2))
    runs = plan_sweep(TINY, "seed", ["1", "2", "3"])
    try:
        with pytest.raises(LimitError, match="needs 3 runs"):
            submit_sweep("seed", runs, scheduler, SAMPLE, OWNER)
        assert scheduler.jobs_of(OWNER) == []
    finally:
        scheduler.close()


def test_submit_sweep_server_limit_queues_none():
    scheduler = Scheduler(ServerLimits(max_epochs=1))
    runs = plan_sweep(TINY, "epochs", ["1", "3"])
    try:
        with pytest.raises(LimitError, match="epochs is 3"):
            submit_sweep("epochs", runs, scheduler, SAMPLE, OWNER)
        assert scheduler.jobs_of(OWNER) == []
    finally:
        scheduler.close()
