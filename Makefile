# The two commands of kdlab's set-up:  `make demo`  and  `make test`.
# Both create .venv (first time) and install kdlab with all its extras into it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.kdlab-installed
# Extra arguments for pytest, e.g. `make test PYTEST_ARGS="-k codec"`.
PYTEST_ARGS ?=

.PHONY: install demo study test lab book dashboard bench gpu-check clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all]"
	$(BIN)/python -c "from kdlab.codec.trace import warm_up; warm_up()"  # compiles the codec's numba kernels once
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/kdlab demo

# the headline study and every ablation over seeds (resumable; reuses make demo's runs)
study: $(STAMP)
	$(BIN)/kdlab demo --full --no-serve

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

# the notebooks executed on make demo's runs (read, never written) and rendered as a static site in site/
book: $(STAMP)
	$(BIN)/python notebooks/book/build.py --out site

dashboard: $(STAMP)
	$(BIN)/kdlab dashboard runs/demo

bench: $(STAMP)
	$(BIN)/kdlab bench codec

# on a GPU machine, with kdlab installed in $(PYTHON) (pip install -e .): bench train at full size, GPU and
# 2-process torchrun smoke runs; prints PASS/FAIL (a few minutes)
gpu-check:
	PYTHON=$(PYTHON) scripts/gpu_check.sh

clean:
	rm -rf runs data/synthetic data/cache test-output site build/book
