"""Re-run notebooks in place, in a fresh Jupyter kernel each, so that their saved outputs are fresh (`make outputs`).

Cells flagged `#| slow` (the multi-seed tables, which write `nbs/results/*.csv`) and `#| eval: false` cells are not run
and keep the outputs they have: `make results` re-runs the slow ones. The notebooks run from `nbs/`, two at a time, with
one torch thread each, longest first (the order of `tools/test_nbs.py`). Usage: `python tools/run_nbs.py [NAME ...]`
(default: every notebook); then `nbdev_clean`. Exits 1, naming them, if any notebook fails; a failed notebook is not written.
"""
import re, sys
from pathlib import Path
import nbformat
from nbclient import NotebookClient
from fastcore.parallel import parallel

NBS = Path(__file__).resolve().parent.parent/'nbs'
SKIP = re.compile(r'^#\|\s*(slow\b|eval:\s*false)', re.M)

class SkippingClient(NotebookClient):
    "nbclient's `NotebookClient`, leaving `#| slow` and `#| eval: false` cells (and their outputs) as they are"
    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type == 'code' and SKIP.search(cell.source): return cell
        return await super().async_execute_cell(cell, cell_index, execution_count, store_history)

def run(path):
    nb = nbformat.read(path, as_version=4)
    try: SkippingClient(nb, timeout=1800, kernel_name='python3', resources={'metadata': {'path': str(NBS)}}).execute()
    except Exception as e: return f'{path.name}: {type(e).__name__}: {str(e).strip().splitlines()[-1][:300] if str(e).strip() else ""}'
    nbformat.write(nb, path)
    print(f'ran {path.name}', flush=True)

if __name__ == '__main__':
    sys.path.insert(0, str(Path(__file__).parent))
    from test_nbs import ordered
    names = sys.argv[1:]
    files = ordered([NBS/f'{n.removesuffix(".ipynb")}.ipynb' for n in names] if names else
                    [f for f in NBS.glob('*.ipynb') if not f.name.startswith('_')])
    fails = [r for r in parallel(run, files, n_workers=2, threadpool=True) if r]
    if fails: sys.exit('notebooks failed:\n' + '\n'.join(fails))
