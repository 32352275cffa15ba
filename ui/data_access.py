"""The data set and saved models, loaded once per server process and shared."""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from mnist_core.data import (
    SAMPLE_PATH,
    DataError,
    Dataset,
    DataSource,
    load_dataset,
    resolve_source,
)

logger = logging.getLogger(__name__)


@st.cache_resource(show_spinner="Looking for MNIST…")
def get_data_source() -> tuple[DataSource, str | None]:
    """Return the source in use and, if a named file was refused, why."""
    try:
        return resolve_source(), None
    except DataError as error:
        logger.warning("Falling back to the sample: %s", error)
        sample = DataSource("sample", str(SAMPLE_PATH), "the bundled sample of MNIST")
        return sample, str(error)


@st.cache_resource(show_spinner="Loading MNIST…")
def _load_shared_dataset(kind: str, path: str, description: str) -> Dataset:
    return load_dataset(DataSource(kind, path, description))


def get_dataset() -> tuple[Dataset, str | None]:
    """Return the shared read-only data set and a warning if it is a fallback."""
    source, warning = get_data_source()
    try:
        dataset = _load_shared_dataset(source.kind, source.path, source.description)
    except DataError as error:
        sample = DataSource("sample", str(SAMPLE_PATH), "the bundled sample of MNIST")
        dataset = _load_shared_dataset(sample.kind, sample.path, sample.description)
        warning = f"{error}. Using the bundled sample instead."
    return dataset, warning


@st.cache_resource(show_spinner="Loading the model…", max_entries=16)
def load_model_cached(path: str, modified: float):
    """Load a `.keras` file once per path and modification time."""
    from mnist_core.storage import load_model

    return load_model(Path(path))


def load_model_file(path: str):
    """Load `path` through the cache; returns (model, metadata)."""
    return load_model_cached(path, Path(path).stat().st_mtime)
