# regrowth — two commands do everything on a fresh machine:
#   make replicate   environment, data, panel, models, tables, figures, notebooks
#   make test        environment, then the test suite
# Every other target is a step of those two.

PYTHON_BOOT ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed

# Where `make data` copies the raw files from. CI and a checkout beside
# ../shared use that folder; without it, `make data DOWNLOAD=1` downloads
# each file from the origin pinned in data/raw/MANIFEST.toml instead.
REGROWTH_DATA_MIRROR ?= $(if $(wildcard ../shared/data/SHA256SUMS),$(abspath ../shared/data),)
export REGROWTH_DATA_MIRROR
# Headless plotting, no stray caches outside the project, fixed hash seed.
export MPLBACKEND := Agg
export PYTHONHASHSEED := 0
export MPLCONFIGDIR := $(CURDIR)/build/mplconfig

.PHONY: all replicate test test-all env data panel models notebooks bench fixtures clean help curve

all: replicate

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

env: $(STAMP) ## create .venv and install the pinned environment

# requirements.lock pins every package of the environment, dependencies included, so it is
# installed as listed (--no-deps: no resolver pass); `pip check` (uv's or pip's) then fails
# the step if a dependency of a pin or of regrowth itself is missing from the lock.
# INSTALLER=uv (default) installs with uv (pinned below, kept in build/uv, not in the
# environment): the same pinned versions from the same registry, with byte-compiled modules,
# in about a third of pip's time; INSTALLER=pip uses pip alone. uv does not read pip's
# configuration, so the index settings of pip's environment variables are passed on, and it
# trusts the system's certificates (--native-tls); if uv fails, the step says so and is
# redone with pip.
INSTALLER ?= uv
UV_PIN    := uv==0.13.9
UV        := build/uv/bin/uv
UV_INDEX_ARGS := $(if $(PIP_INDEX_URL),--index-url $(PIP_INDEX_URL)) \
	$(foreach u,$(PIP_EXTRA_INDEX_URL),--extra-index-url $(u)) \
	$(foreach u,$(PIP_FIND_LINKS),--find-links $(u))
$(STAMP): requirements.lock pyproject.toml
	@case "$(INSTALLER)" in uv|pip) ;; *) echo "make: INSTALLER must be uv or pip, not '$(INSTALLER)'" >&2; exit 2;; esac
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
ifeq ($(INSTALLER),uv)
	test -x $(UV) || $(PYTHON_BOOT) -m pip install --quiet --disable-pip-version-check --target build/uv $(UV_PIN)
	$(UV) pip install --quiet --native-tls --python $(PY) --no-deps --compile-bytecode $(UV_INDEX_ARGS) -r requirements.lock \
	  && $(UV) pip install --quiet --python $(PY) --no-deps --no-build-isolation -e . \
	  && $(UV) pip check --python $(PY) \
	  || { echo "make env: uv could not install or check the environment (above); doing it with pip" >&2; \
	       $(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock \
	       && $(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . \
	       && $(PY) -m pip check; }
else
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -m pip check
endif
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

# EDITION=full also fetches the full-edition KOSIS tables through KOSIS OpenAPI (key from
# $KOSIS_API_KEY; without it `regrowth data kosis` says how to get one and exits 2).
EDITION ?= public
data: $(STAMP) ## acquire raw files into data/raw/ (checksums verified; DOWNLOAD=1 allows downloads; EDITION=full adds KOSIS OpenAPI tables)
	@case "$(EDITION)" in public|full) ;; *) echo "make: EDITION must be public or full, not '$(EDITION)'" >&2; exit 2;; esac
	$(PY) -m regrowth data fetch $(if $(DOWNLOAD),--allow-download,)
	$(if $(filter full,$(EDITION)),$(PY) -m regrowth data kosis,)

panel: data ## build data/processed/panel.{parquet,csv} and codebook.csv
	$(PY) -m regrowth panel
	@mkdir -p build && touch $(PANEL_STAMP)

# `make models` (so a warm `make replicate`) runs the data and panel steps only when something
# they read changed since they last ran: $(PANEL_STAMP) is touched by `make panel`, and the
# steps run when it is missing, when the panel is missing, or when it is older than the
# environment, requirements.lock, pyproject.toml, the spec file, a raw file, the data mirror's
# checksums or a source file of the package. `make data` and `make panel` always run.
# (A shell test, not prerequisites: raw file names have spaces, which make cannot list.)
PANEL_STAMP := build/panel-$(EDITION).stamp
PANEL_STALE  = $(shell test -f $(PANEL_STAMP) -a -f data/processed/panel.parquet \
  -a ! $(STAMP) -nt $(PANEL_STAMP) \
  && test -z "$$(find data/raw specs/models.toml requirements.lock pyproject.toml \
      $(if $(REGROWTH_DATA_MIRROR),$(wildcard $(REGROWTH_DATA_MIRROR)/SHA256SUMS),) \
      -type f ! -name '.*' -newer $(PANEL_STAMP) -print -quit 2>/dev/null)" \
  && test -z "$$(find src/regrowth -name '*.py' -newer $(PANEL_STAMP) -print -quit)" \
  || echo stale)

# Backend of the randomization tests' draws in `make models`/`make replicate`: serial (default),
# processes or dask, as CURVE_BACKEND for `make curve`; the results are the same on each.
# REPLICATE_ARGS adds options of `regrowth replicate`, e.g. --workers 4.
REGROWTH_BACKEND ?= serial
models: $(if $(PANEL_STALE),panel,$(STAMP)) ## fit every specification: results/tables, results/figures, results/estimates.json
	$(PY) -m regrowth replicate --no-notebooks --backend $(REGROWTH_BACKEND) $(REPLICATE_ARGS)

notebooks: models ## build notebooks/*.ipynb from their jupytext sources notebooks/*.py and execute them
	$(PY) -m regrowth notebooks

# `make replicate` is `make models` then `make notebooks` in one process (`regrowth replicate`
# executes the notebooks after publishing results/): one start-up of the package, not two.
replicate: $(if $(PANEL_STALE),panel,$(STAMP)) ## everything: panel, models, tables, figures, notebooks
	$(PY) -m regrowth replicate --backend $(REGROWTH_BACKEND) $(REPLICATE_ARGS)

# Backend of `make curve`: serial, processes or dask (CURVE_ARGS adds e.g. --workers 4);
# unset, `regrowth curve` uses its default (regrowth.curve.DEFAULT_BACKEND).
CURVE_BACKEND ?=
curve: panel ## specification curves: results/curve/<id>.{json,csv,png}
	$(PY) -m regrowth curve $(if $(CURVE_BACKEND),--backend $(CURVE_BACKEND)) $(CURVE_ARGS)

# With the data mirror present, the tests also run on the real panel (about 5 s to build);
# without it, the tests that need the real data are skipped with the reason.
TEST_DATA := $(if $(REGROWTH_DATA_MIRROR),panel,)

# The suite runs on TEST_WORKERS processes (pytest-xdist; TEST_WORKERS=0: one process), a test
# module per worker at a time so that module fixtures are built once; the end-to-end run's
# module is collected first (tests/conftest.py) and starts at once on one worker.
TEST_WORKERS ?= 2
PYTEST_XDIST := -n $(TEST_WORKERS) $(if $(filter 0,$(TEST_WORKERS)),,--dist loadfile --no-loadscope-reorder)
# BLAS threads of each test process: the workers already fill the cores, and more threads
# than cores only make them wait for each other (pytest 142 s against 153-160 s from fresh
# clones). Tests that need another count set it themselves (threadpoolctl).
TEST_BLAS_THREADS ?= 1
TEST_THREADS := OPENBLAS_NUM_THREADS=$(TEST_BLAS_THREADS) OMP_NUM_THREADS=$(TEST_BLAS_THREADS) MKL_NUM_THREADS=$(TEST_BLAS_THREADS)

test: $(STAMP) $(TEST_DATA) ## run the test suite (no R, no internet needed)
	$(TEST_THREADS) $(PY) -m pytest -q $(PYTEST_XDIST)

test-all: $(STAMP) $(TEST_DATA) ## tests including those marked slow (Monte Carlo studies, full curves, more kill -9 moments)
	$(TEST_THREADS) $(PY) -m pytest -q $(PYTEST_XDIST) -m "not needs_r"

bench: $(STAMP) ## benchmarks against peers measured in the same run
	$(PY) benchmarks/run_all.py

fixtures: ## regenerate R reference fixtures (needs Debian's r-base and r-cran-* packages)
	bash tests/fixtures/make_fixtures.sh

clean:
	rm -rf build .pytest_cache
