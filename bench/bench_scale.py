"""Scaling benchmark (make bench-scale): synthetic ratings with MovieLens 25M's shape (collab_lib.scale.synth_ratings) at
1M, 5M and 25,000,095 ratings. For each size a fresh Python process reads the CSV, encodes and splits it and trains the
dot-product model with biases (50 factors) for one epoch at batch size 65,536 (collab_lib.scale.csv_to_model); its peak
resident memory is its VmHWM. The CSVs are written once under data/synth/ (git-ignored; 25M is ~650 MB), untimed.
Results go to bench/results/scale.json. Last line: n_ratings=<n> peak_rss_gb=<x> secs_per_epoch=<y> for the largest size."""
import argparse, json, subprocess, sys, time, platform, os
from pathlib import Path

p = argparse.ArgumentParser(description=__doc__)
p.add_argument('--sizes', type=int, nargs='+', default=[1_000_000, 5_000_000, 25_000_095])
p.add_argument('--data-dir', default='data/synth')
p.add_argument('--out', default='bench/results/scale.json')
p.add_argument('--epochs', type=int, default=1)
p.add_argument('--threads', type=int, default=1, help='torch threads per run (1 beat 2 on the shared 2-core machine)')
args = p.parse_args()

from collab_lib.scale import csv_to_model_fresh
data_dir, rows = Path(args.data_dir), []
data_dir.mkdir(parents=True, exist_ok=True)
for n in args.sizes:
    path = data_dir/f'ratings_{n}.csv'
    if not path.exists():
        t = time.perf_counter()
        code = (f"import warnings; warnings.filterwarnings('ignore')\nfrom collab_lib.scale import synth_ratings, write_ratings_csv\n"
                f"write_ratings_csv(synth_ratings({n}), {str(path) + '.part'!r})")
        subprocess.run([sys.executable, '-c', code], check=True)
        Path(str(path) + '.part').rename(path)
        print(f'wrote {path} ({path.stat().st_size/1e6:.0f} MB) in {time.perf_counter()-t:.0f} s', flush=True)
    s = csv_to_model_fresh(path, threads=args.threads, epochs=args.epochs)
    s['csv_mb'], s['threads'] = path.stat().st_size / 1e6, args.threads
    rows.append(s)
    print(' '.join(f'{k}={v:.3f}' if isinstance(v, float) else f'{k}={v}' for k, v in s.items()), flush=True)

meta = dict(date=time.strftime('%Y-%m-%d'), machine=f'{platform.machine()}, {os.cpu_count()} cores, '
            f'{os.sysconf("SC_PAGE_SIZE")*os.sysconf("SC_PHYS_PAGES")/2**30:.0f} GiB', load_avg=os.getloadavg(), runs=rows)
Path(args.out).parent.mkdir(parents=True, exist_ok=True)
Path(args.out).write_text(json.dumps(meta, indent=1))
big = max(rows, key=lambda r: r['n_ratings'])
ok = big['peak_rss_gb'] < 6 and big['secs_per_epoch'] < 180
print(f"targets (peak RSS < 6 GB, < 180 s per epoch): {'met' if ok else 'MISSED'}")
print(f"n_ratings={big['n_ratings']} peak_rss_gb={big['peak_rss_gb']:.2f} secs_per_epoch={big['secs_per_epoch']:.1f}")
