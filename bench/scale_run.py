"""The scaling benchmark's code, not part of the library: run collab_lib's console scripts in fresh processes and
measure each run's wall time and peak memory. nbs/18_scaling.ipynb and bench/bench_scale.py (`make bench-scale`) use it."""
import os, subprocess, sys, tempfile, time
from pathlib import Path

__all__ = ['BIN', 'run_measured', 'train_fresh', 'shard_fresh']

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


def train_fresh(csv, out, epochs=1, env=None) -> dict:
    "`collab_train` on the MovieLens-layout `csv` in a fresh process, saving to `out`: `secs`, `peak_rss_gb`, `valid_mse`, `out`"
    res = run_measured([BIN/'collab_train', csv, '--user', 'userId', '--item', 'movieId', '--rating', 'rating',
                        '--epochs', epochs, '--out', out], env)
    if res['rc']: raise RuntimeError(f'collab_train failed on {csv} (exit {res["rc"]}):\n{res["out"][-3000:]}')
    last = dict(o.split('=', 1) for o in res['out'].strip().splitlines()[-1].split())  # valid_mse=<x> saved=<path>
    return dict(secs=res['secs'], peak_rss_gb=res['peak_rss_gb'], valid_mse=float(last['valid_mse']), out=res['out'])


def shard_fresh(csv, out, nproc, epochs=None, env=None, extra=()) -> dict:
    """`collab_shard --nproc nproc` (`--epochs epochs`, or its default) on the MovieLens-layout `csv`, saving to `out`: `secs`, `peak_rss_gb` (the largest of any of its
    processes over the whole run, gather and ranking model included), `train_peak_rss_gb` (the largest process peak at the end
    of training), `rank_table_share`, `epochs` (each with `since_start`: seconds from the command's start to the epoch's end)"""
    import json
    stats = Path(out).with_suffix('.json')
    start = time.time()
    res = run_measured([BIN/'collab_shard', csv, '--user', 'userId', '--item', 'movieId', '--rating', 'rating', '--nproc', nproc,
                        *(['--epochs', epochs] if epochs else []), '--out', out, '--stats', stats, *extra], env)
    if res['rc']: raise RuntimeError(f'collab_shard failed on {csv} (exit {res["rc"]}):\n{res["out"][-3000:]}')
    info = json.loads(Path(stats).read_text())
    return dict(secs=res['secs'], peak_rss_gb=res['peak_rss_gb'], out=res['out'], model=str(out), rank_table_share=info['rank_table_share'],
                train_peak_rss_gb=max(r['peak_rss_gb'] for r in info['ranks']), info=info,
                epochs=[dict(e, since_start=e['at'] - start) for e in info['epochs']])
