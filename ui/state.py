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

INSIDE_MODEL = "inside.model"
INSIDE_INPUT_KIND = "inside.input_kind"
INSIDE_TEST_INDEX = "inside.test_index"
INSIDE_RANDOM_INDEX = "inside.random_index"
INSIDE_CLASS_DIGIT = "inside.class_digit"
INSIDE_CLASS_POSITION = "inside.class_position"
INSIDE_SCALE_EACH = "inside.scale_each"
INSIDE_CLOSEUP_LAYER = "inside.closeup_layer"
INSIDE_CLOSEUP_CHANNEL = "inside.closeup_channel"
INSIDE_KERNEL_LAYER = "inside.kernel_layer"
INSIDE_KERNEL_FILTERS = "inside.kernel_filters"
INSIDE_KERNEL_CHANNELS = "inside.kernel_channels"
INSIDE_UNIT_PAGE = "inside.unit_page"
INSIDE_UNIT = "inside.unit"
INSIDE_CONFUSION_CHART = "inside.confusion_chart"
# The confusion-matrix cell (true, predicted) last clicked, so a click moves
# the two select boxes once and the user can change them afterwards.
INSIDE_LAST_CLICK = "inside.last_click"
INSIDE_TRUE_DIGIT = "inside.true_digit"
INSIDE_PREDICTED_DIGIT = "inside.predicted_digit"

# The MLP and CNN pages. Widget keys start with the *_WIDGET_PREFIX; deleting
# them makes the widgets take their values from the stored config again.
MLP_WIDGET_PREFIX = "mlp.widget."
# True once the page has read the knob settings in the link it was opened with.
MLP_QUERY_APPLIED = "mlp.query_applied"
# list[str]: link settings that could not be applied, shown once.
MLP_QUERY_WARNINGS = "mlp.query_warnings"
# dict: the sweep form's knob, values text, seeds per value and validation.
MLP_SWEEP_SETTINGS = "mlp.sweep_settings"
CNN_WIDGET_PREFIX = "cnn.widget."
CNN_QUERY_APPLIED = "cnn.query_applied"
CNN_QUERY_WARNINGS = "cnn.query_warnings"
CNN_SWEEP_SETTINGS = "cnn.sweep_settings"
# set[str]: ids of finished jobs already recorded as runs and session models.
RECORDED_JOBS = "shared.recorded_jobs"

# The draw page. int: bumped by Clear, so the canvas gets a new key and empties.
DRAW_CANVAS_VERSION = "draw.canvas_version"
DRAW_STROKE_WIDTH = "draw.stroke_width"
DRAW_UPLOAD = "draw.upload"
DRAW_COMPARE_NAIVE = "draw.compare_naive"
# Followed by "mlp" or "cnn": the select box of the model that reads the digit.
DRAW_MODEL_PREFIX = "draw.model."

# The runs page. bool: list the runs of every session, not only this one's.
RUNS_SHOW_ALL = "runs.show_all"
# Prefix of the runs table's key; the key changes with RUNS_SHOW_ALL so that
# a selection never carries over to another list of runs.
RUNS_TABLE_PREFIX = "runs.table."
RUNS_CODE_RUN = "runs.code_run"
RUNS_IMPORT = "runs.import"
# {"file_id": str, "kind": "success" | "info" | "error", "text": str}: the
# outcome of the last import, shown while its file stays in the uploader.
RUNS_IMPORT_RESULT = "runs.import_result"

# The models page.
MODELS_KEEP_CHOICE = "models.keep_choice"
MODELS_KEEP_NAME = "models.keep_name"
MODELS_SELECTED = "models.selected"
MODELS_NEW_NAME = "models.new_name"
MODELS_CONFIRM_DELETE = "models.confirm_delete"
MODELS_UPLOAD = "models.upload"
# str: the file_id of the last upload handled, so a rerun does not store it again.
MODELS_UPLOADED_FILE = "models.uploaded_file"
# {"place": str, "kind": "success" | "info" | "error", "text": str}: the
# outcome of the last action, shown once beside the control that caused it.
MODELS_MESSAGE = "models.message"
