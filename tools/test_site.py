"""Check the built course website (docs/_site/, from `make docs`) in a real browser, offline.

Two parts; `make docs-test` runs both:
1. A static link check over the files: every internal href/src in every page names a file of the
   site, and every `#fragment` names an id on the page it points to. No browser needed (`--static`).
2. Playwright driving Debian's /usr/bin/chromium (never `playwright install`), against the site served
   on 127.0.0.1: every page opens with no console error and no failed request, every <img> loads, KaTeX (served from the site) typesets every formula,
   every internal link answers 200, the sidebar lists every page in reading order, no `#|` directive
   shows, no `#| hide` cell shows, `show_doc` output is rendered as API docs, the data page shows its crosstab table, the PCA
   page (nbs/06_interpret*.ipynb, when it exists) shows its figure, and the site search finds
   "crosstab" (and "weight decay" when a page has that text). Screenshots go to test_artifacts/.
The last line reads `site: N pages, M links, K images checked, F failed`; the exit status is 1 when F > 0.
"""
import argparse, functools, http.server, os, re, sys, threading, time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit, unquote
from urllib.request import urlopen
from urllib.error import HTTPError, URLError

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LINK_ATTRS = {'a': 'href', 'link': 'href', 'script': 'src', 'img': 'src', 'iframe': 'src', 'source': 'src'}

failures: list[str] = []
def check(ok, msg: str) -> bool:
    "Record a failure when `ok` is false; say what failed at once."
    if not ok:
        failures.append(msg)
        print(f'FAIL {msg}')
    return bool(ok)


# ---- 1. static link check ---------------------------------------------------------------------

class _Links(HTMLParser):
    "The internal links and the ids of one HTML page."
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ('id', 'name'):
            if a.get(k): self.ids.add(a[k])
        v = a.get(LINK_ATTRS.get(tag, ''))
        if v and not re.match(r'^([a-z][a-z0-9+.-]*:|//)', v, re.I): self.links.append(v)


@functools.cache
def _parse(path: Path) -> _Links:
    p = _Links()
    p.feed(path.read_text(encoding='utf-8', errors='replace'))
    return p


def static_links(site: Path) -> int:
    "Check every internal link of every page against the files of `site`; return how many were checked."
    n = 0
    for page in sorted(site.rglob('*.html')):
        for href in _parse(page).links:
            n += 1
            parts = urlsplit(href)
            target = page if not parts.path else (page.parent/unquote(parts.path)).resolve()
            if target.is_dir(): target = target/'index.html'
            rel = page.relative_to(site)
            if not check(target.is_file() and site.resolve() in target.resolve().parents,
                         f'{rel}: link {href} names no file of the site'): continue
            if parts.fragment and target.suffix == '.html':
                check(unquote(parts.fragment) in _parse(target).ids,
                      f'{rel}: link {href}: no id {parts.fragment!r} in {target.relative_to(site.resolve())}')
    return n


# ---- 2. browser -------------------------------------------------------------------------------

def serve(site: Path):
    "Serve `site` on 127.0.0.1, on a free port, from a thread; return the server."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):  # the browser closing a connection early is not a failure
            if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)): super().handle_error(request, client_address)
    srv = Server(('127.0.0.1', 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


_status: dict[str, int] = {}
def http_status(url: str) -> int:
    "The HTTP status of `url` (fragment dropped), fetched once."
    url = url.split('#')[0]
    if url not in _status:
        try:
            with urlopen(url, timeout=10) as r: _status[url] = r.status
        except HTTPError as e: _status[url] = e.code
        except URLError: _status[url] = 0
    return _status[url]


IMAGES_JS = """async () => {
  const imgs = [...document.images];
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  return imgs.map(i => ({src: (i.getAttribute('src') || '').slice(0, 60), w: i.naturalWidth}));
}"""
LINKS_JS = "() => [...document.querySelectorAll('a[href]')].map(a => a.href)"
SIDEBAR_JS = "() => [...document.querySelectorAll('#quarto-sidebar a.sidebar-link')].map(a => a.getAttribute('href'))"
APIDOCS_JS = """() => [...document.querySelectorAll('.cell-output-markdown')]
  .filter(d => d.querySelector('h2, h3, h4') && d.querySelector('pre')).length"""


def hidden_lines(site: Path) -> dict[str, list[str]]:
    "For each page built from nbs/<name>.ipynb: a telling line of each `#| hide` cell, found in no shown cell."
    import json
    res = {}
    for page in site.glob('*.html'):
        nb = ROOT/'nbs'/page.with_suffix('.ipynb').name
        if not nb.exists(): continue
        allc = json.loads(nb.read_text(encoding='utf-8'))['cells']
        cells = [c for c in allc if c['cell_type'] == 'code']
        src = lambda c: ''.join(c['source']).splitlines()
        hide = lambda c: c['cell_type'] == 'code' and any(re.match(r'#\|\s*(hide\s*$|include:\s*false)', l) for l in src(c))
        shown = '\n'.join(l for c in allc if not hide(c) for l in src(c))
        for c in filter(hide, cells):
            lines = sorted((l.strip() for l in src(c) if not l.startswith('#|') and len(l.strip()) >= 20
                            and l.strip() not in shown), key=len)
            if lines: res.setdefault(page.name, []).append(lines[-1])
    return res


def reading_order(pages: list[str]) -> list[str]:
    "index first, then by name: the order tools/build_docs.py writes the sidebar in."
    return sorted(pages, key=lambda n: (n != 'index.html', n))


def search(page, base: str, term: str) -> None:
    "Type `term` into the site search on the landing page; a result must show it and lead to a page that has it."
    page.goto(base + 'index.html')
    box = page.locator('.smalldocs-search input:visible, #quarto-search input:visible').first
    box.fill(term)
    try: page.wait_for_selector('.search-result', timeout=5000)
    except Exception:
        check(False, f'search {term!r}: no results'); return
    results = page.locator('.search-result')
    texts = [t.lower() for t in results.all_inner_texts()]
    hits = [i for i, t in enumerate(texts) if all(w in t for w in term.lower().split())]
    if not check(hits, f'search {term!r}: {len(texts)} results, none shows the term'): return
    href = results.nth(hits[0]).get_attribute('href')
    results.nth(hits[0]).click()
    page.wait_for_load_state('load')
    check(http_status(page.url) == 200 and term.lower() in page.inner_text('body').lower(),
          f'search {term!r}: the result {href} leads to {page.url}, which does not show it')
    print(f'search {term!r}: {len(texts)} results, first hit {href}')


def browser_checks(site: Path, out: Path) -> tuple[int, int, int]:
    "Open every page in Chromium; return (pages, internal links, images) checked."
    from playwright.sync_api import sync_playwright
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob('*.html'))
    srv = serve(site)
    base = f'http://127.0.0.1:{srv.server_address[1]}/'
    nlinks = nimgs = 0
    texts: dict[str, str] = {}
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={'width': 1280, 'height': 900})
        page = ctx.new_page()
        errors: list[str] = []
        page.on('console', lambda m: m.type == 'error' and errors.append(f'console: {m.text}'))
        page.on('pageerror', lambda e: errors.append(f'page error: {e}'))
        page.on('requestfailed', lambda r: errors.append(f'request failed: {r.url} {r.failure}'))
        page.on('response', lambda r: r.status >= 400 and errors.append(f'HTTP {r.status}: {r.url}'))
        hidden = hidden_lines(site)
        for name in pages:
            errors.clear()
            resp = page.goto(base + name, wait_until='load')
            check(resp is not None and resp.status == 200, f'{name}: HTTP {resp and resp.status}')
            imgs = page.evaluate(IMAGES_JS)
            page.wait_for_timeout(100)  # late console messages
            for e in errors: check(False, f'{name}: {e}')
            for im in imgs:
                nimgs += 1
                check(im['w'] > 0, f'{name}: image {im["src"]}... did not load')
            for href in page.evaluate(LINKS_JS):
                if not href.startswith(base): continue
                nlinks += 1
                check(http_status(href) == 200, f'{name}: link {href[len(base):]} answers {http_status(href)}')
            text = texts[name] = page.inner_text('body')
            check('#|' not in text, f'{name}: a `#|` directive shows')
            flat = ' '.join(text.split())
            for line in hidden.get(name, []):
                check(' '.join(line.split()) not in flat, f'{name}: a hidden cell shows: {line!r}')
            check(page.title().strip(), f'{name}: no title')
            nmath = page.locator('.math').count()
            if nmath: check(page.locator('.math .katex').count() == nmath,
                            f'{name}: {nmath} formulas, {page.locator(".math .katex").count()} typeset by KaTeX')
        # the sidebar: every page, in reading order
        page.goto(base + 'index.html')
        side = [h.split('#')[0] for h in page.evaluate(SIDEBAR_JS) if h]  # a section title (Part I, Part II) is a link with no page
        check(side == reading_order(pages), f'sidebar {side} is not every page in reading order {reading_order(pages)}')
        page.screenshot(path=str(out/'landing.png'))
        # show_doc output rendered as API docs somewhere
        ndocs = 0
        for name in pages:
            page.goto(base + name)
            ndocs += page.evaluate(APIDOCS_JS)
        check(ndocs > 0, 'no show_doc output (a heading and a signature) on any page')
        # the data page: its crosstab, a table
        data = [n for n in pages if re.match(r'00_data', n)]
        if check(data, 'no 00_data page'):
            page.goto(base + data[0])
            if check(page.locator('table').count() > 0, f'{data[0]}: no table (the crosstab)'):
                page.locator('table').last.scroll_into_view_if_needed()
            page.screenshot(path=str(out/'data.png'))
            check('crosstab' in texts[data[0]].lower(), f'{data[0]}: no mention of the crosstab')
        # the PCA page, when its notebook exists: its figure
        pca = [n for n in pages if re.match(r'06_interpret', n)]
        if pca:
            page.goto(base + pca[0])
            imgs = page.locator('img')
            if check(imgs.count() > 0, f'{pca[0]}: no <img> (the PCA plot); are its outputs saved in the notebook?'):
                page.evaluate(IMAGES_JS)
                imgs.first.scroll_into_view_if_needed()
                check(imgs.first.evaluate('i => i.naturalWidth') > 0, f'{pca[0]}: its figure did not load')
            page.screenshot(path=str(out/'pca.png'))
        # search: the mechanism, with a term there now; "weight decay" once a page has it
        search(page, base, 'crosstab')
        if any('weight decay' in t.lower() for t in texts.values()): search(page, base, 'weight decay')
        else: print('search "weight decay": skipped, no page has the text yet')
        browser.close()
    srv.shutdown()
    return len(pages), nlinks, nimgs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--site', default=str(ROOT/'docs'/'_site'), help='the built site')
    ap.add_argument('--out', default=str(ROOT/'test_artifacts'), help='where the screenshots go')
    ap.add_argument('--static', action='store_true', help='the static link check only, no browser')
    a = ap.parse_args()
    site = Path(a.site).resolve()
    if not (site/'index.html').is_file():
        print(f'test_site: no {site}/index.html: run `make docs` first', file=sys.stderr); return 1
    t0 = time.time()
    nstatic = static_links(site)
    npages = len(list(site.rglob('*.html')))
    print(f'static link check: {nstatic} internal links in {npages} pages, '
          f'{sum(f.find(" link ") > 0 for f in failures)} broken')
    nlinks = nimgs = 0
    if not a.static:
        npages, nlinks, nimgs = browser_checks(site, Path(a.out))
        print(f'screenshots in {Path(a.out).relative_to(ROOT) if ROOT in Path(a.out).resolve().parents else a.out}/ '
              f'({time.time()-t0:.0f}s)')
    print(f'site: {npages} pages, {nlinks or nstatic} links, {nimgs} images checked, {len(failures)} failed')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
