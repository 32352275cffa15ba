"""The shared sidebar adopts runs that ended while another page was open."""

import time

from streamlit.testing.v1 import AppTest

from mnist_core.config import DenseLayerSpec, MLPConfig
from mnist_core.data import SAMPLE_PATH, DataSource
from mnist_core.jobs import Scheduler
from mnist_core.limits import ServerLimits
from ui import state


def test_sidebar_adopts_run_finished_elsewhere(tmp_models_dir):
    scheduler = Scheduler(ServerLimits(max_concurrent_trainings=1))
    try:
        config = MLPConfig(
            hidden_layers=(DenseLayerSpec(units=8),),
            epochs=1,
            train_limit=100,
            validation="split",
        )
        source = DataSource("sample", str(SAMPLE_PATH), "sample")
        job = scheduler.submit(config, source, owner="elsewhere", label="tiny")
        deadline = time.monotonic() + 120
        while job.snapshot().active and time.monotonic() < deadline:
            time.sleep(0.2)
        assert job.snapshot().record is not None

        app = AppTest.from_file("../streamlit_app.py", default_timeout=60)
        app.session_state[state.MLP_JOB] = job
        app.run()
        app.switch_page("app_pages/runs.py").run()
        assert not app.exception
        session_models = app.session_state[state.SESSION_MODELS]
        assert session_models["mlp"]["path"] == job.snapshot().model_path
        run_ids = [path.stem for path in (tmp_models_dir / "runs").glob("*.json")]
        assert job.snapshot().record["run_id"] in run_ids
    finally:
        scheduler.close()
