"""Scaling benchmark (make bench-scale): synthetic ratings with MovieLens 25M's shape (collab_lib.synth.synth_ratings)
at 1M, 5M and 25,000,095 ratings, each trained for one epoch by the console script `collab_train`, exactly as a user
runs it, in a fresh process. From 2,000,000 ratings on, collab_train switches by itself to its large-file settings
(int32 indices, batches of 65,536, lr 0.1, wd 0.01); 1M trains with its small-file settings. Wall time is the whole run
(start-up, reading, encoding, one epoch, saving); peak memory is the child's peak RSS as the kernel reports it
(bench/scale_run.py). Then `collab_recommend --user` serves the 5M model: the large-file path ends in a `Recommender`
like any other. The CSVs are written once under data/synth/ (git-ignored; 25M is ~690 MB), untimed. Results go to
bench/results/scale.json (atomically).

Each model is then evaluated in a fresh process (bench/scale_run.py `evaluate_fresh`): it loads the saved model and the
ratings collab_train held out (the same file read the same way, `random_split(n, 0.2, seed 42)` as fit_recommender's data
loaders split), and runs `collab_lib.evaluate.evaluate_recommender`: RMSE of the model's predictions, and precision,
recall and NDCG@10 of the served top-10 lists, a block of 512 users at a time (the training movies taken out through the
model's sparse rated lists, never a users x items matrix), with its peak RSS (`collab_lib.core.peak_rss_gb`). The served
lists are ranked by the ranking model, which collab_train fits on the training split, as the rating model: ndcg10 is
theirs; ndcg10_rating ranks by the rating model instead.

Then, on the largest file and its split (collab_lib's `random_split`, 20% held out, seed 42), side by side:
- the one-process path: the run above (`collab_train`, one epoch, `fit_fast`);
- the sharded path: `collab_train --nproc 2` (TorchRec, tables split by rows over 2 processes), and the same code on one
  process (`--nproc 1`), with its default settings (chosen by bench/shard_tune.py), recording when each epoch ended;
- Spark's ALS (`local[2]`), tuned on a carve of the training rows (bench/spark_als.py), then refitted on all of them.
Each reports seconds per epoch (per iteration for ALS), peak memory per process and valid RMSE; the sharded runs also the
time to reach Spark's valid RMSE. Tables: nbs/results/18a_sharded_bench.csv (one row per path) and
nbs/results/18a_sharded_curves.csv (valid RMSE after each epoch against wall time), read by nbs/18a_sharded.ipynb.
Last line: n_ratings=<n> peak_rss_gb=<x> secs_per_epoch=<y> (the one-process run at the largest size, as before)
sharded_secs_per_epoch=<s> rank_table_share=<f> rmse=<r> spark_rmse=<q> secs_to_spark_rmse=<t> spark_secs=<u>
ndcg10=<v> ndcg10_rating=<w> eval_peak_rss_gb=<z> eval_secs=<e> (the evaluation of the largest one-process model), where rmse
is the best valid RMSE of the project's fastest path to Spark's RMSE, secs_to_spark_rmse that path's wall time to reach
spark_rmse, and spark_secs Spark's wall time to reach it (its final fit, reading included). With --quick the run stops
before the side-by-side part (no Spark, no TorchRec) and the last line has the one-process and evaluation keys only."""
import argparse, json, os, platform, shutil, subprocess, sys, time
import numpy as np
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root, so that `bench.scale_run` imports from anywhere
from bench.scale_run import BIN, run_measured, train_fresh, shard_fresh, evaluate_fresh
from bench.spark_als import spark_als
import pandas as pd
from collab_lib.core import atomic_path

p = argparse.ArgumentParser(description=__doc__)
p.add_argument('--sizes', type=int, nargs='+', default=[1_000_000, 5_000_000, 25_000_095], help='numbers of ratings (e.g. --sizes 1000000 5000000 for a quick run)')
p.add_argument('--data-dir', default='data/synth')
p.add_argument('--out', default='bench/results/scale.json')
p.add_argument('--epochs', type=int, default=1)
p.add_argument('--threads', type=int, default=1, help='torch threads per run (OMP_NUM_THREADS of the child)')
p.add_argument('--shard-epochs', type=int, default=None, help="epochs of each sharded run (default: the sharded backend's, SHARD_EPOCHS)")
p.add_argument('--results', default='nbs/results', help="where the side-by-side tables go (the notebook's)")
p.add_argument('--eval-bs', type=int, default=512, help='users per block of the evaluation (its memory: about eval_bs x n_items x 10 bytes)')
p.add_argument('--quick', action='store_true', help='stop after training, evaluating and serving at each size: no Spark, no sharded runs')
args = p.parse_args()


def synth_csv(n, data_dir) -> Path:
    "data/synth/ratings_<n>.csv, written once (in a child process, so that this one stays small)"
    path = data_dir/f'ratings_{n}.csv'
    if not path.exists():
        t = time.perf_counter()
        subprocess.run([sys.executable, '-c', 'import sys; from collab_lib.synth import synth_ratings, write_ratings_csv; '
                        'write_ratings_csv(synth_ratings(int(sys.argv[1])), sys.argv[2])', str(n), str(path)], check=True)
        print(f'wrote {path} ({path.stat().st_size/1e6:.0f} MB) in {time.perf_counter()-t:.0f} s', flush=True)
    return path


data_dir, env, rows = Path(args.data_dir), dict(os.environ, OMP_NUM_THREADS=str(args.threads)), []
for n in args.sizes:
    csv, model = synth_csv(n, data_dir), data_dir/f'model_{n}.pth'
    r = train_fresh(csv, model, args.epochs, env)
    row = dict(n_ratings=n, csv_mb=csv.stat().st_size/1e6, secs=r['secs'], secs_per_epoch=r['secs']/args.epochs,
               peak_rss_gb=r['peak_rss_gb'], valid_mse=r['valid_mse'], model=str(model), threads=args.threads)
    e = evaluate_fresh(csv, model, env, bs=args.eval_bs)
    row.update(ndcg10=e['ndcg10'], ndcg10_rating=e.get('ndcg10_rating', float('nan')), precision10=e['precision10'], recall10=e['recall10'],
               eval_rmse=e['rmse'], eval_users=e['n_users'], eval_secs=e['outer_secs'], eval_peak_rss_gb=max(e['peak_rss_gb'], e['outer_peak_rss_gb']))
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
# collab_train's default on the largest file: validated, then trained again on every rating (the model then knows every user and item)
csv = data_dir/f'ratings_{big["n_ratings"]}.csv'
r = train_fresh(csv, data_dir/f'model_refit_{big["n_ratings"]}.pth', args.epochs, env, refit=True)
big.update(refit_secs=r['secs'], refit_peak_rss_gb=r['peak_rss_gb'], refit_extra_secs=r['secs'] - big['secs'])
print(f"refit (collab_train's default) on {big['n_ratings']} ratings: {r['secs']:.1f} s, against {big['secs']:.1f} s for the validated model alone "
      f"({big['refit_extra_secs']:.1f} s more, for {args.epochs} more epoch(s) of {big['secs_per_epoch']:.1f} s or less), peak RSS {r['peak_rss_gb']:.2f} GB", flush=True)
meta['refit'] = dict(n_ratings=big['n_ratings'], secs=r['secs'], peak_rss_gb=r['peak_rss_gb'], validated_secs=big['secs'])
with atomic_path(out) as tmp: tmp.write_text(json.dumps(meta, indent=1))
ok = max(big['peak_rss_gb'], big['refit_peak_rss_gb'], big['eval_peak_rss_gb']) < 6 and big['secs_per_epoch'] < 180
print(f"targets (peak RSS < 6 GB training, refitting and evaluating, < 180 s per epoch): {'met' if ok else 'MISSED'}", flush=True)
evaluated = (f"ndcg10={big['ndcg10']:.4f} ndcg10_rating={big['ndcg10_rating']:.4f} eval_peak_rss_gb={big['eval_peak_rss_gb']:.2f} "
             f"eval_secs={big['eval_secs']:.1f} refit_secs={big['refit_secs']:.1f} refit_peak_rss_gb={big['refit_peak_rss_gb']:.2f}")
if args.quick:
    print(f"n_ratings={big['n_ratings']} peak_rss_gb={big['peak_rss_gb']:.2f} secs_per_epoch={big['secs_per_epoch']:.1f} {evaluated}")
    sys.exit()

# side by side on the largest file: Spark first (its RMSE is the mark), then the sharded path on 2 and on 1 process
csv = data_dir/f'ratings_{big["n_ratings"]}.csv'
print(f'\nSpark ALS (local[2]) on {csv}, tuned on a carve of the training rows:', flush=True)
spark_dir = data_dir/'spark'   # its parquet parts and scratch files, removed afterwards
try: spark = spark_als(csv, spark_dir, seed=42, log=lambda m: print('  ' + m, flush=True))
finally: shutil.rmtree(spark_dir, ignore_errors=True)
mark = spark['spark_rmse']
paths = [dict(path='one process: collab_train (fit_fast)', processes=1, epochs=args.epochs, secs_per_epoch=big['secs_per_epoch'],
              peak_rss_gb=big['peak_rss_gb'], train_peak_rss_gb=float('nan'), valid_rmse=big['valid_mse'] ** 0.5,
              best_rmse=big['valid_mse'] ** 0.5, secs_to_spark_rmse=float('nan'), rank_table_share=1.0, total_secs=big['secs'])]
curves, sharded = [], {}
for nproc in (2, 1):
    print(f'\ncollab_train --nproc {nproc} on {csv}' + (f', {args.shard_epochs} epochs' if args.shard_epochs else '') + ':', flush=True)
    r = sharded[nproc] = shard_fresh(csv, data_dir/f'sharded_{nproc}_{big["n_ratings"]}.pth', nproc, args.shard_epochs, env)
    print('\n'.join('  ' + l for l in r['out'].strip().splitlines() if not l.startswith('['))[-2000:], flush=True)
    hit = next((e for e in r['epochs'] if e['valid_mse'] ** 0.5 <= mark), None)
    paths.append(dict(path=f'sharded: collab_train --nproc {nproc} (TorchRec)', processes=nproc, epochs=len(r['epochs']),
                      secs_per_epoch=float(np.mean([e['secs'] for e in r['epochs']])), peak_rss_gb=r['peak_rss_gb'],
                      train_peak_rss_gb=r['train_peak_rss_gb'], valid_rmse=r['epochs'][-1]['valid_mse'] ** 0.5,
                      best_rmse=min(e['valid_mse'] for e in r['epochs']) ** 0.5,
                      secs_to_spark_rmse=hit['since_start'] if hit else float('nan'), rank_table_share=r['rank_table_share'], total_secs=r['secs']))
    curves += [dict(path=paths[-1]['path'], epoch=e['epoch'] + 1, secs=e['since_start'], valid_rmse=e['valid_mse'] ** 0.5) for e in r['epochs']]
    if nproc == 2:  # the gathered file is a Recommender like any other: serve it
        with open(csv) as f: f.readline(); user = f.readline().split(',')[0]
        rec = run_measured([BIN/'collab_recommend', r['model'], '--user', user, '--n', '5'], env)
        print(f'  collab_recommend {r["model"]} --user {user} --n 5 (exit {rec["rc"]}, {rec["secs"]:.1f} s):')
        print('\n'.join('    ' + l for l in rec['out'].strip().splitlines()[:7]), flush=True)
        if rec['rc']: sys.exit('collab_recommend failed on the sharded model')
paths.append(dict(path=f"Spark ALS, local[2] (rank {spark['rank']}, regParam {spark['regParam']}, {spark['maxIter']} iterations)", processes=1,
                  epochs=spark['maxIter'], secs_per_epoch=spark['secs_per_iter'], peak_rss_gb=spark['peak_rss_gb'], train_peak_rss_gb=float('nan'),
                  valid_rmse=mark, best_rmse=mark, secs_to_spark_rmse=spark['secs_to_rmse'], rank_table_share=1.0, total_secs=spark['spark_secs']))
curves.append(dict(path=paths[-1]['path'], epoch=spark['maxIter'], secs=spark['secs_to_rmse'], valid_rmse=mark))
table = pd.DataFrame(paths)

def growth_row(n, r):
    "What the busiest process of a sharded run held and used"
    info, busiest = r['info'], max(r['info']['ranks'], key=lambda o: sum(x['bytes'] for x in o['rows']))
    return dict(n_ratings=n, n_users=info['n_users'], n_movies=info['n_movies'], rank_rows=sum(x['n_rows'] for x in busiest['rows'] if x['table'].endswith('factors')),   # users and movies held
                rank_bytes=sum(x['bytes'] for x in busiest['rows']), rank_opt_bytes=sum(x['opt_bytes'] for x in busiest['rows']),
                rank_table_share=info['rank_table_share'], train_peak_rss_gb=r['train_peak_rss_gb'],
                secs_per_epoch=float(np.mean([e['secs'] for e in r['epochs']])), secs=r['secs'])
growth = []
for n in sorted(r['n_ratings'] for r in rows if r['n_ratings'] != big['n_ratings']):   # one epoch at the smaller sizes, for the growth
    print(f'\ncollab_train --nproc 2 on {n:,} ratings, one epoch, no ranking model:', flush=True)
    g = shard_fresh(data_dir/f'ratings_{n}.csv', data_dir/f'sharded_2_{n}.pth', 2, 1, env, extra=['--no_ranking'])
    growth.append(growth_row(n, g)); print('  ' + str({k: round(v, 3) if isinstance(v, float) else v for k, v in growth[-1].items()}), flush=True)
growth.append(growth_row(big['n_ratings'], sharded[2]))
results = Path(args.results); results.mkdir(parents=True, exist_ok=True)
meta = dict(date=time.strftime('%Y-%m-%d'), n_ratings=big['n_ratings'], load_avg=os.getloadavg()[0], spark_tuning=json.dumps(spark['tuning']))
with atomic_path(results/'18a_sharded_bench.csv') as tmp: table.assign(**meta).to_csv(tmp, index=False)
with atomic_path(results/'18a_sharded_curves.csv') as tmp: pd.DataFrame(curves).to_csv(tmp, index=False)
with atomic_path(results/'18a_sharded_scale.csv') as tmp: pd.DataFrame(growth).to_csv(tmp, index=False)
with pd.option_context('display.width', 200, 'display.max_colwidth', 60):
    print('\n' + table.drop(columns=['total_secs']).round(3).to_string(index=False))

ours = table[table.path.str.startswith('sharded')].dropna(subset=['secs_to_spark_rmse'])
best = ours.loc[ours.secs_to_spark_rmse.idxmin()] if len(ours) else table[table.path.str.startswith('sharded')].sort_values('best_rmse').iloc[0]
two = table[table.processes.eq(2)].iloc[0]
faster = len(ours) and best.secs_to_spark_rmse < spark['secs_to_rmse']
print(f"targets (the project's best path reaches Spark's valid RMSE {mark:.4f} sooner than Spark: {best.secs_to_spark_rmse:.0f} s against "
      f"{spark['secs_to_rmse']:.0f} s; rank_table_share <= 0.55 with 2 processes: {two.rank_table_share:.3f}): "
      f"{'met' if faster and two.rank_table_share <= 0.55 else 'MISSED'}")
print(f"n_ratings={big['n_ratings']} peak_rss_gb={big['peak_rss_gb']:.2f} secs_per_epoch={big['secs_per_epoch']:.1f} "
      f"sharded_secs_per_epoch={two.secs_per_epoch:.1f} rank_table_share={two.rank_table_share:.3f} rmse={best.best_rmse:.4f} "
      f"spark_rmse={mark:.4f} secs_to_spark_rmse={best.secs_to_spark_rmse:.1f} spark_secs={spark['secs_to_rmse']:.1f} {evaluated}")
