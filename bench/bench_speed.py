"""Speed benchmark (make bench): the book's model trained by stock fastai, collab_lib's fast path, a plain PyTorch
loop and Surprise SVD, on the same splits, in this one process. The methods live in bench/speed.py
(explained in nbs/12_benchmark.ipynb). Last line: speedup_vs_stock=<x> fast_valid_mse=<y> fast_secs=<z> (medians over seeds)."""
import argparse, sys, warnings
from pathlib import Path
warnings.filterwarnings('ignore', message='.*(jit.script|not writable).*')
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root, so that `bench.speed` imports from anywhere
import pandas as pd
from bench.speed import run_bench, bench_table

p = argparse.ArgumentParser(description=__doc__)
p.add_argument('--seeds', type=int, nargs='+', default=[42, 0, 1])
p.add_argument('--threads', type=int, default=1, help='torch threads (1: these models are tiny; more threads only spin, and collapse under load)')
args = p.parse_args()
import torch; torch.set_num_threads(args.threads)
print(f'torch threads: {torch.get_num_threads()}', flush=True)

runs = run_bench(seeds=tuple(args.seeds))
table = bench_table(runs)
fast = runs[runs.method == 'fast path (bs=2048)']
with pd.option_context('display.width', 200, 'display.max_columns', 20): print(table.to_string())
print(f"fast path mean valid MSE over seeds {args.seeds}: {fast.valid_mse.mean():.4f}")
print(f"speedup_vs_stock={table.loc['fast path (bs=2048)', 'speedup']:.1f} "
      f"fast_valid_mse={fast.valid_mse.median():.4f} fast_secs={fast.secs.median():.2f} "
      f"fast_vs_torch={table.loc['fast path (bs=2048)', 'secs'] / table.loc['plain PyTorch (bs=2048)', 'secs']:.2f}")
