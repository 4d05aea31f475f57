"""kdlab's dashboard: ``streamlit run dashboard/app.py -- --runs runs/demo`` (or ``kdlab dashboard runs/demo``).

Six pages over a folder of run folders (``--runs``, changeable in the sidebar): motion vectors of
a video, a distillation run's teachers, confusion matrices, the study's results, distillation by
hand (soft targets, temperature, teacher weights) and fusion by hand (stream weights). Each page is
a thin script in ``views/`` (not ``pages/``, which Streamlit would also list on its own) with its
own URL (``/results``); its choices (run, clip, temperature, weights) go into the URL's query, so a
copied link reopens the same view. Loading lives in ``state.py``, figures in :mod:`kdlab.figures`.
``.streamlit/config.toml`` beside this file hides Streamlit's developer menu and Deploy button.
"""

import sys
import time
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:  # `import state` from the pages, under any runner (app.py reruns on every interaction)
    sys.path.insert(0, HERE)

import streamlit as st  # noqa: E402

import state  # noqa: E402

#: (script, title, url path) of every page, in the navigation's order.
PAGES = (
    ("views/motion_vectors.py", "Motion vectors", "motion_vectors"),
    ("views/teachers.py", "Teachers", "teachers"),
    ("views/confusion.py", "Confusion matrices", "confusion"),
    ("views/results.py", "Results", "results"),
    ("views/distillation.py", "Distillation", "distillation"),
    ("views/fusion.py", "Fusion", "fusion"),
)


def home() -> None:
    """The root URL: the first page at its own address (a default page would answer at ``/`` only), query kept."""
    st.switch_page(PAGES[0][0], query_params=st.query_params.to_dict())


st.set_page_config(page_title="kdlab", layout="wide")
st.sidebar.markdown("**kdlab**: multi-teacher distillation on compressed video")
page = st.navigation([st.Page(home, title="kdlab", url_path="home", default=True, visibility="hidden")]
                     + [st.Page(script, title=title, url_path=url) for script, title, url in PAGES])
state.sidebar_runs_dir()
if page.url_path != "home":  # every page reads the runs folder: its damaged files are named once, above the page
    state.warn_damaged(state.runs_dir())
started = time.perf_counter()
page.run()  # a page with nothing to show stops here (st.stop), without the timing below
st.sidebar.caption(f"page rendered in {time.perf_counter() - started:.2f} s")
