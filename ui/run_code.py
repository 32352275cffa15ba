"""The Keras script of a run, with the lines that differ from the tutorial's."""

from __future__ import annotations

import streamlit as st

from mnist_core import codegen
from mnist_core.config import RunConfig


def describe_changed_lines(changed: set[int]) -> str:
    """Say which script lines differ from the tutorial model's script."""
    if not changed:
        return "This is the tutorial's model: no line differs from its script."
    numbers = ", ".join(str(number) for number in sorted(changed))
    return (
        f"{len(changed)} lines differ from the script of the tutorial's model "
        f"and end in `# changed`: lines {numbers}."
    )


def show_script(config: RunConfig, key: str) -> None:
    """Show the standalone Keras script of `config` with copy and download."""
    script = codegen.generate_script(config)
    st.caption(describe_changed_lines(codegen.diff_against_default(config)))
    st.code(script, language="python", line_numbers=True)
    st.download_button(
        "Download the script",
        script,
        file_name=codegen.script_filename(config),
        mime="text/x-python",
        on_click="ignore",
        key=key,
    )
    st.caption(
        "Run it with `python "
        f"{codegen.script_filename(config)} path/to/mnist.npz`, or without a "
        "path to let Keras download MNIST. It trains with Keras's own "
        "process-wide seed, so its scores differ a little from the app's."
    )
