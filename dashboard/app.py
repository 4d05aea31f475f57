"""kdlab's dashboard: ``streamlit run dashboard/app.py -- --runs runs/demo`` (or ``kdlab dashboard runs/demo``).

Four pages over a folder of run folders (``--runs``, changeable in the sidebar): motion vectors of
a video, a distillation run's teachers, confusion matrices, and the study's results. Each page is
a thin script in ``views/`` (not ``pages/``, which Streamlit would also list on its own); loading lives in ``state.py``, figures in :mod:`kdlab.figures`.
"""

import sys
import time
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:  # `import state` from the pages, under any runner (app.py reruns on every interaction)
    sys.path.insert(0, HERE)

import streamlit as st  # noqa: E402

import state  # noqa: E402

st.set_page_config(page_title="kdlab", layout="wide")
st.sidebar.markdown("**kdlab**: multi-teacher distillation on compressed video")
page = st.navigation([
    st.Page("views/motion_vectors.py", title="Motion vectors", url_path="motion_vectors", default=True),
    st.Page("views/teachers.py", title="Teachers", url_path="teachers"),
    st.Page("views/confusion.py", title="Confusion matrices", url_path="confusion"),
    st.Page("views/results.py", title="Results", url_path="results"),
])
state.sidebar_runs_dir()
started = time.perf_counter()
page.run()  # a page with nothing to show stops here (st.stop), without the timing below
st.sidebar.caption(f"page rendered in {time.perf_counter() - started:.2f} s")
