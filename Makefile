# Everything runs inside .venv, which these targets create and fill on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PINS := binder/requirements.txt
SITE_PINS := book/requirements.txt

.PHONY: install lab test lint notebooks course-files site bench clean

install: $(STAMP)

$(STAMP): pyproject.toml $(PINS) $(SITE_PINS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(PINS) -c $(SITE_PINS) -e '.[lab,test,bench,postgres,site]'
	touch $(STAMP)

# JupyterLab refuses to start as root unless told; containers and CI machines often run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

## Open the course in JupyterLab on 127.0.0.1 (token authentication stays on). The server's
## root is the repository, so the notebooks' links to the package source and README open;
## the printed URL opens the first notebook.
START := notebooks/00-start-here.ipynb
lab: install
	$(BIN)/jupyter lab --ip=127.0.0.1 --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/$(START) $(ALLOW_ROOT)

## Run every test: lint, unit, property, stress, notebooks (nbval).
test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

## Re-execute every notebook in a fresh kernel and save its outputs.
notebooks: install
	$(BIN)/python tools/execute_notebooks.py

## Rewrite what is made from the notebooks and course.toml: each notebook's install cell,
## kernelspec and glossary links, and the README's syllabus and Binder link. Idempotent.
course-files: install
	$(BIN)/python tools/colab_cells.py
	$(BIN)/python tools/update_readme.py

## Build the course website in build/site/_build/html from the executed notebooks (warnings are
## errors). REPO=owner/name points its launch buttons at another repository than course.toml's.
site: install
	$(BIN)/python tools/build_site.py $(if $(REPO),--repo $(REPO),)

## Benchmarks against ThreadPoolExecutor, Huey, procrastinate and a locked dict (prints ratios).
bench: install
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
