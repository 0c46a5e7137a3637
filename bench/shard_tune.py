"""Choosing the sharded path's learning rate and weight decay (`collab_lib.sharded.SHARD_LR`, `SHARD_WD`), not part of the library.

Protocol: the synthetic 5M-rating file (MovieLens-25M-shaped, written by `make bench-scale` under data/synth/), split like
every run of the project (`random_split`, 20% held out, seed 42); only the training 80% is used here. It is split again,
80/20 with seed 0, by the sharded backend itself, and each setting of the grid trains on the first part and is scored on the second
after every epoch. One process: the sharded backend in one process equals two to within float rounding (nbs/18a_sharded.ipynb).
Writes nbs/results/18a_sharded_tune.csv (n_factors, lr, wd, epoch, valid_mse, secs), atomically."""
import argparse, itertools, sys, time, warnings
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import pandas as pd, torch
from collab_lib.core import atomic_path
from collab_lib.ratings import read_ratings
from collab_lib.ratings import random_split
from collab_lib.train import fit_recommender

p = argparse.ArgumentParser(description=__doc__)
p.add_argument('--csv', default='data/synth/ratings_5000000.csv')
p.add_argument('--lr', type=float, nargs='+', default=[0.05, 0.1, 0.2])
p.add_argument('--wd', type=float, nargs='+', default=[0.02, 0.05, 0.1])
p.add_argument('--epochs', type=int, default=8)
p.add_argument('--n_factors', type=int, nargs='+', default=[16, 32, 50])
p.add_argument('--out', default='nbs/results/18a_sharded_tune.csv')
args = p.parse_args()

warnings.filterwarnings('ignore')
torch.set_num_threads(1)
df = read_ratings(args.csv)
tr, _ = random_split(len(df), 0.2, 42)             # the held-out 20% is never read
fit = df.iloc[tr.numpy()].reset_index(drop=True); del df
rows = []
for nf, lr, wd in itertools.product(args.n_factors, args.lr, args.wd):
    t = time.perf_counter()
    _, info = fit_recommender(fit, n_factors=nf, epochs=args.epochs, lr=lr, wd=wd, seed=0, ranking=False, backend='sharded')
    rows += [dict(n_factors=nf, lr=lr, wd=wd, epoch=e['epoch'] + 1, valid_mse=e['valid_mse'], secs=e['secs']) for e in info['epochs']]
    print(f"n_factors={nf} lr={lr:g} wd={wd:g}: " + ' '.join(f"{e['valid_mse']:.4f}" for e in info['epochs']) + f" ({time.perf_counter() - t:.0f} s)", flush=True)
with atomic_path(args.out) as tmp: pd.DataFrame(rows).to_csv(tmp, index=False)
best = min(rows, key=lambda r: r['valid_mse'])
print(f"best: n_factors={best['n_factors']} lr={best['lr']:g} wd={best['wd']:g} epoch={best['epoch']} valid_mse={best['valid_mse']:.4f}")
