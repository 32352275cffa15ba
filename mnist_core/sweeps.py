"""Sweeps: train the same model over several values of one knob, then compare.

A sweep is one training job per value and seed, all with the same data and,
seed for seed, the same initial weights, queued one after another on the
scheduler. The summaries give each value's mean test accuracy and its range
over seeds, so the page can tell a real difference from seed noise.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mnist_core.architecture import ArchitectureError, check_buildable
from mnist_core.config import RunConfig
from mnist_core.data import DataSource
from mnist_core.diagnosis import diagnose
from mnist_core.knobs import KnobError, apply_knob_setting
from mnist_core.limits import LimitError
from mnist_core.presets import KNOB_SEPARATOR

MAX_SEEDS = 5
# Finished states whose run has a record to compare.
SCORED_STATES = ("done", "stopped")


@dataclass(frozen=True)
class SweepRun:
    """One planned run of a sweep: the knob value, the seed and its config."""

    value: str
    seed: int
    config: RunConfig
    label: str


@dataclass(frozen=True)
class RunResult:
    """What one run of a sweep has produced so far."""

    value: str
    seed: int
    state: str  # a job state: queued, running, stopping, done, stopped, ...
    record: dict[str, Any] | None
    epoch: int = 0
    epochs: int = 0
    queue_position: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class ValueSummary:
    """One row of a sweep's table: a knob value over all its seeds."""

    value: str
    num_runs: int
    num_scored: int
    test_accuracy: float | None  # mean over scored runs
    accuracy_min: float | None
    accuracy_max: float | None
    test_loss: float | None  # mean over runs with a finite loss
    median_epoch_seconds: float | None  # mean of each run's median
    total_seconds: float | None  # mean
    num_parameters: int | None
    states: str  # e.g. "done" or "1 done, 1 queued"
    # Kinds of problem mnist_core.diagnosis found in any of the scored runs.
    findings: tuple[str, ...] = ()

    @property
    def accuracy_spread(self) -> float:
        if self.accuracy_min is None or self.accuracy_max is None:
            return 0.0
        return self.accuracy_max - self.accuracy_min


@dataclass(frozen=True)
class NoiseNote:
    """Two values whose mean accuracies differ by less than their seed spread."""

    first: str
    second: str
    difference: float
    spread: float


def split_knob(knob: str) -> tuple[str, ...]:
    """Split "a+b" into the knob paths it sets together."""
    paths = tuple(part.strip() for part in knob.split(KNOB_SEPARATOR))
    if not all(paths):
        raise KnobError(f"{knob!r}: empty knob path; write e.g. learning_rate")
    return paths


def parse_values(text: str) -> tuple[str, ...]:
    """Split typed sweep values: by ";" or new lines if present, else by commas.

    Layer lists contain commas, so write several of them separated by ";".
    """
    separators = ";\n"
    if any(separator in text for separator in separators):
        parts = text.replace("\n", ";").split(";")
    else:
        parts = text.split(",")
    values = tuple(part.strip() for part in parts if part.strip())
    if not values:
        raise ValueError("no sweep values given; type e.g. 0.01, 0.001, 0.0001")
    duplicates = sorted({value for value in values if values.count(value) > 1})
    if duplicates:
        raise ValueError(f"sweep values repeat: {', '.join(duplicates)}")
    return values


def sweep_seeds(base_seed: int, repeats: int) -> tuple[int, ...]:
    """Return `repeats` consecutive seeds starting at `base_seed`."""
    if not 1 <= repeats <= MAX_SEEDS:
        raise ValueError(f"seeds per value must be 1 to {MAX_SEEDS}, got {repeats}")
    return tuple(base_seed + offset for offset in range(repeats))


def config_for_value(base: RunConfig, knob: str, value: str) -> RunConfig:
    """Return `base` with every path of `knob` set to `value`.

    Raises KnobError naming the value if it does not fit the knob, or if the
    model it describes cannot be built.
    """
    config = base
    for path in split_knob(knob):
        try:
            config = apply_knob_setting(config, f"{path}={value}")
        except KnobError as error:
            raise KnobError(f"sweep value {value!r}: {error}") from error
    try:
        check_buildable(config)
    except ArchitectureError as error:
        raise KnobError(f"sweep value {value!r}: {error}") from error
    return config


def plan_sweep(
    base: RunConfig,
    knob: str,
    values: Sequence[str],
    repeats: int = 1,
    validation: str = "split",
) -> list[SweepRun]:
    """Return one run per value and seed, values outermost.

    `validation` replaces the base config's mode: "split" (the default) keeps
    the test set out of choosing a value. Raises KnobError for a bad value.
    """
    base = dataclasses.replace(base, validation=validation)
    runs = []
    for value in values:
        config = config_for_value(base, knob, value)
        for seed in sweep_seeds(base.seed, repeats):
            label = f"{base.architecture} sweep: {knob}={value}, seed {seed}"
            seeded = dataclasses.replace(config, seed=seed)
            runs.append(SweepRun(value, seed, seeded, label))
    return runs


@dataclass
class Sweep:
    """A submitted sweep: its plan and the job of each run, in plan order."""

    knob: str
    values: tuple[str, ...]
    validation: str
    runs: list[SweepRun]
    jobs: list[Any]  # mnist_core.jobs.TrainingJob, one per run

    def results(self) -> list[RunResult]:
        """Return each run's current state and, once finished, its record."""
        results = []
        for run, job in zip(self.runs, self.jobs, strict=True):
            snapshot = job.snapshot()
            results.append(
                RunResult(
                    value=run.value,
                    seed=run.seed,
                    state=snapshot.state,
                    record=snapshot.record,
                    epoch=snapshot.epoch,
                    epochs=snapshot.epochs,
                    queue_position=snapshot.queue_position,
                    error=snapshot.error,
                )
            )
        return results

    @property
    def active(self) -> bool:
        return any(job.snapshot().active for job in self.jobs)

    def stop(self) -> None:
        """Cancel the queued runs and stop the running one; results are kept."""
        for job in reversed(self.jobs):
            job.request_stop()


def submit_sweep(
    knob: str,
    runs: list[SweepRun],
    scheduler,
    source: DataSource,
    owner: str,
    is_owner_alive: Callable[[], bool] | None = None,
) -> Sweep:
    """Queue every run on `scheduler` (a mnist_core.jobs.Scheduler); return the Sweep.

    Raises LimitError before queueing anything if the runs do not fit in the
    session's queue or break a server limit; if a later submit fails, the
    runs already queued are cancelled.
    """
    limits = scheduler.limits
    active = [job for job in scheduler.jobs_of(owner) if job.snapshot().active]
    room = limits.max_queued_per_session - len(active)
    if len(runs) > room:
        raise LimitError(
            f"the sweep needs {len(runs)} runs, but this session may queue only "
            f"{max(room, 0)} more (the server allows "
            f"{limits.max_queued_per_session}); use fewer values or seeds"
        )
    for run in runs:
        limits.check(run.config)

    jobs = []
    try:
        for run in runs:
            job = scheduler.submit(
                run.config,
                source,
                owner=owner,
                label=run.label,
                is_owner_alive=is_owner_alive,
            )
            jobs.append(job)
    except LimitError:
        for job in jobs:
            job.request_stop()
        raise
    values = tuple(dict.fromkeys(run.value for run in runs))
    validation = runs[0].config.validation if runs else "split"
    return Sweep(knob, values, validation, runs, jobs)


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _finite_values(records: list[dict[str, Any]], key: str) -> list[float]:
    values = [record.get(key) for record in records]
    return [
        float(value)
        for value in values
        if isinstance(value, (int, float)) and math.isfinite(value)
    ]


def _describe_states(states: list[str]) -> str:
    counts = {state: states.count(state) for state in dict.fromkeys(states)}
    if len(counts) == 1:
        return states[0]
    return ", ".join(f"{count} {state}" for state, count in counts.items())


def _problem_kinds(records: list[dict[str, Any]]) -> tuple[str, ...]:
    kinds = [finding.kind for record in records for finding in diagnose(record)]
    problems = [kind for kind in kinds if kind not in ("healthy", "stopped")]
    return tuple(dict.fromkeys(problems))


def summarize_value(value: str, results: list[RunResult]) -> ValueSummary:
    """Aggregate the runs of one value over its seeds."""
    records = [
        result.record
        for result in results
        if result.state in SCORED_STATES and result.record is not None
    ]
    accuracies = _finite_values(records, "test_accuracy")
    parameters = [record.get("num_parameters") for record in records]
    return ValueSummary(
        value=value,
        num_runs=len(results),
        num_scored=len(records),
        test_accuracy=_mean(accuracies),
        accuracy_min=min(accuracies) if accuracies else None,
        accuracy_max=max(accuracies) if accuracies else None,
        test_loss=_mean(_finite_values(records, "test_loss")),
        median_epoch_seconds=_mean(_finite_values(records, "median_epoch_seconds")),
        total_seconds=_mean(_finite_values(records, "total_seconds")),
        num_parameters=parameters[0] if parameters else None,
        states=_describe_states([result.state for result in results]),
        findings=_problem_kinds(records),
    )


def summarize(values: Sequence[str], results: list[RunResult]) -> list[ValueSummary]:
    """Return one summary per value, in the order of `values`."""
    return [
        summarize_value(value, [result for result in results if result.value == value])
        for value in values
    ]


def noise_notes(summaries: list[ValueSummary]) -> list[NoiseNote]:
    """List value pairs whose accuracy difference is within the seed spread.

    Only values scored with at least two seeds have a spread; a pair is listed
    when the difference of their means is smaller than the larger spread.
    """
    notes = []
    scored = [
        summary
        for summary in summaries
        if summary.num_scored >= 2 and summary.test_accuracy is not None
    ]
    for index, first in enumerate(scored):
        for second in scored[index + 1 :]:
            difference = abs(first.test_accuracy - second.test_accuracy)
            spread = max(first.accuracy_spread, second.accuracy_spread)
            if difference < spread:
                notes.append(NoiseNote(first.value, second.value, difference, spread))
    return notes


def learning_curves(results: list[RunResult]) -> list[dict[str, Any]]:
    """Return long-form rows (value, seed, epoch, metric, number) of every run."""
    rows = []
    for result in results:
        if result.record is None:
            continue
        history = result.record.get("history", {})
        for metric, numbers in history.items():
            for epoch, number in enumerate(numbers, start=1):
                if number is None:
                    continue
                rows.append(
                    {
                        "value": result.value,
                        "seed": result.seed,
                        "epoch": epoch,
                        "metric": metric,
                        "number": float(number),
                    }
                )
    return rows


def value_scale(values: Sequence[str]) -> str:
    """Return how to lay out values on an axis: "log", "linear" or "categorical".

    Numbers that are all positive and span more than a factor of 20 (learning
    rates, say) read best on a log axis.
    """
    try:
        numbers = [float(value) for value in values]
    except ValueError:
        return "categorical"
    if len(numbers) < 2:
        return "categorical"
    if min(numbers) > 0 and max(numbers) / min(numbers) > 20:
        return "log"
    return "linear"
