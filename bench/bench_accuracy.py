"""Accuracy benchmark (make bench-accuracy), on one CPU thread.

Rating: MovieLens 100k's five folds u1-u5 (`ml100k_folds`). BayesianMF's settings (n_factors, implicit side information)
are chosen on a validation part carved out of each u{k}.base (a random 10%, fastai's RandomSplitter with seed k-1 for u{k}), by the
mean validation RMSE over the five folds; then the chosen setting is fitted on each whole u{k}.base and scored once on
u{k}.test, next to Surprise's SVD and SVDpp (defaults), the chapter's DotProductBias (50 factors, wd=0.1, fit_fast) and
plain BPMF (the chosen size, no side information).

Ranking: the course's split (fast_dls, seed 42; relevant: rated 4+ in the validation split; training items excluded).
Every method is tuned on a carve of the training split (a random 20%, seed 0) by NDCG@10, refitted on the whole training
split with its chosen setting and scored once on the validation split; then the same settings on u1-u5.

Tables: nbs/results/19a_bayesian_{grid,folds}.csv and nbs/results/19_ranking_{choice,valid,folds}.csv (read by the
notebooks 19a_bayesian and 19_ranking). Last line:
u15_rmse=<x> ndcg10=<y> pop_ndcg10=<z> ease_ndcg10=<e> implicit_ndcg10=<w> secs=<s>
where implicit_ndcg10 is the better of implicit's ALS and BPR, and secs the longest training of our two models (one
fold of BayesianMF, or GradedALS on the course split)."""
import os
os.environ.setdefault('OMP_NUM_THREADS', '1')
import argparse, itertools, sys, time, warnings
from pathlib import Path
import numpy as np, pandas as pd, scipy.sparse as sps, torch
warnings.filterwarnings('ignore')
torch.set_num_threads(1)
from fastai.data.transforms import RandomSplitter
from fastai.torch_core import set_seed
from collab_lib.core import atomic_path
from collab_lib.movielens import load_ratings, ml100k_folds
from collab_lib.loaders import fast_dls, CollabTensorDataLoaders
from collab_lib.learner import fit_fast
from collab_lib.book import DotProductBias
from collab_lib.evaluate import ranking_metrics, interactions, rating_errors, predict_all
from collab_lib.ranking import GradedALS
from collab_lib.bayes import BayesianMF

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('--out', default=str(Path(__file__).resolve().parent.parent/'nbs'/'results'), help='folder of the CSV tables')
args = p.parse_args()
OUT = Path(args.out); OUT.mkdir(parents=True, exist_ok=True)
try:
    import implicit, surprise
except ImportError: sys.exit('error: bench-accuracy needs the bench extra: pip install -e ".[bench]"')
from implicit.cpu.als import AlternatingLeastSquares
from implicit.cpu.bpr import BayesianPersonalizedRanking
from surprise import SVD, SVDpp, Dataset, Reader

def save(df, name):
    with atomic_path(OUT/name) as tmp: df.to_csv(tmp, index=False)
    print(f'\n{name}:\n{df.round(4).to_string(index=False)}', flush=True)

def timed(f, *a, **k):
    t = time.perf_counter(); r = f(*a, **k); return r, time.perf_counter() - t

T0 = time.perf_counter()
ratings = load_ratings()
users, items, ys = ratings.user.to_numpy() - 1, ratings.movie.to_numpy() - 1, ratings.rating.to_numpy().astype(np.float64)
NU, NI = int(users.max()) + 1, int(items.max()) + 1
folds = ml100k_folds(ratings)

# ---------------------------------------------------------------- rating models
def bmf(rows, test_rows, **kw):
    m = BayesianMF(seed=0, **kw).fit(users[rows], items[rows], ys[rows], NU, NI, quiet=True)
    return m.predict(users[test_rows], items[test_rows])

def rmse(p, rows): return float(np.sqrt(np.mean((np.asarray(p, dtype=np.float64) - ys[rows]) ** 2)))

grid = []
for k, (base, test) in enumerate(folds, 1):
    fit_rows, valid_rows = RandomSplitter(valid_pct=0.1, seed=k - 1)(base)
    fit_rows, valid_rows = base[np.asarray(fit_rows)], base[np.asarray(valid_rows)]
    for n_factors, implicit_ in itertools.product((10, 20), (False, True)):
        pred, secs = timed(bmf, fit_rows, valid_rows, n_factors=n_factors, implicit=implicit_)
        grid.append(dict(fold=k, n_factors=n_factors, implicit=implicit_, valid_rmse=rmse(pred, valid_rows), secs=secs))
        print(grid[-1], flush=True)
grid = pd.DataFrame(grid); save(grid, '19a_bayesian_grid.csv')
n_best, imp_best = grid.groupby(['n_factors', 'implicit']).valid_rmse.mean().idxmin()

def surprise_fit(algo, base, test):
    tr = Dataset.load_from_df(ratings.iloc[base][['user', 'movie', 'rating']], Reader(rating_scale=(1, 5))).build_full_trainset()
    algo.fit(tr)
    return [algo.predict(u, i).est for u, i in zip(ratings.user.iloc[test], ratings.movie.iloc[test])]

def book_fit(base, test):
    dls = CollabTensorDataLoaders.from_df(ratings, item_name='movie', bs=2048, splits=(list(base), list(test)))
    learn = fit_fast(dls, DotProductBias(len(dls.classes['user']), len(dls.classes['movie']), 50), wd=0.1, seed=42, quiet=True)
    with torch.no_grad(): return learn.model.eval()(dls.valid.dataset.x).view(-1).numpy()

models = {f'BayesianMF + implicit (ours)': lambda b, t: bmf(b, t, n_factors=n_best, implicit=True),
          f'BPMF (no side information)': lambda b, t: bmf(b, t, n_factors=n_best, implicit=False),
          'DotProductBias, wd=0.1 (the chapter)': book_fit,
          'Surprise SVD': lambda b, t: surprise_fit(SVD(random_state=0), b, t),
          'Surprise SVDpp': lambda b, t: surprise_fit(SVDpp(random_state=0), b, t)}
assert imp_best, 'the side information was not chosen: the table below would not be the model of the notebook'
rows = []
for k, (base, test) in enumerate(folds, 1):
    for name, f in models.items():
        pred, secs = timed(f, base, test)
        rows.append(dict(model=name, fold=k, rmse=rmse(pred, test), secs=secs)); print(rows[-1], flush=True)
rating_tab = pd.DataFrame(rows); save(rating_tab, '19a_bayesian_folds.csv')

# ---------------------------------------------------------------- ranking models
def X(x, y, nu, ni, liked_only):
    keep = (y >= 4) if liked_only else np.ones(len(y), bool)
    return sps.csr_matrix((np.ones(keep.sum(), np.float32), (x[keep, 0], x[keep, 1])), shape=(nu, ni))

def pop(x, y, nu, ni): return torch.bincount(torch.as_tensor(x[:, 1]), minlength=ni).float()[None].expand(nu, ni)

def ease(x, y, nu, ni, lam, liked_only):
    Xd = torch.as_tensor(X(x, y, nu, ni, liked_only).toarray(), dtype=torch.float64)
    P = torch.linalg.inv(Xd.T @ Xd + lam * torch.eye(ni, dtype=torch.float64))
    B = -P / torch.diag(P)[None]; B.fill_diagonal_(0)
    return (Xd @ B).float()

def ials(x, y, nu, ni, factors, reg, alpha, liked_only):
    m = AlternatingLeastSquares(factors=factors, regularization=reg, alpha=alpha, iterations=15, num_threads=1, random_state=0)
    m.fit(X(x, y, nu, ni, liked_only), show_progress=False)
    return torch.as_tensor(m.user_factors @ m.item_factors.T)

def bpr(x, y, nu, ni, factors, lr, reg, iters, liked_only):
    m = BayesianPersonalizedRanking(factors=factors, learning_rate=lr, regularization=reg, iterations=iters, num_threads=1, random_state=0)
    m.fit(X(x, y, nu, ni, liked_only), show_progress=False)
    return torch.as_tensor(m.user_factors @ m.item_factors.T)

def graded(x, y, nu, ni, n_factors, reg, alpha, q):
    return GradedALS(n_factors, reg, alpha, q, seed=0).fit(x[:, 0], x[:, 1], y >= 4, nu, ni).scores(range(nu))

def g(**kw): return [dict(zip(kw, v)) for v in itertools.product(*kw.values())]
METHODS = {  # name: (score function, grid)
    'popularity': (pop, [{}]),
    'EASE': (ease, g(lam=[100, 200, 500, 1000, 2000], liked_only=[False, True])),
    'implicit ALS': (ials, g(factors=[16, 32, 64], reg=[1., 10., 30., 100.], alpha=[2., 5., 10.], liked_only=[False, True])),
    'implicit BPR': (bpr, g(factors=[16, 32, 64], lr=[0.01, 0.03], reg=[0.01, 0.03], iters=[20, 50, 100], liked_only=[False, True])),
    'GradedALS (ours)': (graded, g(n_factors=[32], reg=[10., 30., 100.], alpha=[1., 3., 10.], q=[0., 0.3, 0.6, 0.9])),
}

def evaluate(f, kw, x, y, xt, yt, nu, ni):
    "Ranking metrics of `f` fitted on (x, y), tested on (xt, yt), and the fit seconds"
    ex = interactions(x, nu, ni); ex[:, 0] = True   # row and column 0 are '#na#' on the course split, unused on the folds
    rel = interactions(xt, nu, ni, keep=torch.as_tensor(yt >= 4) & torch.as_tensor(xt[:, 1] > 0)) & ~ex
    s, secs = timed(f, x, y, nu, ni, **kw)
    return {**ranking_metrics(s, ex, rel), 'secs': secs}

dls = fast_dls(ratings, bs=2048, seed=42)
nu, ni = len(dls.classes['user']), len(dls.classes['title'])
xt, yt = dls.train.dataset.x.numpy(), dls.train.dataset.y.view(-1).numpy()
xv, yv = dls.valid.dataset.x.numpy(), dls.valid.dataset.y.view(-1).numpy()
fit_i, held_i = [np.asarray(o) for o in RandomSplitter(valid_pct=0.2, seed=0)(range(len(xt)))]
choice, valid, frows = [], [], []
for name, (f, grid_) in METHODS.items():
    scored = []
    for kw in grid_:
        scored.append((evaluate(f, kw, xt[fit_i], yt[fit_i], xt[held_i], yt[held_i], nu, ni)['ndcg@10'], kw))
    best_ndcg, best_kw = max(scored, key=lambda o: o[0])
    choice.append(dict(model=name, settings=', '.join(f'{k}={v}' for k, v in best_kw.items()) or '-', grid_size=len(grid_), carve_ndcg10=best_ndcg))
    valid.append(dict(model=name, **evaluate(f, best_kw, xt, yt, xv, yv, nu, ni)))
    print(choice[-1], valid[-1], flush=True)
    for k, (base, test) in enumerate(folds, 1):
        x_b, x_t = np.stack([users[base], items[base]], 1), np.stack([users[test], items[test]], 1)
        frows.append(dict(model=name, fold=k, **evaluate(f, best_kw, x_b, ys[base], x_t, ys[test], NU, NI)))
save(pd.DataFrame(choice), '19_ranking_choice.csv')
valid = pd.DataFrame(valid); save(valid, '19_ranking_valid.csv')
save(pd.DataFrame(frows), '19_ranking_folds.csv')

v = valid.set_index('model')
ours_rating = rating_tab[rating_tab.model.str.endswith('(ours)')]
secs = max(ours_rating.secs.max(), v.loc['GradedALS (ours)', 'secs'])
print(f'\nbench-accuracy: {time.perf_counter() - T0:.0f} s in all')
print(f"u15_rmse={ours_rating.rmse.mean():.4f} ndcg10={v.loc['GradedALS (ours)', 'ndcg@10']:.4f} pop_ndcg10={v.loc['popularity', 'ndcg@10']:.4f} "
      f"ease_ndcg10={v.loc['EASE', 'ndcg@10']:.4f} implicit_ndcg10={max(v.loc['implicit ALS', 'ndcg@10'], v.loc['implicit BPR', 'ndcg@10']):.4f} secs={secs:.1f}")
