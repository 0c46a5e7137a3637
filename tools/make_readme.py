"""Write README.md from nbs/index.ipynb without Quarto: hidden cells dropped, `#|` directives stripped.
(nbdev_readme needs Quarto, which cannot be installed offline; see nbs/index.ipynb.)"""
from pathlib import Path
import nbformat
from nbconvert import MarkdownExporter

root = Path(__file__).resolve().parent.parent
nb = nbformat.read(root/'nbs'/'index.ipynb', as_version=4)
cells = []
for c in nb.cells:
    lines = c.source.splitlines()
    dirs = [l[3:].strip() for l in lines if l.startswith('#|')]
    if any(d.startswith(('hide', 'eval: false', 'include: false')) for d in dirs): continue
    c.source = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
    cells.append(c)
nb.cells = cells
body, _ = MarkdownExporter().from_notebook_node(nb)
note = '<!-- generated from nbs/index.ipynb by tools/make_readme.py (make export); do not edit -->\n'
(root/'README.md').write_text(note + body.strip() + '\n')
print('README.md written')
