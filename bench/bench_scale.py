"""Scaling benchmark (make bench-scale): synthetic ratings with MovieLens 25M's shape (collab_lib.scale.synth_ratings)
at 1M, 5M and 25,000,095 ratings, each trained for one epoch by the console script `collab_train`, exactly as a user
runs it, in a fresh process. From 2,000,000 ratings on, collab_train switches by itself to its large-file settings
(int32 indices, batches of 65,536, lr 0.1, wd 0.01); 1M trains with its small-file settings. Wall time is the whole run
(start-up, reading, encoding, one epoch, saving); peak memory is the child's peak RSS as the kernel reports it
(bench/scale_run.py). Then `collab_recommend --user` serves the 5M model: the large-file path ends in a `Recommender`
like any other. The CSVs are written once under data/synth/ (git-ignored; 25M is ~690 MB), untimed. Results go to
bench/results/scale.json (atomically). Last line: n_ratings=<n> peak_rss_gb=<x> secs_per_epoch=<y> for the largest size."""
import argparse, json, os, platform, subprocess, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root, so that `bench.scale_run` imports from anywhere
from bench.scale_run import BIN, run_measured, train_fresh
from collab_lib.data import atomic_path

p = argparse.ArgumentParser(description=__doc__)
p.add_argument('--sizes', type=int, nargs='+', default=[1_000_000, 5_000_000, 25_000_095], help='numbers of ratings (e.g. --sizes 1000000 5000000 for a quick run)')
p.add_argument('--data-dir', default='data/synth')
p.add_argument('--out', default='bench/results/scale.json')
p.add_argument('--epochs', type=int, default=1)
p.add_argument('--threads', type=int, default=1, help='torch threads per run (OMP_NUM_THREADS of the child)')
args = p.parse_args()


def synth_csv(n, data_dir) -> Path:
    "data/synth/ratings_<n>.csv, written once (in a child process, so that this one stays small)"
    path = data_dir/f'ratings_{n}.csv'
    if not path.exists():
        t = time.perf_counter()
        subprocess.run([sys.executable, '-c', 'import sys; from collab_lib.scale import synth_ratings, write_ratings_csv; '
                        'write_ratings_csv(synth_ratings(int(sys.argv[1])), sys.argv[2])', str(n), str(path)], check=True)
        print(f'wrote {path} ({path.stat().st_size/1e6:.0f} MB) in {time.perf_counter()-t:.0f} s', flush=True)
    return path


data_dir, env, rows = Path(args.data_dir), dict(os.environ, OMP_NUM_THREADS=str(args.threads)), []
for n in args.sizes:
    csv, model = synth_csv(n, data_dir), data_dir/f'model_{n}.pth'
    r = train_fresh(csv, model, args.epochs, env)
    row = dict(n_ratings=n, csv_mb=csv.stat().st_size/1e6, secs=r['secs'], secs_per_epoch=r['secs']/args.epochs,
               peak_rss_gb=r['peak_rss_gb'], valid_mse=r['valid_mse'], model=str(model), threads=args.threads)
    rows.append(row)
    print(' '.join(f'{k}={v:.3f}' if isinstance(v, float) else f'{k}={v}' for k, v in row.items()), flush=True)

# the large-file path ends in a Recommender: serve the 5M model (or the one closest to 5M) with collab_recommend
near = min(rows, key=lambda r: abs(r['n_ratings'] - 5_000_000))
csv = data_dir/f'ratings_{near["n_ratings"]}.csv'
with open(csv) as f: f.readline(); user = f.readline().split(',')[0]  # the first rating's user, a user of the file
rec = run_measured([BIN/'collab_recommend', near['model'], '--user', user, '--n', '5'], env)
print(f'collab_recommend {near["model"]} --user {user} --n 5  (exit {rec["rc"]}, {rec["secs"]:.1f} s):')
print('\n'.join(rec['out'].strip().splitlines()[:6]), flush=True)
if rec['rc']: sys.exit('collab_recommend failed')

meta = dict(date=time.strftime('%Y-%m-%d'), machine=f'{platform.machine()}, {os.cpu_count()} cores, '
            f'{os.sysconf("SC_PAGE_SIZE")*os.sysconf("SC_PHYS_PAGES")/2**30:.0f} GiB', load_avg=os.getloadavg(), epochs=args.epochs,
            note='secs and secs_per_epoch cover the whole collab_train process: start-up, reading, encoding, training, saving',
            runs=rows, recommend=dict(model=near['model'], user=user, rc=rec['rc'], secs=rec['secs'], out=rec['out']))
out = Path(args.out); out.parent.mkdir(parents=True, exist_ok=True)
with atomic_path(out) as tmp: tmp.write_text(json.dumps(meta, indent=1))
big = max(rows, key=lambda r: r['n_ratings'])
ok = big['peak_rss_gb'] < 6 and big['secs_per_epoch'] < 180
print(f"targets (peak RSS < 6 GB, < 180 s per epoch): {'met' if ok else 'MISSED'}")
print(f"n_ratings={big['n_ratings']} peak_rss_gb={big['peak_rss_gb']:.2f} secs_per_epoch={big['secs_per_epoch']:.1f}")
