"""Tests for mnist_core.data: file formats, refusals, source order, failover."""

from __future__ import annotations

import gzip
import socket
import time

import numpy as np
import pytest

from mnist_core import data
from mnist_core.data import (
    IDX_NAMES,
    SAMPLE_PATH,
    DataError,
    fingerprint_arrays,
    load_dataset,
    load_from_path,
    network_reachable,
    resolve_source,
)

# Bound on the failover's wall time where the network check is made to fail.
# It fails in microseconds; the bound only catches a fallback that waits.
FAILOVER_SECONDS = 5.0


def make_arrays(num_train: int = 40, num_test: int = 20) -> dict[str, np.ndarray]:
    """Random MNIST-shaped uint8 arrays with labels 0..9."""
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.integers(0, 256, (num_train, 28, 28), dtype=np.uint8),
        "y_train": (np.arange(num_train) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (num_test, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(num_test) % 10).astype(np.uint8),
    }


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the IDX format of the MNIST files.

    Header: two zero bytes, the type code 0x08 (unsigned byte), the number of
    dimensions, then each dimension as a big-endian 32-bit integer.
    """
    header = bytes([0, 0, 0x08, array.ndim])
    for size in array.shape:
        header += int(size).to_bytes(4, "big")
    return header + array.tobytes()


def write_idx_folder(folder, arrays, compress: bool) -> None:
    folder.mkdir(exist_ok=True)
    for key, stem in IDX_NAMES.items():
        payload = idx_bytes(arrays[key])
        if compress:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(payload))
        else:
            (folder / stem).write_bytes(payload)


def write_npz(path, arrays) -> None:
    np.savez_compressed(path, **arrays)


def test_load_sample_sizes(sample_dataset):
    assert sample_dataset.num_train == 6000
    assert sample_dataset.num_test == 1000


def test_load_sample_dtypes(sample_dataset):
    assert sample_dataset.x_train.dtype == np.uint8
    assert sample_dataset.y_train.dtype == np.uint8


def test_load_sample_has_every_digit(sample_dataset):
    assert set(np.unique(sample_dataset.y_test)) == set(range(10))


def test_load_npz(tmp_path):
    arrays = make_arrays()
    path = tmp_path / "mnist.npz"
    write_npz(path, arrays)
    dataset = load_from_path(path)
    np.testing.assert_array_equal(dataset.x_train, arrays["x_train"])
    np.testing.assert_array_equal(dataset.y_test, arrays["y_test"])
    assert dataset.source.kind == "file"


def test_load_npz_converts_int64_labels(tmp_path):
    arrays = make_arrays()
    arrays["y_train"] = arrays["y_train"].astype(np.int64)
    path = tmp_path / "mnist.npz"
    write_npz(path, arrays)
    assert load_from_path(path).y_train.dtype == np.uint8


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
def test_load_idx_folder(tmp_path, compress):
    arrays = make_arrays()
    folder = tmp_path / "idx"
    write_idx_folder(folder, arrays, compress)
    dataset = load_from_path(folder)
    np.testing.assert_array_equal(dataset.x_train, arrays["x_train"])
    np.testing.assert_array_equal(dataset.y_train, arrays["y_train"])
    np.testing.assert_array_equal(dataset.x_test, arrays["x_test"])
    np.testing.assert_array_equal(dataset.y_test, arrays["y_test"])


def test_idx_and_npz_same_fingerprint(tmp_path):
    arrays = make_arrays()
    write_idx_folder(tmp_path / "idx", arrays, compress=True)
    write_npz(tmp_path / "mnist.npz", arrays)
    from_idx = load_from_path(tmp_path / "idx")
    from_npz = load_from_path(tmp_path / "mnist.npz")
    assert from_idx.fingerprint == from_npz.fingerprint


def bad_npz_cases() -> dict[str, tuple[dict, str]]:
    """Arrays that must be refused, with words the message must contain."""
    cases = {}
    arrays = make_arrays()
    arrays["x_train"] = arrays["x_train"].reshape(40, 784)
    cases["flat_images"] = (arrays, "x_train has shape")
    arrays = make_arrays()
    arrays["x_test"] = np.zeros((20, 32, 32), np.uint8)
    cases["other_image_size"] = (arrays, "x_test has shape")
    arrays = make_arrays()
    arrays["y_train"] = arrays["y_train"][:-1]
    cases["fewer_labels"] = (arrays, "y_train has shape")
    arrays = make_arrays()
    arrays["y_test"][3] = 10
    cases["label_10"] = (arrays, "y_test has labels")
    arrays = make_arrays()
    arrays["y_train"] = arrays["y_train"].astype(np.int16)
    arrays["y_train"][0] = -1
    cases["negative_label"] = (arrays, "y_train has labels")
    arrays = make_arrays()
    arrays["x_train"] = arrays["x_train"].astype(np.float32)
    cases["float_images"] = (arrays, "x_train has dtype float32")
    arrays = make_arrays()
    arrays["y_test"] = arrays["y_test"].astype(np.float64)
    cases["float_labels"] = (arrays, "y_test has dtype float64")
    arrays = make_arrays()
    arrays["x_test"] = arrays["x_test"][:0]
    arrays["y_test"] = arrays["y_test"][:0]
    cases["no_test_images"] = (arrays, "x_test holds no images")
    arrays = make_arrays()
    del arrays["y_test"]
    cases["missing_array"] = (arrays, "missing arrays y_test")
    return cases


BAD_NPZ_CASES = bad_npz_cases()


@pytest.mark.parametrize(("arrays", "words"), BAD_NPZ_CASES.values(), ids=BAD_NPZ_CASES)
def test_load_npz_rejects_bad_arrays(tmp_path, arrays, words):
    path = tmp_path / "broken.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError) as raised:
        load_from_path(path)
    message = str(raised.value)
    assert str(path) in message
    assert words in message


def test_load_rejects_text_file(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("these are not arrays\n")
    with pytest.raises(DataError, match="notes.npz: not a readable .npz"):
        load_from_path(path)


def test_load_rejects_single_npy_array(tmp_path):
    path = tmp_path / "images.npy"
    np.save(path, make_arrays()["x_train"])
    with pytest.raises(DataError, match="images.npy: contains a single array"):
        load_from_path(path)


def test_load_rejects_truncated_npz(tmp_path):
    path = tmp_path / "cut.npz"
    write_npz(path, make_arrays())
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DataError, match="cut.npz: not a readable .npz"):
        load_from_path(path)


def test_load_rejects_damaged_npz_member(tmp_path):
    path = tmp_path / "damaged.npz"
    write_npz(path, make_arrays(400, 100))
    content = bytearray(path.read_bytes())
    # Zero bytes inside the first member's compressed data, past its header.
    content[200:400] = bytes(200)
    path.write_bytes(bytes(content))
    with pytest.raises(DataError, match="damaged.npz"):
        load_from_path(path)


def test_load_rejects_pickled_objects(tmp_path):
    arrays = make_arrays()
    arrays["y_train"] = np.array([object()] * 40)
    path = tmp_path / "objects.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match="objects.npz"):
        load_from_path(path)


def test_load_rejects_missing_path(tmp_path):
    with pytest.raises(DataError, match="absent.npz: no such file"):
        load_from_path(tmp_path / "absent.npz")


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
def test_load_idx_rejects_truncated_file(tmp_path, compress):
    folder = tmp_path / "idx"
    write_idx_folder(folder, make_arrays(), compress=False)
    stem = IDX_NAMES["x_train"]
    payload = (folder / stem).read_bytes()[:-100]
    (folder / stem).unlink()
    if compress:
        (folder / f"{stem}.gz").write_bytes(gzip.compress(payload))
    else:
        (folder / stem).write_bytes(payload)
    with pytest.raises(DataError, match=f"{stem}.*header says shape"):
        load_from_path(folder)


def test_load_idx_rejects_cut_gzip_stream(tmp_path):
    folder = tmp_path / "idx"
    write_idx_folder(folder, make_arrays(), compress=True)
    path = folder / f"{IDX_NAMES['x_test']}.gz"
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(DataError, match=f"{IDX_NAMES['x_test']}.gz: cannot read"):
        load_from_path(folder)


def test_load_idx_rejects_damaged_gzip_stream(tmp_path):
    folder = tmp_path / "idx"
    write_idx_folder(folder, make_arrays(), compress=True)
    path = folder / f"{IDX_NAMES['x_train']}.gz"
    content = bytearray(path.read_bytes())
    content[12:40] = bytes(28)
    path.write_bytes(bytes(content))
    with pytest.raises(DataError, match=f"{IDX_NAMES['x_train']}.gz"):
        load_from_path(folder)


def test_load_idx_rejects_other_type_code(tmp_path):
    folder = tmp_path / "idx"
    write_idx_folder(folder, make_arrays(), compress=False)
    path = folder / IDX_NAMES["y_test"]
    content = bytearray(path.read_bytes())
    content[2] = 0x0D  # float32 elements
    path.write_bytes(bytes(content))
    with pytest.raises(DataError, match="not an IDX file of unsigned bytes"):
        load_from_path(folder)


def test_load_idx_rejects_missing_file(tmp_path):
    folder = tmp_path / "idx"
    write_idx_folder(folder, make_arrays(), compress=True)
    (folder / f"{IDX_NAMES['y_train']}.gz").unlink()
    with pytest.raises(DataError, match=f"missing {IDX_NAMES['y_train']}"):
        load_from_path(folder)


def test_dataset_arrays_are_read_only(sample_dataset):
    for name in IDX_NAMES:
        array = getattr(sample_dataset, name)
        assert not array.flags.writeable, name


def test_dataset_refuses_pixel_write(sample_dataset):
    with pytest.raises(ValueError, match="read-only"):
        sample_dataset.x_train[0, 0, 0] = 1


def test_fingerprint_differs_after_one_pixel(sample_dataset):
    arrays = {name: getattr(sample_dataset, name).copy() for name in IDX_NAMES}
    arrays["x_test"][0, 14, 14] ^= 1
    assert fingerprint_arrays(arrays) != sample_dataset.fingerprint


def test_fingerprint_same_for_same_arrays(sample_dataset):
    arrays = {name: getattr(sample_dataset, name).copy() for name in IDX_NAMES}
    assert fingerprint_arrays(arrays) == sample_dataset.fingerprint


def test_load_dataset_shares_cached_arrays():
    source = data.DataSource("sample", str(SAMPLE_PATH), "the sample")
    assert load_dataset(source).x_train is load_dataset(source).x_train


def test_load_dataset_keeps_caller_description():
    first = data.DataSource("sample", str(SAMPLE_PATH), "first description")
    second = data.DataSource("sample", str(SAMPLE_PATH), "second description")
    load_dataset(first)
    assert load_dataset(second).source.description == "second description"


def test_resolve_named_file(tmp_path, offline_data_environment, monkeypatch):
    path = tmp_path / "mine.npz"
    write_npz(path, make_arrays())
    monkeypatch.setenv("MNIST_DATA", str(path))
    source = resolve_source()
    assert source.kind == "file"
    assert source.path == str(path)


def test_resolve_argument_before_environment(
    tmp_path, offline_data_environment, monkeypatch
):
    path = tmp_path / "argument.npz"
    write_npz(path, make_arrays())
    monkeypatch.setenv("MNIST_DATA", str(tmp_path / "absent.npz"))
    assert resolve_source(str(path)).path == str(path)


def test_resolve_missing_named_file(tmp_path, offline_data_environment, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(tmp_path / "absent.npz"))
    with pytest.raises(DataError, match="absent.npz: no such file"):
        resolve_source()


def test_resolve_named_file_before_keras_cache(
    tmp_path, offline_data_environment, monkeypatch
):
    (offline_data_environment / "datasets").mkdir()
    write_npz(offline_data_environment / "datasets" / "mnist.npz", make_arrays())
    path = tmp_path / "mine.npz"
    write_npz(path, make_arrays())
    monkeypatch.setenv("MNIST_DATA", str(path))
    assert resolve_source().kind == "file"


def test_resolve_keras_cache(offline_data_environment):
    cache = offline_data_environment / "datasets" / "mnist.npz"
    cache.parent.mkdir()
    write_npz(cache, make_arrays())
    source = resolve_source()
    assert source.kind == "keras"
    assert source.path == str(cache)


def test_resolve_sample_without_network(offline_data_environment):
    started = time.perf_counter()
    source = resolve_source()
    seconds = time.perf_counter() - started
    assert source.kind == "sample"
    assert source.path == str(SAMPLE_PATH)
    assert seconds < FAILOVER_SECONDS


def test_resolve_sample_when_check_returns_false(offline_data_environment, monkeypatch):
    monkeypatch.setattr(data, "network_reachable", lambda *arguments: False)
    started = time.perf_counter()
    source = resolve_source()
    assert source.kind == "sample"
    assert time.perf_counter() - started < FAILOVER_SECONDS


def test_resolve_sample_when_download_fails(offline_data_environment, monkeypatch):
    def fail_download(timeout):
        raise OSError("download refused")

    monkeypatch.setattr(data, "network_reachable", lambda *arguments: True)
    monkeypatch.setattr(data, "_download_with_keras", fail_download)
    started = time.perf_counter()
    source = resolve_source()
    assert source.kind == "sample"
    assert time.perf_counter() - started < FAILOVER_SECONDS


def test_resolve_sample_when_download_leaves_no_file(
    offline_data_environment, monkeypatch
):
    monkeypatch.setattr(data, "network_reachable", lambda *arguments: True)
    monkeypatch.setattr(data, "_download_with_keras", lambda timeout: None)
    assert resolve_source().kind == "sample"


def test_resolve_keras_after_download(offline_data_environment, monkeypatch):
    cache = offline_data_environment / "datasets" / "mnist.npz"

    def download(timeout):
        cache.parent.mkdir()
        write_npz(cache, make_arrays())
        return cache

    monkeypatch.setattr(data, "network_reachable", lambda *arguments: True)
    monkeypatch.setattr(data, "_download_with_keras", download)
    assert resolve_source().kind == "keras"


def test_resolve_without_download_never_checks_network(
    offline_data_environment, monkeypatch
):
    def forbidden(*arguments):
        raise AssertionError("the network check ran")

    monkeypatch.setattr(data, "network_reachable", forbidden)
    assert resolve_source(allow_download=False).kind == "sample"


def test_network_reachable_false_when_connection_fails(offline_data_environment):
    assert network_reachable() is False


@pytest.mark.skipif(
    network_reachable(), reason="this machine reaches the Keras download host"
)
def test_real_offline_failover_returns_sample(tmp_path, monkeypatch):
    # No monkeypatched network: the real check fails on a machine without
    # internet, and the sample follows within about the check's timeout.
    monkeypatch.delenv("MNIST_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    started = time.perf_counter()
    source = resolve_source()
    assert source.kind == "sample"
    assert time.perf_counter() - started < 10.0


def test_offline_fixture_blocks_connections(offline_data_environment):
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
