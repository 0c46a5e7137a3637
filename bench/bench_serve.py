"""Serving benchmark (make bench-serve): how long `collab_recommend model.pth --user 196` takes from a cold start, side by
side with `python -c "import torch"` (the floor: any PyTorch program pays it), alternating the two commands so that both see
the same machine load. The model is the book's data trained by `collab_train` (one epoch, in a temporary folder).
Target (issue 21): the command within 1.5x of the floor. Last line: serve_secs=<x> torch_import_secs=<y> ratio=<r> (medians)."""
import argparse, statistics, subprocess, sys, tempfile, time
from pathlib import Path

p = argparse.ArgumentParser(description=__doc__)
p.add_argument('--repeats', type=int, default=7, help='runs of each command (alternating)')
args = p.parse_args()
BIN = Path(sys.executable).parent

def timed(cmd) -> float:
    t = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode: sys.exit(f'error: {cmd[0]} failed: {res.stderr.strip().splitlines()[-1:]}')
    return time.perf_counter() - t

with tempfile.TemporaryDirectory() as d:
    model, csv = Path(d)/'m.pth', Path(d)/'ratings.csv'
    subprocess.run([sys.executable, '-c', 'import sys; from collab_lib.movielens import load_ratings; '
                    'load_ratings(titles=False).to_csv(sys.argv[1], index=False)', csv], check=True, capture_output=True)
    subprocess.run([BIN/'collab_train', csv, '--item', 'movie', '--epochs', '1', '--out', model], check=True, capture_output=True)
    serve = [BIN/'collab_recommend', model, '--user', '196']
    floor = [sys.executable, '-c', 'import torch']
    timed(serve); timed(floor)   # warm the file cache for both
    runs = [(timed(serve), timed(floor)) for _ in range(args.repeats)]
s, f = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
for a, b in runs: print(f'collab_recommend {a:.2f} s   import torch {b:.2f} s')
print(f'serve_secs={s:.2f} torch_import_secs={f:.2f} ratio={s/f:.2f}')
