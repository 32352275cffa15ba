"""The accuracy chart's reference lines."""

from ui.charts import accuracy_chart


def test_accuracy_chart_label_offsets_in_pixels():
    history = {"accuracy": [0.5, 0.9], "val_accuracy": [0.6, 0.95]}
    spec = accuracy_chart(history, epochs=2, architecture="mlp").to_dict()
    labels = spec["layer"][2]
    offset = labels["encoding"]["yOffset"]
    # A scaled offset squeezes the two labels, one point apart, onto each other.
    assert offset["scale"] is None
    assert offset["field"] == "offset"
