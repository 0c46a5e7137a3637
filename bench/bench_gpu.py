"""GPU benchmark (make bench-gpu): on one CUDA device, in this one process, side by side:
- ML-100k, the book's model: stock fastai at the book's setting (bs=64, 5 epochs), the fast path (`fit_fast`, bs=2048,
  5 epochs, 3 seeds), a plain PyTorch loop over the same resident split, and `fit_recommender(ratings)`;
- 25M synthetic ratings shaped like MovieLens 25M (`synth_ratings`): one epoch of the library's large-data path
  (`fit_recommender`, its defaults), the same epoch on the CPU, and a plain PyTorch loop over the same split at the same
  batch size and at 1,048,576 (the hardware's floor); a batch-size curve (seconds per epoch and valid MSE after
  `--curve_epochs` epochs); `GradedALS` on the training split;
- `BayesianMF` on fold u1 of ML-100k, on the GPU and on the CPU (same seed, same RMSE).
Every timed run is preceded by an untimed one of the same kind (CUDA's start-up is not timed). Tables:
nbs/results/12_gpu.csv and nbs/results/18_gpu.csv, with the GPU's name and the date (read by 12_benchmark and 18_scaling).
Last line: gpu=<name> stock_secs= fast_secs= torch_secs= fast_vs_torch= speedup_vs_stock= big_epoch_secs=
big_torch_secs= (plain PyTorch at the library's batch size) big_torch_floor_secs= (at 1,048,576) big_valid_mse= bmf_fold_secs= graded_25m_secs=
On a machine without CUDA it prints `no CUDA device: skipped` and exits 0 (`--device cpu` runs it all on the CPU, to try it)."""
import argparse, datetime, statistics, sys, time, warnings
warnings.filterwarnings('ignore', category=UserWarning)   # DataWarnings and library notes: the tables speak
from pathlib import Path
warnings.filterwarnings('ignore', message='.*(jit.script|not writable).*')
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import numpy as np, pandas as pd, torch
import torch.nn.functional as F

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('--device', default='cuda', help="cuda (the benchmark) or cpu (a dry run of this script)")
p.add_argument('--seeds', type=int, nargs='+', default=[42, 0, 1])
p.add_argument('--big_n', type=int, default=25_000_095, help='synthetic ratings of the large-data part')
p.add_argument('--curve_bs', type=int, nargs='+', default=[65_536, 262_144, 1_048_576], help='batch sizes of the curve')
p.add_argument('--curve_epochs', type=int, default=3)
p.add_argument('--results', default='nbs/results', help='where the two CSV tables go')
args = p.parse_args()
if args.device.startswith('cuda') and not torch.cuda.is_available():
    print('no CUDA device: skipped'); sys.exit(0)

from collab_lib.core import torch_device, atomic_path
from collab_lib.movielens import load_ratings, ml100k_folds
from collab_lib.loaders import CollabTensorDataLoaders
from collab_lib.learner import scale_hparams
from collab_lib.models import DotBias
from collab_lib.train import fit_recommender, fit_bs, LARGE_N
from collab_lib.ratings import check_trainable
from collab_lib.ranking import GradedALS, is_liked
from collab_lib.bayes import BayesianMF
from collab_lib.synth import synth_ratings
from bench.speed import bench_stock, bench_fast, bench_torch, plain_trainer

dev = torch_device(args.device)
gpu = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f'CPU, {torch.get_num_threads()} threads'
today = datetime.date.today().isoformat()
print(f'device: {dev} ({gpu}), torch {torch.__version__}', flush=True)

def sync():
    if dev.type == 'cuda': torch.cuda.synchronize(dev)

def timed(f, *a, **k):
    "`(result, seconds)` of `f(*a, **k)`, the device's queue drained before and after"
    sync(); t = time.perf_counter(); r = f(*a, **k); sync(); return r, time.perf_counter() - t

rows = []
def row(table, run, secs, valid_mse=None, **kw):
    rows.append(dict(table=table, run=run, secs=secs, valid_mse=valid_mse, **kw))
    print(f"{run:<62} {secs:8.3f} s" + ('' if valid_mse is None else f'  valid_mse={valid_mse:.4f}'), flush=True)

# ---------------------------------------------------------------- ML-100k, the book's model
ratings = load_ratings()
bench_fast(ratings, 0, device=dev); bench_torch(ratings, 0, device=dev)   # warm-up: CUDA's context, kernels, cuBLAS
mse, secs = timed(bench_stock, ratings, args.seeds[0], device=dev)
row('ml100k', 'stock fastai, bs=64, 5 epochs', secs, mse, seed=args.seeds[0])
for name, f in (('fast path (fit_fast), bs=2048, 5 epochs', bench_fast), ('plain PyTorch, bs=2048, 5 epochs', bench_torch)):
    for seed in args.seeds:
        mse, secs = timed(f, ratings, seed, device=dev); row('ml100k', name, secs, mse, seed=seed)
fit_recommender(ratings, item='movie', seed=0, device=dev, ranking=False)
(rec, info), secs = timed(fit_recommender, ratings, item='movie', seed=42, device=dev)
row('ml100k', 'fit_recommender(ratings), what collab_train runs', secs, info['valid_mse'], seed=42)

# ---------------------------------------------------------------- BayesianMF, fold u1
users, items, ys = ratings.user.to_numpy() - 1, ratings.movie.to_numpy() - 1, ratings.rating.to_numpy().astype(np.float64)
(base, test), NU, NI = ml100k_folds(ratings)[0], int(users.max()) + 1, int(items.max()) + 1
def bmf(device):
    m = BayesianMF(seed=0).fit(users[base], items[base], ys[base], NU, NI, quiet=True, device=device)
    return float(np.sqrt(np.mean((m.predict(users[test], items[test]) - ys[test])**2)))
bmf(dev)
rmse, bmf_secs = timed(bmf, dev); row('ml100k', f'BayesianMF, fold u1, on {dev.type}', bmf_secs, rmse=rmse)
rmse_cpu, secs = timed(bmf, 'cpu'); row('ml100k', 'BayesianMF, fold u1, on the CPU (same seed)', secs, rmse=rmse_cpu)

# ---------------------------------------------------------------- 25M synthetic ratings
(big, secs) = timed(synth_ratings, args.big_n); print(f'synthesised {len(big):,} ratings in {secs:.1f} s', flush=True)
big = big[['userId', 'movieId', 'rating']]
one = dict(user='userId', item='movieId', epochs=1, ranking=False, seed=42, title_name=None)
(_, info), secs = timed(fit_recommender, big, device=dev, **one)
e = info['epochs'][0]; big_epoch, big_mse = e['secs'], e['valid_mse']
row('25m', f"library large-data path, one epoch (bs={info['bs']:,})", big_epoch, big_mse, bs=info['bs'], run_secs=secs)
if dev.type != 'cpu':
    (_, info_cpu), secs = timed(fit_recommender, big, device='cpu', **one)
    e = info_cpu['epochs'][0]; row('25m', f'the same on the CPU ({torch.get_num_threads()} threads)', e['secs'], e['valid_mse'], bs=info_cpu['bs'])
big_bs, big_lr, big_wd = info['bs'], info['lr'], info['wd']
dls = CollabTensorDataLoaders.from_df(big, 0.2, 'userId', 'movieId', 'rating', seed=42, bs=big_bs, idx_dtype=torch.int32, device=dev)
y_range = check_trainable(big, 'rating', 0.2)   # what fit_recommender uses
def torch_epoch(bs, lr, wd, epochs=1):
    "A plain PyTorch loop over the resident split, the library's hyper-parameters at `bs`: `(seconds per epoch, valid MSE after the last)`"
    x, y = dls.train._resident()
    bs = fit_bs(bs, len(x))
    if len(big) < LARGE_N: lr, wd = scale_hparams(bs, lr, wd)   # a small dry run: the small-data settings are given at bs=64
    xv, yv = [o.to(dev) for o in (dls.valid.dataset.x, dls.valid.dataset.y.view(-1))]
    torch.manual_seed(0)
    model = DotBias(len(dls.classes['userId']), len(dls.classes['movieId']), 50, y_range=y_range).to(dev)
    n = max(1, len(x) // bs)
    step = plain_trainer(model, lr, wd, epochs * n)
    secs = []
    for _ in range(epochs):
        sync(); t = time.perf_counter()
        order = torch.randperm(len(x), device=dev); xs, ys_ = x[order], y[order].view(-1)
        for i in range(n):
            step(xs[i*bs:(i+1)*bs].long(), ys_[i*bs:(i+1)*bs])
        sync(); secs.append(time.perf_counter() - t)
    with torch.no_grad(): mse = float(sum(F.mse_loss(model(xv[i:i+1_000_000].long()).view(-1), yv[i:i+1_000_000], reduction='sum') for i in range(0, len(xv), 1_000_000)) / len(xv))
    return statistics.median(secs), mse
torch_epoch(big_bs, big_lr, big_wd)
floor_secs, mse = torch_epoch(big_bs, big_lr, big_wd); row('25m', f'plain PyTorch, one epoch, bs={big_bs:,}', floor_secs, mse, bs=big_bs)
big_floor_secs, mse = torch_epoch(1_048_576, big_lr, big_wd); row('25m', 'plain PyTorch, one epoch, bs=1,048,576 (the floor)', big_floor_secs, mse, bs=1_048_576)
for bs in args.curve_bs:   # the curve: the library's path at each batch size, lr scaled as the square root of the batch
    lr = big_lr * (bs / big_bs) ** 0.5
    (_, ci), secs = timed(fit_recommender, big, device=dev, **{**one, 'epochs': args.curve_epochs, 'bs': bs, 'lr': lr})
    row('25m_curve', f'library, bs={bs:,}, lr={lr:.3g}, {args.curve_epochs} epochs', statistics.median(e['secs'] for e in ci['epochs']),
        ci['valid_mse'], bs=bs, lr=lr, epochs=args.curve_epochs, run_secs=secs)
x, yv = dls.train.dataset.x, dls.train.dataset.y.view(-1).numpy()
def graded():
    return GradedALS(n_factors=16, iters=5, seed=0).fit(x[:, 0], x[:, 1], is_liked(yv, (0.5, 5.)), len(dls.classes['userId']), len(dls.classes['movieId']), device=dev)
_, graded_secs = timed(graded); row('25m', f'GradedALS on {len(x):,} training ratings (16 factors, 5 alternations)', graded_secs)

# ---------------------------------------------------------------- tables and the last line
t = pd.DataFrame(rows).assign(device=gpu, torch=torch.__version__, date=today)
out = Path(args.results); out.mkdir(parents=True, exist_ok=True)
for name, sel in (('12_gpu.csv', t.table == 'ml100k'), ('18_gpu.csv', t.table != 'ml100k')):
    with atomic_path(out/name) as tmp: t[sel].to_csv(tmp, index=False)
med = lambda run: t[t.run == run].secs.median()
stock, fast, plain = med('stock fastai, bs=64, 5 epochs'), med('fast path (fit_fast), bs=2048, 5 epochs'), med('plain PyTorch, bs=2048, 5 epochs')
fast_mse = t[t.run == 'fast path (fit_fast), bs=2048, 5 epochs'].valid_mse.mean()
print(f'fast path mean valid MSE over seeds {args.seeds}: {fast_mse:.4f}; BayesianMF u1 RMSE {rmse:.4f} ({dev.type}) vs {rmse_cpu:.4f} (cpu)')
print(f"gpu={gpu.replace(' ', '_')} stock_secs={stock:.2f} fast_secs={fast:.3f} torch_secs={plain:.3f} fast_vs_torch={fast / plain:.2f} "
      f"speedup_vs_stock={stock / fast:.1f} big_epoch_secs={big_epoch:.3f} big_torch_secs={floor_secs:.3f} big_torch_floor_secs={big_floor_secs:.3f} big_valid_mse={big_mse:.4f} "
      f"bmf_fold_secs={bmf_secs:.2f} graded_25m_secs={graded_secs:.2f}")
