"""How a config's model differs from the tutorial's, group of layers by group.

The totals of `mnist_core.architecture.compare_with_tutorial` hide where a
change acts: 2x2 kernels cut the convolutions' work but enlarge the dense
layer after them. This module splits parameters and multiply-accumulates
(MACs) into the convolutions, the hidden dense layers and the output layer.
Like the architecture module, it needs no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass

from mnist_core.architecture import LayerRow, describe_architecture
from mnist_core.config import RunConfig, default_config


@dataclass(frozen=True)
class GroupDifference:
    """One group of layers and one measure, in the tutorial's model and this one."""

    group: str  # "the convolutions", "the hidden layers", ...
    measure: str  # "parameters" or "MACs"
    tutorial: int
    current: int

    @property
    def change(self) -> float | None:
        """Relative change from the tutorial's value; None if that is zero."""
        if self.tutorial == 0:
            return None
        return self.current / self.tutorial - 1

    def describe(self) -> str:
        """Say the change in words, e.g. "48% fewer MACs in the convolutions"."""
        change = self.change
        if change is None:
            return f"{self.current:,} {self.measure} in {self.group} (none before)"
        direction = "more" if change > 0 else "fewer"
        return f"{abs(change):.0%} {direction} {self.measure} in {self.group}"


def _group_of(row: LayerRow) -> str | None:
    if row.layer_type == "Conv2D":
        return "the convolutions"
    if row.layer_type != "Dense":
        return None
    if row.name == "output":
        return "the output layer"
    if row.name == "dense":
        return "the dense layer"
    return "the hidden layers"


def _group_totals(rows: list[LayerRow]) -> dict[str, tuple[int, int]]:
    totals: dict[str, tuple[int, int]] = {}
    for row in rows:
        group = _group_of(row)
        if group is None:
            continue
        parameters, macs = totals.get(group, (0, 0))
        totals[group] = (parameters + row.num_parameters, macs + row.macs)
    return totals


def compare_groups(config: RunConfig) -> list[GroupDifference]:
    """Return the groups and measures in which `config` differs from the tutorial.

    Raises ArchitectureError if `config` cannot be built.
    """
    reference = _group_totals(
        describe_architecture(default_config(config.architecture))
    )
    current = _group_totals(describe_architecture(config))
    differences = []
    for group in dict.fromkeys([*reference, *current]):
        before = reference.get(group, (0, 0))
        after = current.get(group, (0, 0))
        for index, measure in enumerate(("parameters", "MACs")):
            if before[index] != after[index]:
                differences.append(
                    GroupDifference(group, measure, before[index], after[index])
                )
    return differences


def describe_differences(config: RunConfig) -> str:
    """Sum up the differences in one line, or say the model is the tutorial's.

    A group whose parameters and MACs change by the same percentage gets one
    phrase, e.g. "96% fewer parameters and MACs in the output layer".
    """
    differences = compare_groups(config)
    if not differences:
        return "Same parameters and MACs as the tutorial's model."
    phrases = []
    for group in dict.fromkeys(difference.group for difference in differences):
        in_group = [item for item in differences if item.group == group]
        texts = [item.describe() for item in in_group]
        if len(in_group) == 2 and texts[0].replace("parameters", "MACs") == texts[1]:
            texts = [texts[0].replace("parameters", "parameters and MACs")]
        phrases.extend(texts)
    return "Compared with the tutorial's model: " + ", ".join(phrases) + "."
