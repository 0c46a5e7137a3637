# The project's workflow. The README's two commands are `make setup run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
# torch: the x86_64 CUDA build that pip takes from this machine's wheel store also runs on the CPU.
# The smaller CPU-only torch 2.13.0 cannot be used: PyPI's torchvision (needed by fastai/fastbook) fails to import beside it.
TORCH ?= torch==2.14.1 torchvision==0.29.1

.PHONY: setup run test check nbs-test export clean readme

setup: ## fresh venv at .venv, the package with [dev], and the data
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -c "from collab_lib.data import get_ml100k; get_ml100k()"

run: ## the main job: train the book's model (dot product + biases, wd=0.1); last line valid_mse=<x>
	$(BIN)/collab_book

export: ## notebooks -> collab_lib/ and README.md
	$(BIN)/nbdev_export
	$(PY) tools/make_readme.py

check: ## library in sync with the notebooks, notebooks clean
	$(BIN)/nbdev_export
	@git diff --quiet --exit-code -- collab_lib || { git --no-pager diff --stat -- collab_lib; echo "collab_lib/ is out of sync with nbs/: run nbdev_export and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- collab_lib)" || { git status --porcelain -- collab_lib; echo "nbdev_export created untracked files in collab_lib/"; exit 1; }
	$(BIN)/nbdev_clean
	@git diff --quiet --exit-code -- nbs || { git --no-pager diff --stat -- nbs; echo "notebooks are not clean: run nbdev_clean and commit"; exit 1; }

nbs-test: ## run every notebook top to bottom in a fresh kernel
	$(BIN)/nbdev_test --n_workers 2 --timing --flags slow

test: check nbs-test ## everything
	@echo "$$(ls nbs/[!_]*.ipynb | wc -l) passed, 0 failed"

clean:
	rm -rf _proc _docs docs/_site build dist *.egg-info
