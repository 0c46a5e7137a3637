"""The scaling benchmark's code, not part of the library: run collab_lib's console scripts in fresh processes and
measure each run's wall time and peak memory. nbs/18_scaling.ipynb and bench/bench_scale.py (`make bench-scale`) use it."""
import json, os, subprocess, sys, tempfile, time
from pathlib import Path

__all__ = ['BIN', 'run_measured', 'train_fresh', 'shard_fresh', 'evaluate_fresh']

BIN = Path(sys.executable).parent  # the console scripts of this Python environment (`collab_train`, `collab_recommend`)


# A small launcher process starts the command and reports the command's peak memory (`ru_maxrss`, KiB on Linux).
# Why not `os.wait4` on the command directly: Linux carries a process's peak over `exec`, and a child of a large
# process (a notebook kernel that has trained models) starts as a copy of it, so its `ru_maxrss` would be at least the
# parent's peak. The launcher is small, so the command it starts is measured from a small start.
_LAUNCHER = ("import os, subprocess, sys; p = subprocess.Popen(sys.argv[2:]); _, st, ru = os.wait4(p.pid, 0); "
             "open(sys.argv[1], 'w').write(str(ru.ru_maxrss)); sys.exit(os.waitstatus_to_exitcode(st))")

def run_measured(cmd, env=None) -> dict:
    "Run `cmd` to the end in a child process: `rc`, `out` (stdout and stderr), wall `secs` and the command's `peak_rss_gb`"
    with tempfile.TemporaryFile() as f, tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        p = subprocess.run([sys.executable, '-c', _LAUNCHER, f'{d}/maxrss', *[str(o) for o in cmd]], stdout=f, stderr=subprocess.STDOUT, env=env)
        secs = time.perf_counter() - t
        f.seek(0)
        kib = int(Path(f'{d}/maxrss').read_text())
        return dict(rc=p.returncode, out=f.read().decode(errors='replace'), secs=secs, peak_rss_gb=kib * 1024 / 1e9)


def train_fresh(csv, out, epochs=1, env=None, refit=False) -> dict:
    """`collab_train` on the MovieLens-layout `csv` in a fresh process, saving to `out`: `secs`, `peak_rss_gb`, `valid_mse`, `out`.
    The validated model itself (`--no_refit`), which the evaluation on the held-out ratings needs; `refit`: collab_train's default,
    validated and then trained again on all ratings (to measure what that costs)"""
    res = run_measured([BIN/'collab_train', csv, '--user', 'userId', '--item', 'movieId', '--rating', 'rating',
                        '--epochs', epochs, '--out', out, *([] if refit else ['--no_refit'])], env)
    if res['rc']: raise RuntimeError(f'collab_train failed on {csv} (exit {res["rc"]}):\n{res["out"][-3000:]}')
    last = dict(o.split('=', 1) for o in [l for l in res['out'].splitlines() if l.startswith('backend=')][-1].split())  # ... valid_mse=<x> ... saved=<path>; `warning:` lines may follow
    return dict(secs=res['secs'], peak_rss_gb=res['peak_rss_gb'], valid_mse=float(last['valid_mse']), out=res['out'])


def shard_fresh(csv, out, nproc, epochs=None, env=None, extra=()) -> dict:
    """`collab_train --nproc nproc` (`--epochs epochs`, or its default) on the MovieLens-layout `csv`, saving to `out`: `secs`, `peak_rss_gb` (the largest of any of its
    processes over the whole run, gather and ranking model included), `train_peak_rss_gb` (the largest process peak at the end
    of training), `rank_table_share`, `epochs` (each with `since_start`: seconds from the command's start to the epoch's end)"""
    stats = Path(out).with_suffix('.json')
    start = time.time()
    res = run_measured([BIN/'collab_train', csv, '--user', 'userId', '--item', 'movieId', '--rating', 'rating', '--nproc', nproc, '--backend', 'sharded',
                        *(['--epochs', epochs] if epochs else []), '--out', out, '--stats', stats, '--no_refit', *extra], env)
    if res['rc']: raise RuntimeError(f'collab_train --nproc failed on {csv} (exit {res["rc"]}):\n{res["out"][-3000:]}')
    info = json.loads(Path(stats).read_text())
    return dict(secs=res['secs'], peak_rss_gb=res['peak_rss_gb'], out=res['out'], model=str(out), rank_table_share=info['rank_table_share'],
                train_peak_rss_gb=max(r['peak_rss_gb'] for r in info['ranks']), info=info,
                epochs=[dict(e, since_start=e['at'] - start) for e in info['epochs']])


def evaluate_saved(csv, model, valid_pct=0.2, seed=42, k=10, bs=512) -> dict:
    """In this process: the `Recommender` saved in `model` evaluated (`evaluate_recommender`) on the ratings of `csv` that
    `collab_train --valid_pct valid_pct --seed seed` held out, read as it reads them (`read_ratings`, then `random_split` of
    `fit_recommender`'s data loaders); both rankings, the served lists' (its ranking model) and the rating model's"""
    t = time.perf_counter()
    from collab_lib.core import peak_rss_gb
    from collab_lib.ratings import read_ratings, random_split
    from collab_lib.recommend import Recommender
    from collab_lib.evaluate import evaluate_recommender
    rec = Recommender.load(model)
    df = read_ratings(csv, rec.user_name, rec.item_name, 'rating').set_axis([rec.user_name, rec.item_name, 'rating'], axis=1)
    _, va = random_split(len(df), valid_pct, seed)
    valid = df.iloc[va.numpy()].reset_index(drop=True); n = len(df); del df, va
    read_secs = time.perf_counter() - t
    served = evaluate_recommender(rec, valid, k=k, bs=bs)
    res = dict(n_ratings=n, n_valid=served['n_valid'], n_unknown=served['n_unknown'], n_users=served['n_users'], rmse=served['rmse'],
               **{f'{m}{k}': served[f'{m}@{k}'] for m in ('precision', 'recall', 'ndcg')}, read_secs=read_secs)
    if rec.ranker is not None:   # the rating model's own ranking, beside the served lists'
        res[f'ndcg{k}_rating'] = evaluate_recommender(rec, valid, k=k, bs=bs, use_ranker=False)[f'ndcg@{k}']
    return dict(res, secs=time.perf_counter() - t, peak_rss_gb=peak_rss_gb(), bs=bs)


def evaluate_fresh(csv, model, env=None, valid_pct=0.2, seed=42, bs=512) -> dict:
    "`evaluate_saved` in a fresh process: its results, with `peak_rss_gb` as the process measured it and `outer_peak_rss_gb` as the launcher did"
    res = run_measured([sys.executable, __file__, 'evaluate', csv, model, valid_pct, seed, bs], env)
    if res['rc']: raise RuntimeError(f'evaluating {model} on {csv} failed (exit {res["rc"]}):\n{res["out"][-3000:]}')
    return dict(json.loads(res['out'].strip().splitlines()[-1]), outer_secs=res['secs'], outer_peak_rss_gb=res['peak_rss_gb'])


if __name__ == '__main__' and sys.argv[1:2] == ['evaluate']:   # python bench/scale_run.py evaluate CSV MODEL VALID_PCT SEED BS
    csv, model, valid_pct, seed, bs = sys.argv[2:7]
    print(json.dumps(evaluate_saved(csv, model, float(valid_pct), int(seed), bs=int(bs))))
