"""Session-state keys, one constant each, prefixed by the page that owns them."""

# Shared by several pages.
# dict: architecture ("mlp"/"cnn") -> {"path": str, "record": dict, "label": str}
# for the models trained in this browser session, newest per architecture.
SESSION_MODELS = "shared.session_models"
# float32 array (28, 28) in [0, 1]: the digit last drawn on the draw page.
DRAWN_DIGIT = "draw.processed_digit"
# The input the inside page should show next: {"kind": "drawn"} or None.
INSIDE_INPUT_REQUEST = "inside.input_request"

MLP_CONFIG = "mlp.config"
MLP_JOB = "mlp.job"
MLP_SWEEP = "mlp.sweep"
CNN_CONFIG = "cnn.config"
CNN_JOB = "cnn.job"
CNN_SWEEP = "cnn.sweep"
