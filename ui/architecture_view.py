"""The table of layers a config will build, shown before training."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mnist_core.architecture import ArchitectureError, describe_architecture
from mnist_core.comparison import describe_differences
from mnist_core.config import RunConfig
from ui.format import format_count


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(size) for size in shape) + ")"


def show_architecture(config: RunConfig) -> bool:
    """Show the layers, their sizes and cost; return False if it cannot be built."""
    try:
        rows = describe_architecture(config)
    except ArchitectureError as error:
        st.error(f"This model cannot be built. {error}.")
        return False

    table = pd.DataFrame(
        {
            "Layer": [row.name for row in rows],
            "Type": [row.layer_type for row in rows],
            "Output shape": [_shape_text(row.output_shape) for row in rows],
            "Parameters": [format_count(row.num_parameters) for row in rows],
            "MACs per image": [format_count(row.macs) for row in rows],
        }
    )
    total_parameters = sum(row.num_parameters for row in rows)
    total_macs = sum(row.macs for row in rows)
    totals = {
        "Layer": "total",
        "Type": "",
        "Output shape": "",
        "Parameters": format_count(total_parameters),
        "MACs per image": format_count(total_macs),
    }
    table = pd.concat([table, pd.DataFrame([totals])], ignore_index=True)
    st.dataframe(table, hide_index=True)
    st.caption(
        "Output shapes leave out the batch axis. A MAC is one multiply-accumulate, "
        "the unit of work of Dense and Conv2D layers. " + describe_differences(config)
    )
    return True
