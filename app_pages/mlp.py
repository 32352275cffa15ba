"""Exercise 1: change the tutorial's MLP knob by knob, train it and compare runs."""

import streamlit as st

from ui.architecture_view import show_architecture
from ui.config_state import PAGE_KEYS
from ui.exercise_view import choose_config, show_training_and_sweep
from ui.mlp_controls import mlp_controls

KEYS = PAGE_KEYS["mlp"]

st.title("Exercise 1: the multilayer perceptron")
st.markdown(
    "The tutorial's MLP flattens each 28x28 image into 784 numbers and passes "
    "them through two hidden Dense layers of 512 ReLU units, each followed by "
    "Dropout 0.2, to a 10-unit softmax output. RMSprop trains it for 20 epochs "
    "in batches of 128. Every knob is in the sidebar, set to the tutorial's "
    "value; change one, train, and see what it does to accuracy and speed."
)

config, chosen = choose_config(KEYS, "Exercise 1, one click per question", mlp_controls)

st.subheader("The model these settings build")
buildable = show_architecture(config)
with st.expander("What the knobs do"):
    st.markdown(
        "- **Hidden units**: more units can learn finer features, but every "
        "unit adds 785 weights from the input, so time per epoch grows too.\n"
        "- **Activation**: hidden layers need a nonlinearity such as ReLU. The "
        "output needs softmax to give ten probabilities that sum to 1, which "
        "is what the cross-entropy loss expects.\n"
        "- **Dropout** zeroes a random share of a layer's outputs in each "
        "training step, so no unit can rely on another; it fights overfitting "
        "but slows learning.\n"
        "- **Learning rate**: the size of each weight update. Too large and "
        "the loss jumps or becomes NaN; too small and it barely moves.\n"
        "- **Validation**: the tutorial validates on the test set. A held-out "
        "share of the training images is the sound choice when you pick "
        "settings by their curves."
    )

show_training_and_sweep(config, chosen, KEYS, buildable)
