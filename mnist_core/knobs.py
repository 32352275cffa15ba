"""Knob settings as text: "name=value" for the command line, links and sweeps.

A knob is a field of the config (`optimizer`, `learning_rate`), a field of one
layer (`hidden_layers.0.units`, `conv_blocks.1.kernel_size`), the same field
of every layer (`hidden_layers.*.units`), a field of the image operation
(`image_operation.train_share`), or a whole layer list written compactly:
`hidden_layers=512:relu:0.2,512:relu:0.2` (units:activation:dropout_rate) and
`conv_blocks=32:3:relu:none:2,64:3:relu:max:2`
(filters:kernel_size:activation:pooling:pool_size).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mnist_core.config import (
    ConvBlockSpec,
    DenseLayerSpec,
    ImageOperation,
    RunConfig,
    config_to_dict,
    default_config,
)

LIST_FIELDS = {"hidden_layers": DenseLayerSpec, "conv_blocks": ConvBlockSpec}


class KnobError(ValueError):
    """A knob setting that names no knob or has a value of the wrong kind."""


def _whole_number(text: str) -> int:
    number = float(text)
    if not number.is_integer():
        raise ValueError(text)
    return int(number)


def _convert(text: str, default: Any, name: str) -> Any:
    """Convert `text` to the type of the knob's default value.

    The default decides the type, not the current value. So a knob whose
    default is None (`train_limit`) takes "none" or a whole number even after
    it was set, and a float knob stays a float while its value is whole.
    """
    text = text.strip()
    try:
        if isinstance(default, bool):
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if isinstance(default, int):
            return _whole_number(text)
        if isinstance(default, float):
            return float(text)
        if default is None:
            if text.lower() in ("", "none", "all"):
                return None
            return _whole_number(text)
    except ValueError as error:
        kind = type(default).__name__ if default is not None else "whole number"
        raise KnobError(f"{name}: {text!r} is not a valid {kind}") from error
    return text


def format_layer_list(name: str, layers: tuple) -> str:
    """Write a layer list in the compact colon-and-comma form."""
    return ",".join(
        ":".join(str(value) for value in dataclasses.astuple(layer)) for layer in layers
    )


def parse_layer_list(name: str, text: str) -> tuple:
    """Parse the compact form of `hidden_layers` or `conv_blocks`."""
    spec_class = LIST_FIELDS[name]
    fields = dataclasses.fields(spec_class)
    defaults = spec_class()
    layers = []
    for index, part in enumerate(filter(None, text.split(",")), start=1):
        values = part.split(":")
        if len(values) > len(fields):
            raise KnobError(
                f"{name} layer {index}: {part!r} has {len(values)} values; "
                f"expected at most {len(fields)} ({':'.join(f.name for f in fields)})"
            )
        arguments = {
            field.name: _convert(value, getattr(defaults, field.name), field.name)
            for field, value in zip(fields, values, strict=False)
        }
        try:
            layers.append(spec_class(**arguments))
        except ValueError as error:
            raise KnobError(f"{name} layer {index}: {error}") from error
    return tuple(layers)


def _set_layer_field(config: RunConfig, path: list[str], text: str) -> RunConfig:
    list_name, which, field_name = path
    layers = list(getattr(config, list_name))
    if which == "*":
        indexes = range(len(layers))
    else:
        if not which.isdigit() or int(which) >= len(layers):
            raise KnobError(
                f"{list_name}.{which}: no such layer; the config has {len(layers)}"
            )
        indexes = [int(which)]
    for index in indexes:
        layer = layers[index]
        if field_name not in {field.name for field in dataclasses.fields(layer)}:
            raise KnobError(f"{list_name} has no field {field_name!r}")
        value = _convert(text, getattr(type(layer)(), field_name), field_name)
        layers[index] = dataclasses.replace(layer, **{field_name: value})
    return dataclasses.replace(config, **{list_name: tuple(layers)})


def apply_knob_setting(config: RunConfig, setting: str) -> RunConfig:
    """Return `config` with one "name=value" setting applied; raises KnobError."""
    name, separator, text = setting.partition("=")
    name = name.strip()
    if not separator or not name:
        raise KnobError(f"{setting!r} is not of the form name=value")
    path = name.split(".")
    field_names = {field.name for field in dataclasses.fields(config)}
    if path[0] not in field_names:
        raise KnobError(
            f"{config.architecture} has no knob {path[0]!r}; knobs: "
            + ", ".join(sorted(field_names))
        )
    try:
        if path[0] in LIST_FIELDS and len(path) == 1:
            return dataclasses.replace(config, **{name: parse_layer_list(name, text)})
        if path[0] in LIST_FIELDS and len(path) == 3:
            return _set_layer_field(config, path, text)
        if path[0] == "image_operation" and len(path) == 2:
            operation = config.image_operation
            if path[1] not in {field.name for field in dataclasses.fields(operation)}:
                raise KnobError(f"image_operation has no field {path[1]!r}")
            value = _convert(text, getattr(ImageOperation(), path[1]), name)
            new_operation = dataclasses.replace(operation, **{path[1]: value})
            return dataclasses.replace(config, image_operation=new_operation)
        if (
            len(path) == 1
            and path[0] not in LIST_FIELDS
            and path[0] != "image_operation"
        ):
            reference = default_config(config.architecture)
            value = _convert(text, getattr(reference, name), name)
            return dataclasses.replace(config, **{name: value})
    except KnobError:
        raise
    except ValueError as error:
        raise KnobError(str(error)) from error
    raise KnobError(f"{name!r} is not a knob path this config understands")


def apply_knob_settings(config: RunConfig, settings: list[str]) -> RunConfig:
    """Apply "name=value" settings in order; raises KnobError on the first bad one."""
    for setting in settings:
        config = apply_knob_setting(config, setting)
    return config


def settings_from_config(config: RunConfig) -> dict[str, str]:
    """Return the settings that turn the tutorial's config into `config`.

    Layer lists and the image operation are written whole when they differ, so
    the result works as URL query parameters and as --set arguments.
    """
    reference = config_to_dict(default_config(config.architecture))
    current = config_to_dict(config)
    settings = {}
    for name, value in current.items():
        if name == "architecture" or reference.get(name) == value:
            continue
        if name in LIST_FIELDS:
            settings[name] = format_layer_list(name, getattr(config, name))
        elif name == "image_operation":
            for field_name, field_value in value.items():
                if reference[name][field_name] != field_value:
                    settings[f"image_operation.{field_name}"] = str(field_value)
        else:
            settings[name] = "none" if value is None else str(value)
    return settings


def config_from_settings(architecture: str, settings: dict[str, str]) -> RunConfig:
    """Build a config from the tutorial's defaults and `settings`."""
    config = default_config(architecture)
    ordered = sorted(settings.items(), key=lambda item: item[0] not in LIST_FIELDS)
    return apply_knob_settings(config, [f"{name}={value}" for name, value in ordered])
