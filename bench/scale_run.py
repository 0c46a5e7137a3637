"""The scaling benchmark's code, not part of the library: run collab_lib's console scripts in fresh processes and
measure each run's wall time and peak memory. nbs/18_scaling.ipynb and bench/bench_scale.py (`make bench-scale`) use it."""
import os, subprocess, sys, tempfile, time
from pathlib import Path

__all__ = ['BIN', 'run_measured', 'train_fresh']

BIN = Path(sys.executable).parent  # the console scripts of this Python environment (`collab_train`, `collab_recommend`)


def run_measured(cmd, env=None) -> dict:
    "Run `cmd` to the end in a child process: `rc`, `out` (stdout and stderr), wall `secs` and the child's `peak_rss_gb`"
    with tempfile.TemporaryFile() as f:
        t = time.perf_counter()
        p = subprocess.Popen([str(o) for o in cmd], stdout=f, stderr=subprocess.STDOUT, env=env)
        # the kernel's resource usage of this one child: `ru_maxrss` is its peak resident memory, in KiB on Linux
        # (`getrusage(RUSAGE_CHILDREN)` would be the maximum over every child reaped so far)
        _, status, ru = os.wait4(p.pid, 0)
        secs = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        f.seek(0)
        return dict(rc=p.returncode, out=f.read().decode(errors='replace'), secs=secs, peak_rss_gb=ru.ru_maxrss * 1024 / 1e9)


def train_fresh(csv, out, epochs=1, env=None) -> dict:
    "`collab_train` on the MovieLens-layout `csv` in a fresh process, saving to `out`: `secs`, `peak_rss_gb`, `valid_mse`, `out`"
    res = run_measured([BIN/'collab_train', csv, '--user', 'userId', '--item', 'movieId', '--rating', 'rating',
                        '--epochs', epochs, '--out', out], env)
    if res['rc']: raise RuntimeError(f'collab_train failed on {csv} (exit {res["rc"]}):\n{res["out"][-3000:]}')
    last = dict(o.split('=', 1) for o in res['out'].strip().splitlines()[-1].split())  # valid_mse=<x> saved=<path>
    return dict(secs=res['secs'], peak_rss_gb=res['peak_rss_gb'], valid_mse=float(last['valid_mse']), out=res['out'])
