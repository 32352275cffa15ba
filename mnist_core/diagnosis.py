"""Read a finished run's numbers and name what went wrong, with the likely cause.

The findings follow what the run shows (its loss, accuracy and history), not
which knob was turned; the config only helps to name a likely cause. Measured
with the tutorial's MLP on the full MNIST (Keras 3.15, float32, a shared
2-core CPU): a ReLU output turned the loss into NaN in epoch 1; softmax on
every layer stayed at 11.35% with a loss of 2.301 after 2 epochs; a linear
output went 39.6%, 23.0%, 21.5% over 3 epochs with a test loss of 9.69; a
sigmoid output reached 97.46% after 2 epochs; dropout 0.9 went 89.1%, 90.9%,
92.0% over 3 epochs.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from mnist_core.likely_causes import (
    dropout_rates,
    join_causes,
    learning_rate_cause,
    output_cause,
    softmax_hidden_cause,
)

# Loss of a model that gives every class probability 1/10: ln(10).
UNIFORM_LOSS = math.log(10)
# Accuracy below this is no better than guessing (chance is 10%).
CHANCE_ACCURACY = 0.15
# Training loss must fall by at least this share from the first epoch to the
# last for the run to count as learning.
MIN_LOSS_DROP = 0.02
# A loss this far above UNIFORM_LOSS means outputs that are not probabilities
# or a model that is confidently wrong.
LOSS_ABOVE_UNIFORM_MARGIN = 0.5
# Overfitting: the training-validation accuracy gap reaches this size and
# widened by at least OVERFIT_WIDENING since its smallest value, or the
# validation loss climbs this share above its minimum.
OVERFIT_GAP = 0.015
OVERFIT_WIDENING = 0.005
OVERFIT_LOSS_RISE = 0.10
# Slow learning: validation accuracy below SLOW_CEILING that gained less than
# SLOW_GAIN per epoch over the last SLOW_WINDOW epochs.
SLOW_CEILING = 0.95
SLOW_GAIN = 0.015
SLOW_WINDOW = 3
# Validation accuracy this far above training accuracy is worth explaining.
DROPOUT_GAP = 0.10
# Dropout rates from here on leave each training step a thin network.
HIGH_DROPOUT = 0.5
# Fewer training images than this cap the accuracy a run can reach.
SMALL_TRAINING_SET = 10_000


@dataclass(frozen=True)
class Finding:
    """One thing a run shows: a kind, a plain-words message and its numbers."""

    # nan, chance, flat_loss, loss_above_uniform, overfitting, slow,
    # training_below_validation, stopped or healthy
    kind: str
    message: str
    evidence: dict[str, float] = field(default_factory=dict)
    # The likely cause, also the end of `message`; empty if none is named.
    cause: str = ""


def _finite(values: list[Any] | None) -> list[float]:
    return [float(value) for value in values or [] if _is_finite(value)]


def _is_finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _percent(value: float) -> str:
    return f"{100 * value:.2f}%"


def _final_accuracy(record: dict[str, Any]) -> float | None:
    if _is_finite(record.get("test_accuracy")):
        return float(record["test_accuracy"])
    validation = _finite(record.get("history", {}).get("val_accuracy"))
    return validation[-1] if validation else None


def _check_nan(record: dict[str, Any]) -> Finding | None:
    history = record.get("history", {})
    losses = history.get("loss") or []
    bad_epochs = [index for index, loss in enumerate(losses, 1) if loss is None]
    if record.get("stop_reason") != "nan" and not bad_epochs:
        return None
    epoch = bad_epochs[0] if bad_epochs else len(losses) or 1
    config = record.get("config", {})
    cause = join_causes(
        output_cause(config),
        learning_rate_cause(config, "high"),
        fallback=(
            "The usual cause is a learning rate too large for the model: try "
            "10 times smaller."
        ),
    )
    evidence = {"epoch": float(epoch)}
    scored = ""
    accuracy = _final_accuracy(record)
    if accuracy is not None:
        evidence["accuracy"] = accuracy
        scored = f" The model it left scores {_percent(accuracy)}."
    return Finding(
        "nan",
        f"The loss became NaN (not a number) in epoch {epoch}, so training "
        f"stopped there.{scored} {cause}",
        evidence,
        cause,
    )


def _check_chance(record: dict[str, Any]) -> Finding | None:
    accuracy = _final_accuracy(record)
    if accuracy is None or accuracy >= CHANCE_ACCURACY:
        return None
    config = record.get("config", {})
    loss = record.get("test_loss")
    evidence = {"accuracy": accuracy}
    detail = ""
    if _is_finite(loss):
        evidence["loss"] = float(loss)
        if abs(loss - UNIFORM_LOSS) < 0.01:
            detail = (
                f" The loss {loss:.4f} is within 0.01 of ln 10 = "
                f"{UNIFORM_LOSS:.4f}, the loss of answering 10% for every "
                "class: the output ignores the image."
            )
    cause = join_causes(
        softmax_hidden_cause(config),
        output_cause(config),
        learning_rate_cause(config, "high"),
        learning_rate_cause(config, "low"),
        fallback=(
            "Check that the output layer is softmax and the learning rate is "
            "near the optimizer's usual value."
        ),
    )
    return Finding(
        "chance",
        f"Accuracy is {_percent(accuracy)}, no better than guessing (10% for "
        f"ten digits).{detail} {cause}",
        evidence,
        cause,
    )


def _check_flat_loss(record: dict[str, Any]) -> Finding | None:
    losses = _finite(record.get("history", {}).get("loss"))
    if len(losses) < 2 or losses[0] <= 0:
        return None
    drop = (losses[0] - losses[-1]) / losses[0]
    if drop >= MIN_LOSS_DROP:
        return None
    config = record.get("config", {})
    direction = "rose" if losses[-1] > losses[0] else "hardly fell"
    cause = join_causes(
        output_cause(config),
        softmax_hidden_cause(config),
        learning_rate_cause(config, "high" if direction == "rose" else "low"),
        fallback=(
            "The optimizer makes no progress: try a learning rate 10 times "
            "smaller, then 10 times larger."
        ),
    )
    return Finding(
        "flat_loss",
        f"The training loss {direction}: {losses[0]:.4f} in epoch 1, "
        f"{losses[-1]:.4f} in epoch {len(losses)}. {cause}",
        {"first_loss": losses[0], "last_loss": losses[-1], "epochs": len(losses)},
        cause,
    )


def _check_loss_above_uniform(record: dict[str, Any]) -> Finding | None:
    loss = record.get("test_loss")
    if not _is_finite(loss) or loss < UNIFORM_LOSS + LOSS_ABOVE_UNIFORM_MARGIN:
        return None
    config = record.get("config", {})
    cause = join_causes(
        output_cause(config),
        fallback=(
            "The model is confidently wrong on many images, which a learning "
            "rate that is too high often causes."
        ),
    )
    accuracy = _final_accuracy(record)
    return Finding(
        "loss_above_uniform",
        f"The test loss {loss:.4f} is far above {UNIFORM_LOSS:.4f}, the loss of "
        f"a model that answers 10% for every class, although accuracy is "
        f"{_percent(accuracy or 0.0)}. {cause}",
        {"loss": float(loss), "uniform_loss": UNIFORM_LOSS},
        cause,
    )


def _accuracy_pairs(record: dict[str, Any]) -> list[tuple[float, float]]:
    """Return (training, validation) accuracy per epoch where both are finite."""
    history = record.get("history", {})
    return [
        (float(train), float(valid))
        for train, valid in zip(
            history.get("accuracy") or [],
            history.get("val_accuracy") or [],
            strict=False,
        )
        if _is_finite(train) and _is_finite(valid)
    ]


def _validation_loss_rise(record: dict[str, Any]) -> tuple[float, int | None]:
    """Return how far the last validation loss is above its lowest, and where.

    The rise is a share of the lowest value; the epoch is 1-based, or None
    when no epoch has a finite validation loss.
    """
    losses = _finite(record.get("history", {}).get("val_loss"))
    if not losses or min(losses) <= 0:
        return 0.0, None
    lowest = min(losses)
    return losses[-1] / lowest - 1, losses.index(lowest) + 1


def _check_overfitting(record: dict[str, Any]) -> Finding | None:
    pairs = _accuracy_pairs(record)
    if len(pairs) < 3:
        return None

    gaps = [train - valid for train, valid in pairs]
    widened = gaps[-1] >= OVERFIT_GAP and gaps[-1] - min(gaps) >= OVERFIT_WIDENING
    loss_rise, best_epoch = _validation_loss_rise(record)
    loss_rose = loss_rise >= OVERFIT_LOSS_RISE
    if not widened and not loss_rose:
        return None

    train, valid = pairs[-1]
    parts = [
        f"training accuracy is {_percent(train)} against {_percent(valid)} on "
        f"the validation images, a gap of {100 * gaps[-1]:.2f} points"
    ]
    evidence = {"gap": gaps[-1], "validation_loss_rise": loss_rise}
    if loss_rose:
        parts.append(
            f"the validation loss is {100 * loss_rise:.0f}% above its lowest "
            f"value, reached in epoch {best_epoch}"
        )
        evidence["best_epoch"] = float(best_epoch)
    return Finding(
        "overfitting",
        "The model starts to memorise its training images: "
        + ", and ".join(parts)
        + ". Fewer epochs, more dropout or more training images help.",
        evidence,
    )


def _check_training_below_validation(record: dict[str, Any]) -> Finding | None:
    pairs = _accuracy_pairs(record)
    if not pairs:
        return None
    train, valid = pairs[-1]
    if valid - train < DROPOUT_GAP:
        return None

    rates = [rate for rate in dropout_rates(record.get("config", {})) if rate > 0]
    if rates:
        cause = (
            f"Dropout (up to {max(rates):g} here) is on while training accuracy "
            "is measured and off for validation, so the training figure "
            "understates the model."
        )
    else:
        cause = (
            "Training accuracy averages over the epoch while the model was "
            "still improving."
        )
    return Finding(
        "training_below_validation",
        f"Training accuracy {_percent(train)} is far below validation accuracy "
        f"{_percent(valid)}. {cause}",
        {"training_accuracy": train, "validation_accuracy": valid},
        cause,
    )


def _check_slow(record: dict[str, Any]) -> Finding | None:
    validation = _finite(record.get("history", {}).get("val_accuracy"))
    if len(validation) < 2 or validation[-1] >= SLOW_CEILING:
        return None
    if validation[-1] < CHANCE_ACCURACY:
        return None
    window = validation[-(SLOW_WINDOW + 1) :]
    gain_per_epoch = (window[-1] - window[0]) / (len(window) - 1)
    if gain_per_epoch >= SLOW_GAIN:
        return None
    config = record.get("config", {})
    causes = []
    high_dropout = [rate for rate in dropout_rates(config) if rate >= HIGH_DROPOUT]
    if high_dropout:
        rate = max(high_dropout)
        causes.append(
            f"Dropout {rate:g} switches off {100 * rate:.0f}% of a layer's units "
            "in every training step, so each step trains a much thinner network."
        )
    causes.append(learning_rate_cause(config, "low"))
    num_train = record.get("data_source", {}).get("num_train")
    if num_train and num_train < SMALL_TRAINING_SET:
        causes.append(
            f"Only {num_train:,} training images were used; more images raise "
            "the accuracy the model can reach."
        )
    cause = join_causes(*causes, fallback="More epochs may still help.")
    return Finding(
        "slow",
        f"Learning is slow: validation accuracy {_percent(validation[-1])} "
        f"gained {100 * gain_per_epoch:.2f} points per epoch over the last "
        f"{len(window) - 1} epochs. {cause}",
        {"accuracy": validation[-1], "gain_per_epoch": gain_per_epoch},
        cause,
    )


def _check_stopped(record: dict[str, Any]) -> Finding | None:
    reason = record.get("stop_reason")
    if not record.get("stopped_early") or reason == "nan":
        return None
    completed = record.get("epochs_completed", 0)
    epochs = record.get("config", {}).get("epochs", completed)
    why = {
        "stopped": "on request",
        "time_limit": "at the server's time limit per run",
        "session_closed": "because its browser tab was closed",
    }.get(reason, f"({reason})")
    return Finding(
        "stopped",
        f"Training stopped {why} after {completed} of {epochs} epochs; the "
        "scores are those of the model at that point.",
        {"epochs_completed": float(completed), "epochs": float(epochs)},
    )


def _healthy(record: dict[str, Any]) -> Finding:
    losses = _finite(record.get("history", {}).get("loss"))
    accuracy = _final_accuracy(record) or 0.0
    if len(losses) >= 2:
        trend = f"the training loss fell from {losses[0]:.4f} to {losses[-1]:.4f}"
    else:
        trend = "one epoch shows no trend yet"
    return Finding(
        "healthy",
        f"Nothing unusual: {trend}, and test accuracy is {_percent(accuracy)}.",
        {"accuracy": accuracy},
    )


def _without_repeated_causes(findings: list[Finding]) -> list[Finding]:
    """Point back to a cause an earlier finding already explained."""
    seen = set()
    result = []
    for finding in findings:
        if finding.cause and finding.cause in seen:
            observation = finding.message.removesuffix(finding.cause).rstrip()
            message = f"{observation} The likely cause is the one above."
            finding = dataclasses.replace(finding, message=message)
        seen.add(finding.cause)
        result.append(finding)
    return result


# Checks for a run that does not learn, most severe first.
FAILURE_CHECKS = (
    _check_nan,
    _check_chance,
    _check_flat_loss,
    _check_loss_above_uniform,
)
# Checks for a run that learns, but not as well as it could.
LEARNING_CHECKS = (_check_overfitting, _check_slow, _check_training_below_validation)


def diagnose(record: dict[str, Any]) -> list[Finding]:
    """Return what the run record shows, most severe first.

    A NaN explains the accuracy at chance that follows it, so a run with NaN
    reports only that. Overfitting and slow learning are looked for only in
    runs that learn at all, and overfitting outranks slow learning. A run
    with no problem gets one "healthy" finding.
    """
    findings = [finding for check in FAILURE_CHECKS if (finding := check(record))]
    if findings and findings[0].kind == "nan":
        findings = findings[:1]
    if not findings:
        findings = [finding for check in LEARNING_CHECKS if (finding := check(record))]
    if any(finding.kind == "overfitting" for finding in findings):
        # More epochs, the remedy for slow learning, would make overfitting worse.
        findings = [finding for finding in findings if finding.kind != "slow"]
    findings = _without_repeated_causes(findings)
    stopped = _check_stopped(record)
    if stopped:
        findings.append(stopped)
    problems = [finding for finding in findings if finding.kind != "stopped"]
    if not problems:
        findings.insert(0, _healthy(record))
    return findings
