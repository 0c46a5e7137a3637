"""Run every notebook top to bottom in a fresh kernel, as `nbdev_test --timing` does, but longest first.

Cells flagged `#| slow` (the multi-seed tables: 24 runs in 11_results, stock fastai at bs=64, u1-u5) are skipped, as
`nbdev_test` skips them: they write their table to `nbs/results/`, and the cell after them reads it from there, so the
test still checks every sentence built from it. `make results` re-runs them; `--flags slow` runs them here too.

nbdev_test hands the notebooks to its workers in name order, so the longest one (11_results, about six minutes here)
starts only after the chapter's first notebooks, and the other worker sits idle at the end while it finishes. Starting
the longest ones first (longest-processing-time-first scheduling) lets the short ones fill in around them: the same work,
about a minute less wall time on 2 cores. The order below comes from `--timing`; a notebook not listed runs after them,
in name order. Usage: `python tools/test_nbs.py [--n_workers 2]` (`make nbs-test`); exits 1 if any notebook fails.
"""
import argparse, sys
from fastcore.parallel import parallel
from fastcore.xtras import working_directory
from nbdev.config import get_config
from nbdev.doclinks import nbglob
from nbdev.test import test_nb, _keep_file

LONGEST_FIRST = ['08_deep', '18a_sharded', '21_robustness', '02_dot_product', '06_interpret', '04_weight_decay', '10_fast_path', '18_scaling',
                 '17_evaluation', '03_bias', '05_own_embedding', '20_cli']

def ordered(files):
    "`files` with the notebooks of `LONGEST_FIRST` first, in that order, then the rest by name"
    rank = {n: i for i, n in enumerate(LONGEST_FIRST)}
    return sorted(files, key=lambda f: (rank.get(f.stem, len(rank)), f.name))

def test_nb_quietly(fn, **kwargs):
    """nbdev's `test_nb`, with fastai's progress bars off in this worker: nobody reads them in a test run, and updating
    them costs about a sixth of an epoch at bs=64 (4.1 s against 3.4 s here), some 40 CPU-seconds over the notebooks.
    The saved outputs, which `make results` and Jupyter write, keep them; the notebooks' code is unchanged."""
    from fastai.learner import defaults
    from fastai.callback.progress import ProgressCallback  # importing it adds it to the defaults; then it is taken out
    defaults.callbacks = [cb for cb in defaults.callbacks if cb is not ProgressCallback]
    return test_nb(fn, **kwargs)

def main(n_workers=2, flags=''):
    cfg = get_config()
    files = [f.absolute() for f in ordered(nbglob(cfg.nbs_path, as_path=True)) if _keep_file(f, '.notest')]
    with working_directory(cfg.nbs_path):  # where nbdev_test runs them: notebooks open files relative to nbs/
        # by module name, not __main__: the kernel of a worker's first notebook replaces sys.modules['__main__']
        from test_nbs import test_nb_quietly as run
        results = parallel(run, files, skip_flags=cfg.tst_flags.split(), force_flags=flags.split(), n_workers=n_workers,
                           basepath=cfg.config_path, pause=0.01, do_print=False)
    passed, times = zip(*results)
    for f, t in sorted(zip(files, times), key=lambda o: -o[1]): print(f'{f.name}: {int(t)} secs')
    failed = [f.name for p, f in zip(passed, files) if not p]
    if failed: sys.exit('notebooks failed: ' + ', '.join(failed))
    print(f'Success: {len(files)} notebooks.')

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n_workers', type=int, default=2)
    p.add_argument('--flags', default='', help='test flags to run, e.g. `slow`')
    a = p.parse_args()
    main(a.n_workers, a.flags)
