"""The speed benchmark's code, not part of the library: the book's model trained five ways on the same split, timed,
with its accuracy and peak memory. It imports collab_lib like any user would. nbs/12_benchmark.ipynb explains and runs it;
bench/bench_speed.py runs it for `make bench`."""
import time, threading
from functools import partial
import numpy as np, pandas as pd, torch
import torch.nn.functional as F
import torch._dynamo  # `torch.optim` imports it when the first optimiser is built (a one-off cost per process): imported here, not timed
from fastcore.basics import ifnone
from fastai.torch_core import set_seed
from fastai.collab import CollabDataLoaders, collab_learner, EmbeddingDotBias
from collab_lib.movielens import load_ratings
from collab_lib.ratings import random_split
from collab_lib.loaders import fast_dls
from collab_lib.learner import fit_fast, scale_hparams

__all__ = ['PeakRSS', 'bench_stock', 'bench_fast', 'plain_trainer', 'bench_torch', 'bench_surprise', 'BENCH_METHODS',
           'run_bench', 'bench_table']


class PeakRSS:
    "Context manager sampling this process's resident memory every `every` seconds; `.peak_mb` is the peak above the start"
    def __init__(self, every=0.005 # seconds between two samples
                ): self.every = every
    @staticmethod
    def rss_mb():
        with open('/proc/self/status') as f:
            return next(int(l.split()[1]) for l in f if l.startswith('VmRSS')) / 1024
    def _watch(self):
        while not self._stop.is_set(): self.peak = max(self.peak, self.rss_mb()); time.sleep(self.every)
    def __enter__(self):
        self.start = self.peak = self.rss_mb(); self._stop = threading.Event()
        self._t = threading.Thread(target=self._watch, daemon=True); self._t.start(); return self
    def __exit__(self, *a):
        self._stop.set(); self._t.join(); self.peak = max(self.peak, self.rss_mb())
        self.peak_mb = self.peak - self.start


def bench_stock(ratings, seed, bs=64, device=None):
    "Stock fastai, as the book: `CollabDataLoaders.from_df` and `collab_learner` (on `device`; `None`: fastai's default)"
    set_seed(seed)
    dls = CollabDataLoaders.from_df(ratings, item_name='title', bs=bs, seed=seed, device=device)
    learn = collab_learner(dls, n_factors=50, y_range=(0, 5.5))
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(5, 5e-3, wd=0.1)
    return learn.recorder.values[-1][1]  # the last epoch's valid loss: the validation MSE


def bench_fast(ratings, seed, bs=2048, device=None):
    "`collab_learner`'s model on `CollabTensorDataLoaders`, trained by `fit_fast` (`FastLearner`, `ForeachAdam`), `lr` and `wd` rescaled to `bs`; on `device` (`None`: fastai's default)"
    dls = fast_dls(ratings, bs=bs, seed=seed, device=device)
    set_seed(seed)  # the model's initialisation
    learn = fit_fast(dls, EmbeddingDotBias.from_classes(50, dls.classes, y_range=(0, 5.5)), wd=0.1, seed=seed, quiet=True)
    return learn.recorder.values[-1][1]


def plain_trainer(model, lr, wd, total_steps):
    """`step(xb, yb)`: one step of a hand-written PyTorch loop on `model` (MSE), with `fit_one_cycle`'s optimiser and schedule
    (`AdamW`, `OneCycleLR`) at peak `lr` and weight decay `wd` over `total_steps` steps. The benchmarks' only training loop
    without a `Learner` (`bench_torch`, and bench_gpu.py's loop over the 25M split): it measures what fastai's `Learner` costs."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd, betas=(0.9, 0.99), eps=1e-5)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(8, total_steps), pct_start=0.25)   # >= 8: OneCycleLR divides by zero at 4 steps
    def step(xb, yb):
        F.mse_loss(model(xb).view(-1), yb.view(-1)).backward(); opt.step(); opt.zero_grad(); sched.step()
    return step


def bench_torch(ratings, seed, bs=2048, device=None):
    """A plain PyTorch loop (`plain_trainer`) on the same model, tensors, split and rescaled hyper-parameters, no `Learner`,
    the split resident on the device as the loaders keep it. A deliberate baseline: the library itself trains through `fit_fast` only."""
    dls = fast_dls(ratings, bs=bs, seed=seed, device=device)
    set_seed(seed)
    model = EmbeddingDotBias.from_classes(50, dls.classes, y_range=(0, 5.5)).to(dls.device)
    step = plain_trainer(model, *scale_hparams(bs, 5e-3, 0.1), 5*len(dls.train))
    for _ in range(5):
        for xb, yb in dls.train: step(xb, yb)
    with torch.no_grad():
        xv, yv = dls.valid.dataset.x.to(dls.device), dls.valid.dataset.y.view(-1).to(dls.device)
        return F.mse_loss(model(xv), yv).item()


def bench_surprise(ratings, seed):
    "Surprise's SVD (biased matrix factorisation by SGD) on the same split; `None` if scikit-surprise is not installed"
    try: from surprise import SVD, Dataset, Reader
    except ImportError: return None
    tr, va = [s.numpy() for s in random_split(len(ratings), 0.2, seed)]
    df = ratings[['user', 'title', 'rating']]
    trainset = Dataset.load_from_df(df.iloc[tr], Reader(rating_scale=(1, 5))).build_full_trainset()
    algo = SVD(n_factors=50, n_epochs=40, lr_all=0.007, reg_all=0.07, random_state=seed).fit(trainset)
    preds = np.array([algo.predict(u, i).est for u, i in df.iloc[va][['user', 'title']].itertuples(index=False)])
    return float(((preds - df.rating.values[va])**2).mean())


BENCH_METHODS = {'stock fastai (bs=64)': bench_stock,
                 'fast path (bs=64)': partial(bench_fast, bs=64),
                 'fast path (bs=2048)': bench_fast,
                 'plain PyTorch (bs=2048)': bench_torch,
                 'Surprise SVD': bench_surprise}


def run_bench(ratings=None, # the ratings; `None`: ML-100k (`load_ratings`)
              seeds=(42, 0, 1), # one run of every method per seed
              methods=None, # `{name: f(ratings, seed) -> valid MSE}`; `None`: `BENCH_METHODS`
              verbose=True # print a line per run
             ) -> pd.DataFrame: # one row per run: `method`, `seed`, `secs`, `valid_mse`, `peak_mb`
    "Time, valid MSE and peak memory of each method for each seed, in this process"
    ratings = ifnone(ratings, load_ratings())
    methods, rows = ifnone(methods, BENCH_METHODS), []
    for seed in seeds:
        for name, f in methods.items():
            with PeakRSS() as mem:
                t = time.perf_counter(); mse = f(ratings, seed); secs = time.perf_counter() - t
            if mse is None: continue
            rows.append(dict(method=name, seed=seed, secs=secs, valid_mse=mse, peak_mb=mem.peak_mb))
            if verbose: print(f'{name:<26} seed={seed:<3} {secs:7.2f} s  valid_mse={mse:.4f}  peak={mem.peak_mb:6.1f} MB', flush=True)
    return pd.DataFrame(rows)


def bench_table(runs, # `run_bench`'s rows
                baseline='stock fastai (bs=64)' # the method the times are compared to
               ) -> pd.DataFrame: # one row per method, in the order they ran
    "Median time, mean valid MSE (and its range), median peak memory per method; time as a ratio to `baseline`"
    t = runs.groupby('method', sort=False).agg(secs=('secs', 'median'), valid_mse=('valid_mse', 'mean'),
            mse_min=('valid_mse', 'min'), mse_max=('valid_mse', 'max'), peak_mb=('peak_mb', 'median'), runs=('seed', 'count'))
    t['time_vs_stock'] = t.secs / t.secs[baseline]
    t['speedup'] = t.secs[baseline] / t.secs
    return t.round(dict(secs=2, valid_mse=4, mse_min=4, mse_max=4, peak_mb=1, time_vs_stock=3, speedup=1))
