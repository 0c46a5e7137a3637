# The project's workflow. The README's two commands are `make setup run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
# torch: the x86_64 CUDA build that pip takes from this machine's wheel store also runs on the CPU.
# The smaller CPU-only torch 2.13.0 cannot be used: PyPI's torchvision (needed by fastai/fastbook) fails to import beside it.
TORCH ?= torch==2.14.1 torchvision==0.29.1
# TorchRec (the [scale] extra): its metadata asks for fbgemm-gpu, the CUDA build of its kernels, which a CPU machine must not get.
# The extra lists the CPU build (fbgemm-gpu-cpu) and TorchRec's pure-Python needs; `make scale` then installs TorchRec itself
# without dependencies. This is the one place that knows.
TORCHREC ?= torchrec==1.9.2

.PHONY: setup scale run test unit site check nbs-test outputs results export clean readme docs docs-test bench bench-scale bench-accuracy bench-gpu

setup: ## fresh venv at .venv, the package with [dev] and [scale], and the data
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e ".[dev]"
	@$(MAKE) --no-print-directory scale
	$(PY) -c "from collab_lib.movielens import get_ml100k; get_ml100k()"
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -q && apt-get install -y -q chromium; } \
	  || echo "note: install Debian's chromium for the browser test (make docs-test)"

scale: ## the [scale] extra, sharded training with TorchRec (make setup runs it): the extra, then TorchRec with --no-deps
	$(PY) -m pip install -q -e ".[scale]"
	$(PY) -m pip install -q --no-deps $(TORCHREC)

run: ## the main job: train the book's model (dot product + biases, wd=0.1); last line valid_mse=<x>
	$(BIN)/collab_book

export: ## notebooks -> collab_lib/ and README.md
	$(BIN)/nbdev_export
	$(PY) tools/make_readme.py

check: ## library and README in sync with the notebooks, notebooks clean
	$(BIN)/nbdev_export
	@git diff --quiet --exit-code -- collab_lib || { git --no-pager diff --stat -- collab_lib; echo "collab_lib/ is out of sync with nbs/: run nbdev_export and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- collab_lib)" || { git status --porcelain -- collab_lib; echo "nbdev_export created untracked files in collab_lib/"; exit 1; }
	$(BIN)/nbdev_clean
	@git diff --quiet --exit-code -- nbs || { git --no-pager diff --stat -- nbs; echo "notebooks are not clean: run nbdev_clean and commit"; exit 1; }
	$(PY) tools/make_readme.py
	@git diff --quiet --exit-code -- README.md || { echo "README.md is out of date with nbs/index.ipynb: run make export and commit"; exit 1; }

nbs-test: ## run every notebook top to bottom in a fresh kernel (nbdev's test_nb; 2 at a time, longest first, one torch thread each); `#| slow` cells are skipped
	OMP_NUM_THREADS=1 $(PY) tools/test_nbs.py --n_workers 2

outputs: ## re-run every notebook (or those named: make outputs NBS="13_recommend 20_cli") in place, each in a fresh kernel, skipping `#| slow` cells: fresh saved outputs
	OMP_NUM_THREADS=1 $(PY) tools/run_nbs.py $(NBS)
	$(BIN)/nbdev_clean

results: ## re-run, in place, every notebook with `#| slow` cells (the multi-seed tables): refreshes nbs/results/ and the saved outputs
	for nb in $$(grep -l '"#| slow' nbs/*.ipynb); do echo "$$nb"; OMP_NUM_THREADS=1 $(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=7200 "$$nb" || exit 1; done
	$(BIN)/nbdev_clean

unit: ## the library's contract tests on tiny synthetic data (tests/test_contract.py, one torch thread, about a minute): every model and backend, save/load, the console scripts' bad input; no built site needed
	OMP_NUM_THREADS=1 $(PY) -m pytest tests -m "not site" -q -p no:cacheprovider

test: ## everything on disk, edits included: the contract tests, then every notebook and, alongside, the docs site in a browser (CI runs `make check` first: library, README and notebooks in sync and clean)
	@# the contract tests first, with the site built beside them from the notebooks' saved outputs (pytest leaves a core
	@# idle while it collects and waits on its subprocesses); each one's output is printed whole when it ends, and a
	@# failing contract test stops the run before the notebooks. Then the notebooks (two workers) beside the site's
	@# browser suite, which fills the cores while the notebook workers wait on their last notebooks
	@$(MAKE) --no-print-directory -j2 --output-sync=target unit docs
	@$(MAKE) --no-print-directory -j2 nbs-test docs-test
	@echo "tests: the contract tests, $$(ls nbs/[!_]*.ipynb | wc -l) notebooks and the site's browser suite (its site: line above) passed, 0 failed"

site: docs ## the docs site built, then checked in the browser (make docs, then make docs-test)
	@$(MAKE) --no-print-directory docs-test

clean:
	rm -rf _proc _docs docs/_site build dist *.egg-info

docs: ## the course website, offline, from the notebooks' saved outputs -> docs/_site/ (nbdev processing + smalldocs; no Quarto)
	$(PY) tools/build_docs.py

docs-test: ## tests/site/: check docs/_site/ in Chromium (/usr/bin/chromium) with pytest-playwright and axe-core: layout at 1280 and 390 px, tables, figures, links, search, API docs, accessibility; screenshots in test_artifacts/
	$(PY) -m pytest tests/site -q

bench: ## speed benchmark: stock fastai vs the fast path vs plain PyTorch vs Surprise; last line speedup_vs_stock=<x> fast_valid_mse=<m> fast_secs=<s> fast_vs_torch=<r> (the fast path against the plain PyTorch loop, target <= 1.2)
	$(PY) -c "import surprise" 2>/dev/null || $(PY) -m pip install -q -e ".[bench]"
	$(PY) bench/bench_speed.py

bench-serve: ## serving benchmark: `collab_recommend model.pth --user 196` from a cold start against `python -c "import torch"`, alternating; last line serve_secs=<x> torch_import_secs=<y> ratio=<r> (target <= 1.5)
	$(PY) bench/bench_serve.py

bench-scale: ## scaling benchmark: synthetic MovieLens-25M-shaped CSVs (1M, 5M, 25M) to a model trained one epoch, each in a fresh process; then at 25M, side by side, the one-process path, the sharded path on 2 processes and Spark's ALS (local[2], tuned on a carve); each model also evaluated in a fresh process (evaluate_recommender on its held-out split, 512 users a block); last line n_ratings=<n> peak_rss_gb=<x> secs_per_epoch=<y> sharded_secs_per_epoch=<s> rank_table_share=<f> rmse=<r> spark_rmse=<q> secs_to_spark_rmse=<t> spark_secs=<u> ndcg10=<v> ndcg10_rating=<w> eval_peak_rss_gb=<z> eval_secs=<e> refit_secs=<f> refit_peak_rss_gb=<g> (the largest file trained again, as collab_train does by default, after validation)
	$(PY) -c "import pyspark" 2>/dev/null || $(PY) -m pip install -q -e ".[bench]"
	$(PY) -c "import torchrec" 2>/dev/null || $(MAKE) --no-print-directory scale
	$(PY) bench/bench_scale.py

bench-gpu: ## GPU benchmark, on a CUDA machine (about 5 minutes on one H200): stock fastai, the fast path, a plain PyTorch loop and fit_recommender on ML-100k; one epoch of 25M synthetic ratings against the plain-PyTorch floor, a batch-size curve, GradedALS at 25M and BayesianMF on u1; tables to nbs/results/{12,18}_gpu.csv; last line gpu=<name> stock_secs= fast_secs= torch_secs= fast_vs_torch= speedup_vs_stock= big_epoch_secs= big_torch_secs= big_torch_floor_secs= big_valid_mse= bmf_fold_secs= graded_25m_secs= (without CUDA: `no CUDA device: skipped`); without .venv it runs python3: the machine's own PyTorch, with the package installed beside it (README)
	$(if $(wildcard $(PY)),$(PY),python3) bench/bench_gpu.py

bench-accuracy: ## accuracy benchmark, one CPU thread (about 7 minutes): BayesianMF on u1-u5 against Surprise's SVD/SVDpp and the chapter's model; GradedALS against popularity, EASE and implicit's ALS/BPR, each tuned on validation data carved from training; tables to nbs/results/19*_*.csv; last line u15_rmse=<x> ndcg10=<y> pop_ndcg10=<z> ease_ndcg10=<e> implicit_ndcg10=<w> secs=<s>
	$(PY) -c "import surprise, implicit" 2>/dev/null || $(PY) -m pip install -q -e ".[bench]"
	OMP_NUM_THREADS=1 $(PY) bench/bench_accuracy.py
