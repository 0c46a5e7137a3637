"""The course website (docs/_site/, or $SITE_DIR) in a real browser, offline: what a reader would trip over.

Each test is one contract of the site; a test over pages runs once per page and is named after it
(`test_images_load[03_bias-chromium]`). The facts come from one visit per page and viewport (conftest.py).
"""
import ast, configparser, functools, json, re, tokenize
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlsplit
from urllib.request import urlopen

import pytest

from conftest import CONTRAST_JS, AXE_LOG, AXE_OPTIONS, AXE_START_JS, PAGES, ROOT, SCREENSHOT_PAGES, SCROLL_TO_FIGURE, VIEWPORTS, axe_scan, axe_script

pytestmark = pytest.mark.site   # every test of this folder: `pytest tests -m "not site"` leaves them out

SERIOUS = ('serious', 'critical')


def find_page(prefix: str) -> str | None:
    "The page whose file name starts with `prefix` (`06_interpret` -> `06_interpret.html`)."
    return next((p for p in PAGES if p.startswith(prefix)), None)


def reading_order(pages: list[str]) -> list[str]:
    "index first, then by name: the order tools/build_docs.py writes the sidebar in."
    return sorted(pages, key=lambda n: (n != 'index.html', n))


def short(s: str, n: int = 70) -> str: return ' '.join(str(s).split())[:n]


# ---- 1. the files: every internal link and anchor resolves ---------------------------------------

LINK_ATTRS = {'a': 'href', 'link': 'href', 'script': 'src', 'img': 'src', 'iframe': 'src', 'source': 'src'}

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
def parse_html(path: Path) -> _Links:
    p = _Links()
    p.feed(path.read_text(encoding='utf-8', errors='replace'))
    return p


def test_static_links_resolve(page_name, site_dir):
    "A link, script or image naming a file the site lacks (a 404), or a #fragment naming no id (a jump to nowhere)."
    page, site, bad = site_dir/page_name, site_dir.resolve(), []
    for href in parse_html(page).links:
        parts = urlsplit(href)
        target = page if not parts.path else (page.parent/unquote(parts.path)).resolve()
        if target.is_dir(): target = target/'index.html'
        if not (target.is_file() and site in target.resolve().parents):
            bad.append(f'{href}: no such file'); continue
        if parts.fragment and target.suffix == '.html' and unquote(parts.fragment) not in parse_html(target).ids:
            bad.append(f'{href}: no id {parts.fragment!r} in {target.relative_to(site)}')
    assert not bad, f'{len(bad)} broken internal links: {bad[:8]}'


# ---- the browser: the page itself ------------------------------------------------------------------

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


def test_page_answers_200_with_title(page_name, desktop):
    "A page that does not open, or opens with no <title> (a blank browser tab, an unnamed bookmark)."
    f = desktop(page_name)
    assert f['status'] == 200, f'HTTP {f["status"]}'
    assert f['title'].strip(), 'no <title>'


def test_no_console_errors_or_failed_requests(page_name, desktop):
    "A script error, a missing stylesheet or font, a request that fails: a page that looks or behaves broken."
    assert not desktop(page_name)['errors'], desktop(page_name)['errors'][:5]


def test_images_load(page_name, desktop):
    "A broken image icon where a figure should be."
    broken = [f'{im["src"]}... at {im["where"]}' for im in desktop(page_name)['images'] if im['hasSrc'] and im['natural'] <= 0]
    assert not broken, f'{len(broken)} images did not load: {broken[:5]}'


def test_katex_typesets_every_formula(page_name, desktop):
    "Raw LaTeX (\\(x^2\\)) shown instead of a formula: KaTeX missing or failing."
    f = desktop(page_name)
    assert not f['untypeset'], f'{len(f["untypeset"])} of {f["math"]} formulas not typeset by KaTeX: {f["untypeset"][:3]}'


def test_internal_links_answer_200(page_name, desktop, site_url):
    "A link that leads the reader to an error page."
    links = sorted({h.split('#')[0] for h in desktop(page_name)['links'] if h.startswith(site_url)})
    bad = [f'{h[len(site_url):]} answers {http_status(h)}' for h in links if http_status(h) != 200]
    assert not bad, bad[:8]


def test_sidebar_lists_every_page_in_reading_order(desktop):
    "A page the reader cannot reach from the sidebar, or a course out of order."
    side, want = [h.split('#')[0] for h in desktop('index.html')['sidebar']], reading_order(PAGES)
    first = next((i for i, (a, b) in enumerate(zip(side, want)) if a != b), min(len(side), len(want)))
    assert side == want, (f'sidebar link {first + 1} is {side[first] if first < len(side) else "missing"}, want '
                          f'{want[first] if first < len(want) else "none"}; missing {sorted(set(want) - set(side))}, '
                          f'not pages {sorted(set(side) - set(want))}')


def test_no_directive_text(page_name, desktop):
    "nbdev's `#|` cell directives shown to the reader as code."
    lines = [l for l in desktop(page_name)['bodyInner'].splitlines() if '#|' in l]
    assert not lines, f'`#|` shows: {lines[:3]}'


@functools.cache
def hidden_lines() -> dict[str, list[str]]:
    "For each page built from nbs/<name>.ipynb: a telling line of each `#| hide` cell, found in no shown cell."
    res = {}
    for name in PAGES:
        nb = ROOT/'nbs'/Path(name).with_suffix('.ipynb').name
        if not nb.exists(): continue
        allc = json.loads(nb.read_text(encoding='utf-8'))['cells']
        src = lambda c: ''.join(c['source']).splitlines()
        hide = lambda c: c['cell_type'] == 'code' and any(re.match(r'#\|\s*(hide\s*$|include:\s*false)', l) for l in src(c))
        shown = '\n'.join(l for c in allc if not hide(c) for l in src(c))
        for c in filter(hide, allc):
            lines = sorted((l.strip() for l in src(c) if not l.startswith('#|') and len(l.strip()) >= 20
                            and l.strip() not in shown), key=len)
            if lines: res.setdefault(name, []).append(lines[-1])
    return res


def test_no_hidden_cell_text(page_name, desktop):
    "A `#| hide` cell (setup, test scaffolding) shown on the page."
    flat = ' '.join(desktop(page_name)['bodyInner'].split())
    shown = [l for l in hidden_lines().get(page_name, []) if ' '.join(l.split()) in flat]
    assert not shown, f'hidden cells show: {shown[:3]}'


def test_generated_paragraphs_shown_once(page_name, desktop):
    "A paragraph a cell writes (`Markdown(f...)`) shown twice: as its source and as its text (the source needs `#| echo: false`)."
    code = [l.strip() for l in desktop(page_name)['bodyInner'].splitlines() if re.search(r'\bMarkdown\(f?["\']', l)]
    assert not code, f'generated paragraphs show their source: {[short(l) for l in code[:3]]}'


PART_I = tuple(f'{n:02d}_' for n in range(10)) + ('09a_',)

def test_lessons_free_of_build_chatter(page_name, desktop):
    "A lesson of Part I that talks to the reader about our build: `make` targets or the saved results' paths."
    if not page_name.startswith(PART_I): pytest.skip('Part I lessons only')
    text = desktop(page_name)['bodyInner']
    found = sorted({m.group(0) for m in re.finditer(r'make (test|results|outputs|bench\S*)|results/\S+', text)})
    assert not found, f'build chatter: {found[:5]}'


def test_lessons_import_the_library_by_name(page_name, desktop):
    "A lesson of Part I whose code star-imports a collab_lib module: the book imports two fastai modules, and each lesson shows the library names it uses."
    if not page_name.startswith(PART_I): pytest.skip('Part I lessons only')
    found = sorted(set(re.findall(r'from collab_lib\.\w+ import \*', desktop(page_name)['bodyInner'])))
    assert not found, f'star imports of the library shown: {found[:5]}'


def test_show_doc_output_rendered(desktop):
    "`show_doc` output left as raw markdown (no API docs on any page: nbdev's processing did not run)."
    assert sum(len(desktop(p)['apidocs']) for p in PAGES) > 0, 'no show_doc output (a heading and a signature) on any page'


def test_data_page_shows_the_crosstab(desktop):
    "The data page without its crosstab table, the picture the whole chapter starts from."
    name = find_page('00_data')
    assert name, 'no 00_data page'
    f = desktop(name)
    assert f['tables'], f'{name}: no table (the crosstab)'
    assert 'crosstab' in f['bodyInner'].lower(), f'{name}: no mention of the crosstab'


def test_pca_page_shows_its_figure(desktop):
    "The PCA page without its plot (the notebook's outputs not saved, or the image broken)."
    name = find_page('06_interpret')
    if not name: pytest.skip('no 06_interpret page yet')
    imgs = [im for im in desktop(name)['images'] if im['inMain']]
    assert imgs, f'{name}: no <img> (the PCA plot); are its outputs saved in the notebook?'
    assert imgs[0]['natural'] > 0, f'{name}: its figure did not load'


# ---- tables -------------------------------------------------------------------------------------

def test_table_cells_padded(page_name, desktop):
    "Table cells with no side padding: numbers of neighbouring columns run together."
    f = desktop(page_name)
    assert not f['nUnpadded'], f'{f["nUnpadded"]} of {f["cells"]} cells have no left or right padding, e.g. {f["unpadded"]}'


@pytest.mark.parametrize('width', VIEWPORTS)
def test_wide_tables_scroll_in_a_visible_frame(page_name, width, tabs):
    "A DataFrame wider than the column whose right-hand columns are cut off with nothing to say the table scrolls."
    bad = []
    for t in tabs[width](page_name)['tables']:
        if t['width'] <= t['room'] + 1: continue
        what = f'table at {t["where"]} ({t["width"]:.0f}px in {t["room"]:.0f}px)'
        if not t['frame']: bad.append(f'{what} overflows: no overflow-x auto/scroll ancestor in main.content')
        elif not t['framed']: bad.append(f'{what} scrolls inside {t["frame"][:60]}, which has no border or box-shadow')
    assert not bad, f'{len(bad)} wide tables without a visible scroll frame: {bad[:4]}'


# ---- phones -------------------------------------------------------------------------------------

def test_no_horizontal_scroll_on_a_phone(page_name, mobile):
    "At 390px the whole page slides sideways (text cut off at the right edge, the layout wobbles while reading)."
    f = mobile(page_name)
    assert f['scrollWidth'] <= f['clientWidth'] + 1, \
        f'page is {f["scrollWidth"]}px wide in a {f["clientWidth"]}px viewport; sticking out: {f["sticking"]}'


def test_nothing_cut_off_on_a_phone(page_name, mobile):
    "At 390px content runs past the right edge and is clipped (overflow hidden/clip): cut off, with no way to scroll to it."
    cut = mobile(page_name)['cutOff']
    assert not cut, f'cut off at the right edge, in no scroll frame: {cut}'


# ---- images -------------------------------------------------------------------------------------

def matplotlibrc() -> dict | None:
    "nbs/matplotlibrc as {key: value}, or None while the file does not exist."
    path = ROOT/'nbs'/'matplotlibrc'
    if not path.is_file(): return None
    rc = {}
    for line in path.read_text(encoding='utf-8').splitlines():
        k, sep, v = line.split('#', 1)[0].partition(':')
        if sep and k.strip(): rc[k.strip()] = v.strip().strip('"\'')
    return rc


def test_images_shown_at_natural_size(page_name, desktop):
    "At 1280, a figure scaled down (its labels shrink below reading size) or wider than the text column."
    f, bad = desktop(page_name), []
    for im in f['images']:
        if not im['inMain'] or im['natural'] <= 0: continue
        if im['width'] < 0.98 * im['natural']: bad.append(f'{im["where"]}: {im["natural"]}px shown at {im["width"]:.0f}px')
        if im['width'] > f['column'] + 1: bad.append(f'{im["where"]}: {im["width"]:.0f}px in a {f["column"]:.0f}px column')
    assert not bad, bad[:5]


def test_figure_labels_legible(page_name, desktop):
    "At 1280, axis labels and ticks (font.size pt at figure.dpi, scaled as shown) smaller than the body text."
    rc = matplotlibrc()
    if rc is None: pytest.skip('nbs/matplotlibrc does not exist yet')
    size, dpi = float(rc.get('font.size', 10)), float(rc.get('figure.dpi', 100))  # matplotlib's defaults
    f, bad = desktop(page_name), []
    for im in f['images']:
        if not (im['inMain'] and im['figure'] and im['natural'] > 0): continue
        label = size * dpi / 72 * im['width'] / im['natural']
        if label < f['paraFont']: bad.append(f'{im["where"]}: labels {label:.1f}px < body text {f["paraFont"]:.1f}px')
    assert not bad, f'font.size {size} at {dpi} dpi: {bad[:5]}'


def test_oversized_figures_zoom_on_a_phone(page_name, mobile):
    "At 390, a figure shrunk to the screen that cannot be opened at full size (labels unreadable on a phone)."
    bad = []
    for z in mobile(page_name)['zoom']:
        what = f'{z["where"]} ({z["natural"]}px shown at {z["shown"]}px)'
        if 'problem' in z: bad.append(f'{what}: {z["problem"]}'); continue
        if not z['sameSrc']: bad.append(f'{what}: the dialog has no img with the same src'); continue
        if z['width'] < 0.98 * z['natural']: bad.append(f'{what}: the dialog shows it at {z["width"]:.0f}px, not its natural width')
        if not z['scrollable']: bad.append(f'{what}: the dialog does not scroll (overflow-x auto/scroll)')
        if not z['closed']: bad.append(f'{what}: Escape does not close the dialog')
        if z['dialogWidth'] < 0.9 * z['viewport']: bad.append(f'{what}: the dialog takes {z["dialogWidth"]:.0f} of {z["viewport"]}px')
    assert not bad, bad[:4]


# ---- leftovers --------------------------------------------------------------------------------------

LEAKS = re.compile(r'\bWarning\b|[A-Z]\w*Warning:|/root/|/tmp/|/work/|^[IWEF]\d{4} \d\d:\d\d:\d\d', re.M)

def test_no_leaked_warnings_or_paths(page_name, desktop):
    "Python warnings (\"FutureWarning: ...\"), libraries' log lines (\"W1129 15:02:20 ...\") or the build machine's paths (/root/, /tmp/, /work/) shown to readers."
    f, bad = desktop(page_name), []
    for where, text in (('main.content', f['mainText']), ('body', f['bodyText'])):
        for m in LEAKS.finditer(text):
            bad.append(f'{where}: {m.group(0)!r} in "...{short(text[max(0, m.start()-40):m.end()+30], 90)}..."')
        if bad: break  # body repeats main's
    assert not bad, f'{len(bad)} leaks: {bad[:4]}'


def test_no_empty_output_boxes(page_name, desktop):
    "An empty output box under a cell (a bare frame with nothing in it)."
    empty = desktop(page_name)['emptyOutputs']
    assert not empty, f'{len(empty)} empty .cell-output boxes, in cells {empty[:6]}'


# ---- search -----------------------------------------------------------------------------------------

SEARCH_JS = r"""() => {
""" + CONTRAST_JS + r"""
  return [...document.querySelectorAll('.search-result')].map((a) => ({
    href: a.getAttribute('href'), text: a.innerText,
    title: (a.querySelector('.search-result-title') || {}).textContent || '', section: (a.querySelector('.search-result-section') || {}).textContent || '',
    snippets: [...a.querySelectorAll('.search-result-text')].map((s) => ({
      text: s.textContent, colours: [s, ...s.querySelectorAll('*')].filter((e) => e.textContent.trim()).map(contrast)})),
  }));
}"""

# the page a search must lead to first: file-name prefixes (sigmoid_range: also any page that defines it)
SEARCH_TARGETS = {'sigmoid_range': ('02_dot_product', '03_bias', '55_models'), 'fold_in': ('14_fold_in',), 'PCA': ('06_interpret', '56_interpret')}  # the lesson or the module's reference (which page comes first is issue 25's)
SEARCH_TERMS = ['crosstab', 'weight decay', 'bias', *SEARCH_TARGETS]  # 'bias': Fuse alone put `DotProductBias` before the page titled Bias


def allowed_pages(term: str, site: Path) -> list[str]:
    "The pages the first result for `term` may lead to: by name, or (for a function) the pages that define it."
    ok = [p for p in PAGES if p.startswith(SEARCH_TARGETS[term])]
    defines = re.compile(rf'id="{re.escape(term)}"|<h[1-6][^>]*>(?:(?!</h[1-6]).)*\b{re.escape(term)}\b', re.S)
    return ok + [p for p in PAGES if p not in ok and defines.search((site/p).read_text(encoding='utf-8'))]


@pytest.fixture(scope='session')
def search(spare_page, site_url):
    "search(term): type `term` into the landing page's search box; the results, and where following one leads (cached)."
    cache = {}
    def run(term: str) -> dict:
        page = spare_page
        page.goto(site_url + 'index.html', wait_until='load')
        try: page.locator('.smalldocs-search input:visible, #quarto-search input:visible').first.fill(term, timeout=15000)
        except Exception: return {'results': [], 'why': 'no visible search box on the landing page'}
        try: page.wait_for_selector('.search-result', timeout=15000)
        except Exception: return {'results': [], 'why': 'no .search-result within 5 s'}
        results = page.evaluate(SEARCH_JS)
        shows = [i for i, r in enumerate(results) if all(w in r['text'].lower() for w in term.lower().split())]
        follow = 0 if term in SEARCH_TARGETS else (shows or [0])[0]  # the first result, or the first that shows the term
        page.locator('.search-result').nth(follow).click(timeout=15000)
        page.wait_for_load_state('load')
        return {'results': results, 'shows': shows, 'followed': follow, 'url': page.url,
                'status': http_status(page.url), 'has_term': term.lower() in page.inner_text('body').lower()}
    def cached(term):
        if term not in cache: cache[term] = run(term)
        return cache[term]
    return cached


@pytest.mark.parametrize('term', SEARCH_TERMS)
def test_search_finds(term, search, site_url, site_dir):
    "Search from the landing page finds nothing, or its result leads to a page without the term (or to the wrong page)."
    s = search(term)
    assert s['results'], f'search {term!r}: no results ({s.get("why")})'
    assert s['shows'], f'search {term!r}: {len(s["results"])} results, none shows the term'
    href = s['results'][s['followed']]['href']
    if term in SEARCH_TARGETS:
        assert s['followed'] in s['shows'], f'search {term!r}: the first result ({href}) does not show the term'
        landed = s['url'][len(site_url):].split('#')[0]
        allowed = allowed_pages(term, site_dir)
        assert landed in allowed, f'search {term!r}: the first result leads to {landed}, not to one of {allowed}'
    assert s['status'] == 200 and s['has_term'], f'search {term!r}: the result {href} leads to {s["url"]}, which does not show it'


@pytest.mark.parametrize('term', SEARCH_TERMS)
def test_search_ranks_headings_first(term, search):
    "A search whose first result merely mentions the term while a heading or an API name holds it (`to_range` before `sigmoid_range`)."
    s = search(term)
    word = re.compile(rf'(?<!\w){re.escape(term)}(?!\w)', re.I)
    heads = [i for i, r in enumerate(s['results']) if word.search(r['section'] or r['title'])]
    if heads: assert heads[0] == 0, (f'search {term!r}: the first result is {s["results"][0]["href"]} '
                                     f'({s["results"][0]["section"] or s["results"][0]["title"]!r}); result {heads[0]} is the heading {s["results"][heads[0]]["href"]}')


@pytest.mark.parametrize('term', SEARCH_TERMS)
def test_search_snippets_readable(term, search):
    "Search snippets in grey-on-grey (below WCAG AA, 4.5:1) against the background they are drawn on."
    s = search(term)
    snippets = [sn for r in s['results'] for sn in r['snippets']]
    assert snippets, f'search {term!r}: no .search-result-text snippets'
    low = {f'{c["what"]} "{short(c["text"], 25)}": {c["ratio"]:.2f}:1 (rgb{tuple(c["fg"])} on rgb{tuple(c["bg"])})'
           for sn in snippets for c in sn['colours'] if c['ratio'] < 4.5}
    assert not low, f'search {term!r}: {len(low)} snippet colours below 4.5:1: {sorted(low)[:4]}'


# raw markdown: a link `[text](target)`, bold `**word**` (not Python's `x**2`), a fence, a Quarto attribute;
# show_doc's "source" link label left at the end of a section's text, or before its signature
SNIPPET_MARKUP = re.compile(r'\]\((?:https?:|mailto:|#|[\w./-]+\.(?:html|ipynb|md|qmd)\b)|(?:^|[\s(\[])\*\*[A-Za-z][^*\n]*?\*\*'
                            r'|```|\{target=|(?:^|\s)source\s*$|\bsource\s+(?:def|class)\b')

@pytest.mark.parametrize('term', SEARCH_TERMS)
def test_search_snippets_clean_text(term, search):
    "Search snippets showing raw markdown (`](`, `**`, fences, `{target=`, a leading `#`) or show_doc's 'source' link label."
    s = search(term)
    bad = []
    for r in s['results']:
        for sn in r['snippets']:
            text = sn['text'].strip()
            m = SNIPPET_MARKUP.search(text.lstrip('…'))
            if m: bad.append(f'{r["href"]}: {m.group(0).strip()!r} in "{short(text[max(0, m.start()-30):m.end()+30], 70)}"')
            elif text.startswith('#'): bad.append(f'{r["href"]}: starts with "{short(text, 30)}"')  # a heading's `#`
    assert not bad, f'search {term!r}: {len(bad)} of {len(s["results"])} snippets show markup: {bad[:4]}'


# ---- accessibility ------------------------------------------------------------------------------------

def axe_report(violations: list[dict]) -> str:
    return '; '.join(f'{v["id"]} ({v["impact"]}, {v["nodes"]} elements, e.g. {short(v["target"], 60)}): {v["help"]}' for v in violations)


def test_axe_nothing_above_minor(page_name, desktop):
    "What axe-core rates critical or serious (unreadable contrast, unnamed controls, ...) or moderate (landmarks a screen reader cannot tell apart, content outside any landmark, skipped heading levels)."
    f = desktop(page_name)
    assert 'axe_error' not in f, f'the axe-core scan failed: {f.get("axe_error")}'
    bad = [v for v in f['axe'] if v['impact'] != 'minor']
    assert not bad, axe_report(bad)


def test_code_colours_readable(page_name, desktop):
    "Syntax highlighting below WCAG AA contrast (4.5:1) on the code background: tokens readers cannot make out."
    bad = [f'{c["colour"]}: {c["ratio"]:.2f}:1 ({c["where"]} "{c["text"]}")' for c in desktop(page_name)['codeColours'] if c['ratio'] < 4.5]
    assert not bad, '; '.join(bad)


def test_axe_dark_mode(dark_index):
    "The same barriers in dark mode (the landing page after the dark-mode toggle)."
    if not dark_index['dark']:
        pytest.fail('no dark mode to scan: ' + ('the toggle does not set html.quarto-dark' if dark_index['toggle']
                                                 else 'no .quarto-color-scheme-toggle on the landing page'))
    vs = AXE_LOG['index.html (dark)'] = axe_scan(dark_index['page'])
    bad = [v for v in vs if v['impact'] in SERIOUS]
    assert not bad, axe_report(bad)


def test_axe_contrast_sample_finds_faint_text(browser, browser_context_args, site_url):
    "The suite's contrast scan reads one element of each look of text: a faint span added to a lesson is still reported."
    ctx = browser.new_context(**{**browser_context_args, 'viewport': VIEWPORTS[1280]})
    try:
        page = ctx.new_page()
        page.goto(site_url + '03_bias.html', wait_until='load')
        page.evaluate('''() => document.querySelector('main p').insertAdjacentHTML('beforeend', ' <span style="color:#bbb">faint words</span>')''')
        page.evaluate(AXE_START_JS, [axe_script(), AXE_OPTIONS])
        got = page.evaluate('() => window.__axeViolations')
    finally: ctx.close()
    assert [v['nodes'] for v in got if v['id'] == 'color-contrast'] == [1], got


# ---- API docs -----------------------------------------------------------------------------------------

def code_comment(sig: str) -> bool:
    "Whether Python code has a `#` comment (a `#` outside string literals)."
    return '#' in re.sub(r"'[^'\n]*'|\"[^\"\n]*\"", "''", sig)


def test_api_signatures_clean(page_name, desktop):
    "Signatures in the API docs showing `# comments`, markdown links, or a class as `def Name(`."
    bad = []
    for d in desktop(page_name)['apidocs']:
        if code_comment(d['sig']): bad.append(f'{d["name"]}: a # comment in the signature')
        if '](' in d['sig']: bad.append(f'{d["name"]}: a markdown link in the signature')
        if d['name'][:1].isupper() and re.search(rf'\bdef\s+{re.escape(d["name"])}\s*\(', d['sig']) \
                and library_kind(d['name'], d['source']) != 'function':  # fastai-style loss factories are functions
            bad.append(f'{d["name"]}: a class shown as `def {d["name"]}(`')
    assert not bad, f'{len(bad)} problems: {bad[:6]}'


def library_files(source: str | None) -> list[Path]:
    "The library file a show_doc `source` link names, or else every module of collab_lib."
    m = re.search(r'/blob/[^/]+/(.+?\.py)', source or '')
    return [ROOT/m.group(1)] if m and (ROOT/m.group(1)).is_file() else sorted((ROOT/'collab_lib').glob('*.py'))


@functools.cache
def _tree(path: Path) -> ast.Module: return ast.parse(path.read_text(encoding='utf-8'))


def library_kind(name: str, source: str | None) -> str | None:
    "'class' or 'function': what the library defines under `name` (None when not found)."
    for path in library_files(source):
        for node in ast.walk(_tree(path)):
            if getattr(node, 'name', None) == name.rpartition('.')[2]:
                if isinstance(node, ast.ClassDef): return 'class'
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)): return 'function'
    return None


@functools.cache
def _comment_lines(path: Path) -> set[int]:
    toks = tokenize.generate_tokens(StringIO(path.read_text(encoding='utf-8')).readline)
    return {t.start[0] for t in toks if t.type == tokenize.COMMENT}


def documented_params(name: str, source: str | None) -> bool:
    "Whether the library documents a parameter of `name` (`f`, `Class`, `Class.method`) with a comment (fastcore docments)."
    owner, _, fn_name = name.rpartition('.')
    for path in library_files(source):
        for node in ast.walk(_tree(path)):
            fn = None
            if isinstance(node, ast.ClassDef) and node.name == fn_name and not owner:  # a class: its __init__
                fn = next((b for b in node.body if isinstance(b, ast.FunctionDef) and b.name == '__init__'), None)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == fn_name: fn = node
            if fn is None: continue
            a = fn.args
            parts = [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg, *a.defaults, *a.kw_defaults, fn.returns]
            end = max([p.end_lineno for p in parts if p is not None] + [fn.lineno])
            return any(fn.lineno <= l <= end for l in _comment_lines(path))
    return False


def test_api_parameter_tables(page_name, desktop):
    "A function whose parameters are documented in the library, shown with no parameter table (Type/Default/Details)."
    bad = []
    for d in desktop(page_name)['apidocs']:
        if not documented_params(d['name'], d['source']): continue
        heads = set(d['table'] or [])
        if 'Details' not in heads or not heads & {'Type', 'Default'}:
            bad.append(f'{d["name"]}: ' + (f'the table after the signature has headers {sorted(heads)}' if d['table'] is not None
                                           else 'no table after the signature'))
    assert not bad, f'{len(bad)} documented functions without a parameter table: {bad[:6]}'


FASTAI_NAMES = re.compile(r'^(Learner|collab_learner|sigmoid_range)\b')

def test_fastai_names_link_to_fastai_docs(page_name, desktop):
    "Prose naming fastai's `Learner`, `collab_learner` or `sigmoid_range` with no link to docs.fast.ai to look them up."
    f = desktop(page_name)
    named = sorted({c for c in f['proseCode'] if FASTAI_NAMES.match(c)})
    assert not named or f['fastaiLinks'] > 0, f'prose names {named[:4]} but no a[href^="https://docs.fast.ai/"] on the page'


# ---- navigation ---------------------------------------------------------------------------------------

def test_previous_and_next_links(page_name, desktop, site_url):
    "No previous/next links at the foot of a page (the reader has to go back to the sidebar), or links to the wrong pages."
    order = reading_order(PAGES)
    i = order.index(page_name)
    want = {'prev': order[i-1] if i > 0 else None, 'next': order[i+1] if i + 1 < len(order) else None}
    links = [dict(l, href=l['href'][len(site_url):].split('#')[0]) for l in desktop(page_name)['pagenav']]
    if links and not all(l['side'] for l in links):  # unlabelled: by position (the first page has only `next`)
        sides = ['prev', 'next'] if len(links) == 2 else ['next' if i == 0 else 'prev']
        links = [dict(l, side=s) for l, s in zip(links, sides)]
    got = {'prev': None, 'next': None} | {l['side']: l['href'] for l in links}
    assert got == want and len(links) == sum(v is not None for v in want.values()), \
        f'nav.page-navigation links {[(l["side"], l["href"]) for l in links]}, want {want}'


@pytest.mark.parametrize('width', VIEWPORTS)
def test_table_of_contents(page_name, width, tabs):
    "A page with several sections and no visible table of contents (at 390: none in the page body) linking each one."
    f = tabs[width](page_name)
    if len(f['h2']) < 2: return
    tocs = [f['toc']] if width == 1280 else [f['tocBody'], f['toc']]
    toc = next((t for t in tocs if t['shown']), None)
    where = '#TOC' if width == 1280 else '#TOC-body or #TOC'
    assert toc, f'{len(f["h2"])} h2 sections but no visible {where} ' + \
        ('(present but hidden)' if any(t['exists'] for t in tocs) else '(none in the page)')
    missing = [h or '(an h2 with no id)' for h in f['h2'] if not h or f'#{h}' not in toc['links']]
    assert not missing, f'the table of contents has no link to {missing[:5]}'


@functools.cache
def site_version() -> str:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(ROOT/'settings.ini', encoding='utf-8')
    return cfg['DEFAULT']['version']


def test_version_shown(page_name, desktop):
    "The reader cannot tell which release of collab_lib the docs describe (no version in the navbar or footer)."
    assert site_version() in desktop(page_name)['chrome'], f'version {site_version()} (settings.ini) in neither navbar nor footer'


def test_dark_mode_toggle(dark_index):
    "No way to switch the site to dark mode, or a toggle that does nothing."
    assert dark_index['toggle'], 'no .quarto-color-scheme-toggle on the landing page'
    assert dark_index['dark'], 'clicking .quarto-color-scheme-toggle does not put class quarto-dark on <html>'


def test_questionnaire_questions_are_headings(desktop):
    "The chapter's questionnaire as one long text: its questions are not headings (no TOC entries, no anchors)."
    name = find_page('09_conclusion')
    assert name, 'no 09_conclusion page'
    assert desktop(name)['h3'] >= 30, f'{name}: {desktop(name)["h3"]} h3 headings in main.content, the questionnaire has 30+ questions'


# ---- screenshots --------------------------------------------------------------------------------------

@pytest.mark.parametrize('width', VIEWPORTS)
@pytest.mark.parametrize('key', SCREENSHOT_PAGES)
def test_screenshot(key, width, tabs):
    "Screenshots of the key pages in test_artifacts/, for a person to look at (06, 17: at their first figure or table)."
    name = find_page(key)
    assert name, f'no {key} page'
    f = tabs[width](name)
    assert Path(f['screenshot']).stat().st_size > 0
    if key in SCROLL_TO_FIGURE:
        assert any(im['figure'] for im in f['images']) or f['tables'], f'{name}: no figure or table to show'


# ---- the front door -------------------------------------------------------------------------------

HOME_WORDS = 700

@pytest.mark.parametrize('width', VIEWPORTS)
def test_home_page_is_a_front_door(width, browser, browser_context_args, site_url):
    "The home page: more than 700 words of main text (prose outside tables and code), or no 'Start' link to the first chapter page in its first screen."
    ctx = browser.new_context(**{**browser_context_args, 'viewport': VIEWPORTS[width]})
    try:
        page = ctx.new_page(); page.goto(site_url + 'index.html', wait_until='load')
        words = page.evaluate("""() => [...document.querySelectorAll('main.content :is(p, li, h1, h2, h3, h4, blockquote)')]
            .filter(e => !e.closest('table, pre') && !e.querySelector('p, li')).map(e => e.innerText).join(' ').split(/\\s+/).filter(Boolean).length""")
        assert words <= HOME_WORDS, f'{words} words of main text on the home page (at most {HOME_WORDS})'
        start = page.evaluate("""() => [...document.querySelectorAll('main.content a')].filter(a => /^\\s*start/i.test(a.innerText))
            .map(a => ({href: a.getAttribute('href'), bottom: a.getBoundingClientRect().bottom}))""")
        assert start, 'no link starting with "Start" on the home page'
        first = find_page('00_data')
        assert start[0]['href'].split('#')[0] == first, f"the Start link goes to {start[0]['href']}, not the first chapter page {first}"
        assert start[0]['bottom'] <= VIEWPORTS[width]['height'], f"the Start link ends at {start[0]['bottom']:.0f} px, below the first screen ({VIEWPORTS[width]['height']} px)"
    finally: ctx.close()


def test_only_the_active_theme_loads(page_name, desktop):
    "A page that downloads both theme stylesheets (about 450 KB) before the reader asks for the other theme."
    sheets = desktop(page_name)['themeSheets']
    assert len(sheets) == 1, f'theme stylesheets loaded: {sheets}'


def test_dark_theme_loads_on_toggle(dark_index):
    "The toggle shows the dark theme: its stylesheet loads then, and the page is marked dark."
    page = dark_index['page']
    sheets = page.evaluate("() => performance.getEntriesByType('resource').map((r) => r.name.split('/').pop()).filter((n) => /\\.min\\.css$/.test(n))")
    assert 'darkly.min.css' in sheets and dark_index['dark'], f'after the toggle: dark={dark_index["dark"]}, stylesheets {sheets}'


# what a page must not have, one fact of FACTS_JS each: (the widths it is checked at, what one item of it is)
NONE_OF = {
    'brokenNames': ((1280, 390), 'names in the Name column of API parameter tables broken over lines ("factor|s", "s/ee/d")'),
    'tocBrokenWords': ((1280, 390), 'table-of-contents entries broken inside a word ("recomm|end"; after `.`, `_` or at a CamelCase hump is fine)'),
    'wrappedCode': ((390,), 'code blocks that wrap, breaking identifiers and paths on a phone, instead of scrolling sideways'),
    'emptyTypeColumns': ((1280,), 'API parameter tables with a Type column and no type in it (it takes the width the names need)'),
    'emptyDetails': ((1280,), 'rows of API parameter tables (a parameter, or Returns) with an empty Details cell'),
    'fileLabels': ((1280,), 'links in the text to a page of the site labelled with a file name ("01_latent_factors", "(06)") instead of its title'),
    'objectReprs': ((1280,), 'Python object reprs where a name belongs ("<function store_true at 0x7f...>" in a signature): different on every build'),
}


@pytest.mark.parametrize('fact,width', [(f, w) for f, (ws, _) in NONE_OF.items() for w in ws])
def test_page_has_none_of(page_name, fact, width, tabs):
    "A page with any of NONE_OF's defects (a list of them, or their count)."
    got = tabs[width](page_name)[fact]
    assert not got, f'{got if isinstance(got, int) else len(got)} {NONE_OF[fact][1]} at {width} px' + ('' if isinstance(got, int) else f': {got[:5]}')
