# The two commands a new user needs:
#   make demo   set up, run the whole pipeline on the demo data through Airflow, serve the dashboard
#   make test   set up and run the test suite (.ci/run calls exactly this)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8501

export LISTENING_CONFIG ?= $(CURDIR)/listening.yaml
export AIRFLOW_HOME ?= $(CURDIR)/var/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export HF_HUB_OFFLINE := 1

.PHONY: install demo pipeline dashboard test lint format clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

install: $(BIN)/.installed  ## create .venv and install the project (pinned by constraints.txt)

pipeline: install  ## demo data -> Airflow DAGs (ingest -> enrich -> marts), offline
	$(BIN)/listening models prepare > /dev/null
	$(BIN)/listening demo generate
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/run_dags.sh
	$(BIN)/listening status

demo: pipeline  ## run the pipeline, then serve the dashboard on $(HOST):$(PORT)
	$(BIN)/listening dashboard --host $(HOST) --port $(PORT)

dashboard: install
	$(BIN)/listening dashboard --host $(HOST) --port $(PORT)

test: install  ## run the test suite (installs Debian's chromium and poppler-utils for the browser/PDF tests when it can)
	bash scripts/system_deps.sh
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

clean:  ## remove generated data (var/) but keep the environment
	rm -rf var
