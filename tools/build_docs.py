"""Build the course website into docs/_site/ from the notebooks in nbs/, offline and without Quarto.

1. nbdev 2 processes the notebooks into `_proc/` (`nbdev.serve.proc_nbs`, what `nbdev_proc_nbs` runs
   after trying to install Quarto): directives applied, hidden cells dropped, `show_doc` rendered.
   Only the import and `show_doc` cells run; every other output is the one saved in the notebook.
   Then, in `_proc/`: outputs that would show as empty boxes are dropped (`drop_empty_outputs`), `nn.`/`F.` names
   link to PyTorch's docs (`link_torch_aliases`), `show_doc` output is re-rendered as nbdev's Quarto pages show it:
   signature without comments, docstring, parameter table (`api_docs`), and links to the API docs made local.
2. The site's sources in docs/ (`_quarto.yml`, `styles.css`, the favicon) are copied beside them, with
   `nbdev.yml` written from settings.ini and `sidebar.yml` listing the notebooks in reading order, in three parts (`sidebar_yml`).
3. smalldocs (pure Python, reads a Quarto project as is) renders `_proc/` into docs/_site/.
   Then, on the built HTML: what it takes from the web is served from the site (`make_offline`); only the theme in use
   loads before the first paint, landmarks are labelled, tables of contents break names only at `.`, `_` and CamelCase humps (`polish_pages`).

Nothing under nbs/ or collab_lib/ is written: `refresh_quarto_yml` (writes nbs/_quarto.yml, nbs/nbdev.yml)
and `_build_modidx` (rewrites collab_lib/_modidx.py; `make export` does that) are left out on purpose.
Usage: `python tools/build_docs.py` (or `make docs`); then `python -m http.server -d docs/_site` and open
http://localhost:8000 (opened as files, the pages work but the search cannot load its index).
"""
import inspect, os, re, shutil, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS, SITE, PROC = ROOT/'docs', ROOT/'docs'/'_site', ROOT/'_proc'


def reading_order(nbs: Path) -> list[str]:
    "The notebooks of the course, `index.ipynb` first, then by name (`00_`, `01_`, `01a_`, ...); scratch `_*` left out."
    names = sorted(p.name for p in nbs.glob('*.ipynb') if not p.name.startswith(('_', '.')))
    return sorted(names, key=lambda n: (n != 'index.ipynb', n))


def yaml_str(s) -> str:
    "A YAML double-quoted scalar."
    return '"' + str(s).replace('\\', '\\\\').replace('"', '\\"') + '"'


def local_doclinks(cfg, nbs: dict) -> int:
    "Point nbdev's links to the API docs (`{doc_host}{doc_baseurl}/<output-file>#sym`) at this site's pages instead."
    import yaml
    base = (cfg.doc_host + cfg.doc_baseurl).rstrip('/') + '/'
    pages = {}  # nbdev names a page after its module (`output-file: data.html`); smalldocs after its notebook
    for n, nb in nbs.items():
        c = nb.cells[0] if nb.cells else None
        if c is not None and c.cell_type == 'raw' and c.source.startswith('---'):
            out = (yaml.safe_load(c.source.strip().strip('-')) or {}).get('output-file')
            if out: pages[out] = Path(n).with_suffix('.html').as_posix()
    pat = re.compile(re.escape(base) + r'([\w./-]+\.html)(?=[#)"\'\s]|$)')
    count = 0
    def fix(m):
        nonlocal count
        if m.group(1) not in pages: return m.group(0)
        count += 1
        return pages[m.group(1)]
    def walk(o):
        if isinstance(o, str): return pat.sub(fix, o)
        if isinstance(o, list): return [walk(x) for x in o]
        if isinstance(o, dict): return {k: walk(v) for k, v in o.items()}
        return o
    for nb in nbs.values():
        for c in nb.cells:
            c.source = walk(c.source)
            if c.get('outputs'): c.outputs = walk(c.outputs)
    return count


_SHOW_DOC = re.compile(r'^---\s*\n(?:\s*\[source\]\((?P<src>[^)\s]+)\)\{[^}]*\}\s*\n)?\s*(?P<h>#{1,6}) (?P<nm>[\w.]+)\s*\n\s*```python\n.*?\n```\s*(?:\n(?P<doc>.*))?\Z', re.S)

def _anno(a) -> str:
    "An annotation as written in code: `int`, `pd.DataFrame`, `str|None`."
    if a is inspect.Parameter.empty: return ''
    if isinstance(a, str): return a
    if isinstance(a, type) or inspect.isfunction(a): return a.__name__   # a function: fastcore.script's `store_true`
    return inspect.formatannotation(a).replace('typing.', '')

def _default(d) -> str:
    if d is inspect.Parameter.empty: return ''
    return getattr(d, '__name__', None) if callable(d) and hasattr(d, '__name__') else repr(d)

def signature_md(sym, name: str, width: int = 80) -> str:
    "`sym`'s signature as code, without comments: `def f(a, b:int=1)->str` or `class C(a, b=1)`, wrapped when long."
    kind = 'class' if inspect.isclass(sym) else 'def'
    try: sig = inspect.signature(sym)
    except (TypeError, ValueError): return f'```python\n{kind} {name}\n```'
    ps = []
    for p in sig.parameters.values():
        if p.name in ('self', 'cls'): continue
        s = {p.VAR_POSITIONAL: '*', p.VAR_KEYWORD: '**'}.get(p.kind, '') + p.name
        if (a := _anno(p.annotation)): s += f':{a}'
        if p.default is not p.empty: s += f'={_default(p.default)}'
        ps.append(s)
    ret = '' if kind == 'class' or sig.return_annotation is sig.empty else f'->{_anno(sig.return_annotation)}'
    short = name.split('.')[-1] if kind == 'def' and '.' in name else name
    one = f'{kind} {short}({", ".join(ps)}){ret}'
    if len(one) <= width or not ps: return f'```python\n{one}\n```'
    lines = ['']   # too long for one line: the parameters packed into indented lines of at most `width`
    for p in ps:
        if lines[-1] and len(lines[-1]) + len(p) + 2 > width - 4: lines.append('')
        lines[-1] += ('' if not lines[-1] else ' ') + p + ','
    return f'```python\n{kind} {short}(\n' + ''.join(f'    {l}\n' for l in lines) + f'){ret}\n```'

def _cell(s) -> str: return ' '.join(str(s).split()).replace('|', '\\|')

def params_md(sym) -> str:
    "A parameter table (name, type, default, details) from `sym`'s signature and its docments, as nbdev's Quarto pages show; '' when nothing to say."
    from fastcore.docments import docments
    try: sig, dm = inspect.signature(sym), docments(sym, full=True, args_kwargs=True)
    except (TypeError, ValueError, OSError, SyntaxError): return ''
    rows = [(f'`{p.name}`', _anno(p.annotation), _default(p.default), (dm.get(p.name) or {}).get('docment') or '')
            for p in sig.parameters.values() if p.name not in ('self', 'cls')]
    if not inspect.isclass(sym):
        ret = (_anno(sig.return_annotation) if sig.return_annotation is not sig.empty else '', (dm.get('return') or {}).get('docment') or '')
        if any(ret): rows.append(('**Returns**', ret[0], '', ret[1]))
    if not any(r[3] for r in rows): return ''   # no parameter is documented: the signature says it all
    cols = (1, 2) if any(r[1] for r in rows) else (2,)   # nbdev's columns, less an empty Type column (it squeezed the names)
    head = ['', *('**' + ('Type', 'Default')[i-1] + '**' for i in cols), '**Details**']
    body = [[r[0], *(_cell(r[i]) for i in cols), _cell(r[3])] for r in rows]
    return '\n'.join('| ' + ' | '.join(r) + ' |' for r in [head, ['---'] * len(head), *body])

def _resolve(name: str, src: str | None, modules: list[str]):
    "The object a `show_doc` heading names: from the module of its source link, else from the notebook's `from X import *` modules."
    import importlib
    mods = []
    if src and (m := re.search(r'/blob/[^/]+/(.+?)\.py(?:#|$)', src)): mods.append(m.group(1).replace('/', '.'))
    for mod in mods + modules:
        try: o = importlib.import_module(mod)
        except Exception: continue
        for part in name.split('.'):
            o = getattr(o, part, None)
            if o is None: break
        if o is not None: return o
    return None

def api_docs(nbs: dict, lookup) -> tuple[int, list[str]]:
    """Re-render nbdev's `show_doc` output as its Quarto pages show it: a heading, the signature without comments,
    the docstring, and a parameter table from the docments whose cross-references are links. Returns (rendered, unresolved)."""
    done, missed = 0, []
    for n, nb in nbs.items():
        modules = [m for c in nb.cells if c.cell_type == 'code' for m in re.findall(r'^from ([\w.]+) import \*', c.source, re.M)]
        for c in nb.cells:
            for o in c.get('outputs', []):
                md = o.get('data', {}).get('text/markdown')
                if md is None: continue
                text = ''.join(md) if isinstance(md, list) else md
                m = _SHOW_DOC.match(text)
                if not m: continue
                sym = _resolve(m['nm'], m['src'], modules)
                if sym is None: missed.append(f'{n}: {m["nm"]}'); continue
                src = (f'<a class="sd-source-link" href="{m["src"]}" target="_blank" rel="noopener" aria-label="source of {m["nm"]} on GitHub"></a>\n\n'
                       if m['src'] else '')
                doc = (m['doc'] or '').strip()  # nbdev has linked its names already
                parts = ['---', src + f'{m["h"]} {m["nm"]}', signature_md(sym, m['nm']), doc, lookup.linkify(params_md(sym))]
                o['data']['text/markdown'] = '\n\n'.join(p for p in parts if p) + '\n'
                done += 1
    return done, missed


def _style_only(o) -> bool:
    "An output that shows nothing: HTML that is only a `<style>` block (fastprogress sends one before its table)."
    d = o.get('data', {})
    h = d.get('text/html')
    if o.get('output_type') not in ('display_data', 'execute_result') or h is None or set(d) - {'text/html', 'text/plain'}: return False
    h = ''.join(h) if isinstance(h, list) else h
    return not re.sub(r'<style\b.*?</style>', '', h, flags=re.S | re.I).strip()

def drop_empty_outputs(nbs: dict) -> int:
    "Drop outputs that would render as empty boxes (a `<style>` and nothing else); the styled tables get styles.css's. Returns how many."
    n = 0
    for nb in nbs.values():
        for c in nb.cells:
            if c.get('outputs'):
                keep = [o for o in c.outputs if not _style_only(o)]
                n += len(c.outputs) - len(keep); c.outputs = keep
    return n


TORCH_ALIASES = {'nn': 'torch.nn', 'F': 'torch.nn.functional'}  # as the notebooks import them

def link_torch_aliases(nbs: dict, lookup) -> int:
    """Link backticked `nn.Embedding` and `F.embedding` in the text to PyTorch's docs, as nbdev links `torch.nn.Embedding`
    (nbdev-pytorch's index knows full names only; nbdev's own pass has already run, so linked names are left alone)."""
    n = 0
    pat = re.compile(r'(?<!\[)`((' + '|'.join(TORCH_ALIASES) + r')\.[\w.]+)`(?!\])')
    def link(m):
        nonlocal n
        full = TORCH_ALIASES[m.group(2)] + m.group(1)[len(m.group(2)):]
        url = lookup.doc(full)
        if not url:  # re-exported names are indexed where they are defined: torch.nn.Parameter is torch.nn.parameter.Parameter
            pre, _, tail = full.rpartition('.')
            where = sorted((k for k in lookup.syms if k.startswith(pre + '.') and k.endswith('.' + tail)), key=len)
            url = lookup.doc(where[0]) if where else None
        if not url: return m.group(0)
        n += 1
        return f'[`{m.group(1)}`]({url})'
    for nb in nbs.values():
        for c in nb.cells:
            if c.cell_type != 'markdown': continue
            parts = re.split(r'(^```.*?^```)', c.source, flags=re.S | re.M)   # not inside code fences
            c.source = ''.join(p if p.startswith('```') else pat.sub(link, p) for p in parts)
    return n


def write_config(cfg, names: list[str]) -> None:
    "Copy docs/ into `_proc/`; write `nbdev.yml` (nbdev's website settings from settings.ini, and the version in the footer) and `sidebar.yml`."
    for f in DOCS.iterdir():
        if f.name in ('_site', '_vendor') or f.name.startswith('.'): continue
        (shutil.copytree(f, PROC/f.name, dirs_exist_ok=True) if f.is_dir() else shutil.copy2(f, PROC/f.name))
    (PROC/'nbdev.yml').write_text('\n'.join([
        'website:',
        f'  title: {yaml_str(cfg.title)}',
        f'  site-url: {yaml_str(cfg.doc_host + cfg.doc_baseurl)}',
        f'  description: {yaml_str(cfg.description)}',
        f'  repo-branch: {cfg.branch}',
        f'  repo-url: {yaml_str(cfg.git_url)}',
        '  page-footer:',
        f'    left: {yaml_str(f"{cfg.lib_name} {cfg.version}")}',
        f'    right: {yaml_str(f"Built with nbdev and smalldocs from the notebooks in {cfg.nbs_path.name}/")}', '']))
    (PROC/'sidebar.yml').write_text(sidebar_yml(names))


PARTS = (('Part I: the chapter', lambda n: n[:2] < '10'), ('Part II: going further', lambda n: '10' <= n[:2] < '50'),
         ('The library', lambda n: n[:2] >= '50'))

def sidebar_yml(names: list[str]) -> str:
    "The sidebar: the index, then the notebooks numbered 00-09 (Part I, the book's chapter), 10-49 (Part II) and 50 on (the library's reference notebooks) as three sections"
    lines = ['website:', '  sidebar:', '    contents:'] + [f'      - {n}' for n in names if not n[:2].isdigit()]
    for title, keep in PARTS:
        lines += [f'      - section: "{title}"', '        contents:'] + [f'          - {n}' for n in names if n[:2].isdigit() and keep(n)]
    return '\n'.join(lines) + '\n'


def make_offline(site: Path) -> list[str]:
    "Serve from the site what smalldocs takes from the web: KaTeX (from docs/_vendor/) and the theme's Google font."
    from smalldocs.layout import KATEX  # e.g. https://cdn.jsdelivr.net/npm/katex@0.16.11/dist
    problems = []
    vendored = DOCS/'_vendor'/'katex'
    if '0.16.11' not in KATEX: problems.append(f'smalldocs now links {KATEX}; vendor that version in {vendored}')
    shutil.copytree(vendored, site/'site_libs'/'katex', ignore=shutil.ignore_patterns('*.md'))
    for css in (site/'site_libs').rglob('*.css'):  # the Bootswatch themes @import their web font
        t = css.read_text(encoding='utf-8')
        t2 = re.sub(r'@import\s+url\(["\']?https?://fonts\.googleapis\.com[^)]*\)\s*;?', '', t)
        if t2 != t: css.write_text(t2, encoding='utf-8')
    loads = re.compile(r'<(?:script|img|iframe)\b[^>]*\bsrc="(https?:)?//[^"]*"|<link\b(?=[^>]*rel="(?:stylesheet|icon|preload|modulepreload)")'
                       r'[^>]*href="(?:https?:)?//[^"]*"|import\s[^;]*from\s*[\'"]https?://[^\'"]*')
    for page in site.rglob('*.html'):
        up = '../' * (len(page.relative_to(site).parts) - 1)
        t = page.read_text(encoding='utf-8')
        t2 = t.replace(KATEX, f'{up}site_libs/katex')
        if t2 != t: page.write_text(t2, encoding='utf-8')
        problems += [f'{page.relative_to(site)} loads {m.group(0)[:120]}' for m in loads.finditer(t2)]
    return problems


# the head script of every page: the theme in use (the reader's stored choice, else the browser's preference, as
# smalldocs' own head script decides) gets its stylesheet back, render-blocking; the other waits for zoom.html
THEME_JS = ("<script>(function(){var s=null;try{s=localStorage.getItem('smalldocs-scheme')}catch(e){}"
            "var alt=s?s==='alternate':!!(window.matchMedia&&matchMedia('(prefers-color-scheme: dark)').matches);"
            "var l=document.querySelectorAll('link.quarto-color-scheme[data-href]')[alt?1:0];"
            "if(l){l.setAttribute('blocking','render');l.href=l.dataset.href;l.removeAttribute('data-href')}})();</script>")
LANDMARKS = {'<nav class="navbar ': '<nav aria-label="Site" class="navbar ',
             '<nav class="quarto-secondary-nav">': '<nav aria-label="Page header" class="quarto-secondary-nav">',
             '<nav id="quarto-sidebar" ': '<nav id="quarto-sidebar" aria-label="Chapters" ',
             '<nav id="TOC" role="doc-toc"': '<nav id="TOC" role="doc-toc" aria-label="On this page"',
             '<nav id="TOC-body" role="doc-toc"': '<nav id="TOC-body" role="doc-toc" aria-label="On this page (top)"',
             '<nav class="page-navigation">': '<nav aria-label="Previous and next page" class="page-navigation">',
             '<div id="quarto-margin-sidebar" ': '<div id="quarto-margin-sidebar" role="complementary" aria-label="Contents and links" '}

def _toc_breaks(m) -> str:
    "A table of contents with a line-break opportunity (`<wbr>`) after each `.` and `_` inside a name and between the words of a CamelCase name, in link text only"
    return re.sub(r'(<a\b[^>]*>)(.*?)(</a>)', lambda a: a.group(1) + re.sub(r'(?:(?<=[._])(?=\w)|(?<=[a-z])(?=[A-Z]))(?![^<]*>)', '<wbr>', a.group(2)) + a.group(3),
                  m.group(0), flags=re.S)

def polish_pages(site: Path) -> None:
    """What smalldocs' pages lack, done on the built HTML:
    1. only the theme in use loads before the first paint: both theme stylesheets lose `href` (kept as `data-href`),
       THEME_JS gives it back to the active one, zoom.html loads the other when the reader reaches for the toggle
       (a `<noscript>` keeps the light theme without JavaScript);
    2. landmarks a screen reader can tell apart (axe-core's `landmark-unique`, `region`): each `nav` labelled, the margin
       (table of contents and the issue link) a complementary landmark, the sidebar's section toggles buttons, not navigation;
    3. names in the tables of contents break after `.` or `_` (`Recommender.<wbr>from_<wbr>learner`) or between the words of
       a CamelCase name (`Collab<wbr>Tensor<wbr>Data<wbr>Loaders`), never inside a word."""
    theme = re.compile(r'<link rel="stylesheet" href="([^"]*)"(?=[^>]*class="quarto-color-scheme)')
    for page in site.rglob('*.html'):
        t = page.read_text(encoding='utf-8')
        hrefs = theme.findall(t)
        if hrefs:
            t = theme.sub(r'<link rel="stylesheet" data-href="\1"', t)
            last = t.index('>', t.rindex('class="quarto-color-scheme')) + 1
            t = t[:last] + THEME_JS + f'<noscript><link rel="stylesheet" href="{hrefs[0]}"></noscript>' + t[last:]
        for a, b in LANDMARKS.items(): t = t.replace(a, b)
        t = re.sub(r'(<a class="sidebar-item-(?:text sidebar-link|toggle) text-start" data-bs-toggle="collapse"[^>]*?) role="navigation"',
                   r'\1 role="button"', t)
        t = re.sub(r'<nav id="TOC(?:-body)?".*?</nav>', _toc_breaks, t, flags=re.S)
        page.write_text(t, encoding='utf-8')


def main() -> int:
    os.chdir(ROOT)  # nbdev finds settings.ini from the working directory
    from nbdev.config import get_config
    from nbdev.serve import proc_nbs
    cfg = get_config()
    nbs = cfg.nbs_path
    names = reading_order(nbs)
    t0 = time.time()
    # force: start from an empty _proc/, so a renamed or deleted notebook leaves no stale page and
    # show_doc output follows the current library even when its notebook did not change
    # in this process (n_workers=0): `make test` builds the site while the notebooks fill both cores, and a worker process
    # would import fastai and the notebooks' libraries a second time (this process needs them for the API tables below)
    try: proc_nbs(nbs, n_workers=0, force=True)
    except Exception as e:  # nbdev re-runs import and show_doc cells against the installed collab_lib
        print(f'build_docs: nbdev could not process the notebooks (is collab_lib in sync? `make export`):\n{e}',
              file=sys.stderr)
        return 1
    t1 = time.time()
    missing = [n for n in names if not (PROC/n).exists()]
    if missing: print(f'build_docs: nbdev did not process {missing}', file=sys.stderr); return 1
    sys.path.insert(0, str(ROOT))  # as the notebooks do: the benchmark's code (bench/) lives beside the package
    from execnb.nbio import read_nb, write_nb
    from nbdev.doclinks import NbdevLookup
    nbs, lookup = {n: read_nb(PROC/n) for n in names}, NbdevLookup()   # read once; each step edits them in memory
    nempty = drop_empty_outputs(nbs)
    ntorch = link_torch_aliases(nbs, lookup)
    ndocs, missed = api_docs(nbs, lookup)
    for m in missed: print(f'build_docs: show_doc output of {m} left as nbdev wrote it (name not found)', file=sys.stderr)
    nlinks = local_doclinks(cfg, nbs)
    for n, nb in nbs.items(): write_nb(nb, PROC/n)
    write_config(cfg, names)
    if SITE.exists(): shutil.rmtree(SITE)
    from smalldocs.site import build
    site = build(PROC, quiet=True)
    offline = make_offline(SITE)
    polish_pages(SITE)
    t2 = time.time()
    noise = ('output-file is not read',)  # nbdev's module page names; pages here keep the notebook's name
    for w in site.warnings:
        if not any(x in w for x in noise): print(f'build_docs: smalldocs warning: {w}', file=sys.stderr)
    broken = [w for w in site.warnings if 'broken link' in w]
    pages = sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob('*.html'))
    print(f'build_docs: processed {len(names)} notebooks in {t1-t0:.1f}s, rendered in {t2-t1:.1f}s; '
          f'{ndocs} API docs rendered, {nlinks} API doc links made local, {ntorch} nn./F. names linked to PyTorch, {nempty} empty outputs dropped')
    print(f'build_docs: {len(pages)} pages in {SITE.relative_to(ROOT)}/; to read it: '
          f'python -m http.server -d docs/_site, then open http://localhost:8000')
    for o in offline: print(f'build_docs: not offline: {o}', file=sys.stderr)
    if broken or offline:
        print(f'build_docs: {len(broken)} broken links, {len(offline)} resources from the web', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':  # proc_nbs starts its workers with `spawn`, which re-imports this file
    sys.exit(main())
