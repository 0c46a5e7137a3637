"""Write README.md from nbs/index.ipynb without Quarto: hidden cells dropped, `#|` directives stripped, DataFrames as
Markdown tables (a code host shows no HTML tables or styles). (nbdev_readme needs Quarto, which cannot be installed offline.)"""
import re
from html.parser import HTMLParser
from pathlib import Path
import nbformat
from nbconvert import MarkdownExporter

class _Table(HTMLParser):
    "The rows of the first HTML table (pandas' `to_html`), each a list of cell texts"
    def __init__(self):
        super().__init__(); self.rows, self.cell = [], None
    def handle_starttag(self, tag, attrs):
        if tag == 'tr': self.rows.append([])
        elif tag in ('td', 'th'): self.cell = []
    def handle_endtag(self, tag):
        if tag in ('td', 'th') and self.cell is not None:
            self.rows[-1].append(' '.join(''.join(self.cell).split()).replace('|', '\\|')); self.cell = None
    def handle_data(self, data):
        if self.cell is not None: self.cell.append(data)

def md_table(html):
    "A DataFrame's HTML as a Markdown table (the index name's own header row, if any, folded into the first)"
    p = _Table(); p.feed(html); rows = [r for r in p.rows if r]
    if len(rows) > 1 and not rows[0][0] and rows[1] and not any(rows[1][1:]): rows[0][0] = rows[1][0]; del rows[1]
    n = max(map(len, rows)); rows = [r + [''] * (n - len(r)) for r in rows]
    return '\n'.join(['| ' + ' | '.join(rows[0]) + ' |', '|' + '---|' * n] + ['| ' + ' | '.join(r) + ' |' for r in rows[1:]])

root = Path(__file__).resolve().parent.parent
nb = nbformat.read(root/'nbs'/'index.ipynb', as_version=4)
cells = []
for c in nb.cells:
    lines = c.source.splitlines()
    dirs = [l[3:].strip() for l in lines if l.startswith('#|')]
    if any(d.startswith(('hide', 'eval: false', 'include: false')) for d in dirs): continue
    c.source = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
    for o in c.get('outputs', []):
        html = o.get('data', {}).get('text/html')
        if html and '<table' in html: o.data = {'text/markdown': md_table(html)}
    cells.append(c)
nb.cells = cells
body, _ = MarkdownExporter().from_notebook_node(nb)
note = '<!-- generated from nbs/index.ipynb by tools/make_readme.py (make export); do not edit -->\n'
body = re.sub(r'\]\(([\w.-]+\.ipynb)', r'](nbs/\1', body)   # the notebooks' links, from the repository's root
(root/'README.md').write_text(note + body.strip() + '\n')
print('README.md written')
