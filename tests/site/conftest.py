"""The course website's browser test suite: fixtures.

The built site ($SITE_DIR, default docs/_site/) is served on 127.0.0.1 from a thread, and one Chromium
(Debian's /usr/bin/chromium, through pytest-playwright; never `playwright install`) opens it offline.
Each page is loaded once per viewport (1280x900 and 390x844), all in one pass on first use (`Site`);
that one visit collects, in one `page.evaluate`, every fact the tests assert on (plus, at 1280, an
axe-core scan and, at 390, a click on each figure shown smaller than its pixels), so the tests
themselves only read a dict, and a failure names the page.

    cd /work/main && SITE_DIR=/tmp/siteB .venv/bin/python -m pytest tests/site -q -p no:cacheprovider

Every test here carries the `site` marker (test_site.py's `pytestmark`): `pytest tests -m "not site"` runs the library's
contract tests alone, without a built site, and the site is checked for only when a test of this folder is selected.
"""
import functools, http.server, os, sys, threading
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent   # tests/site/conftest.py -> the repository
SITE = Path(os.environ.get('SITE_DIR', ROOT/'docs'/'_site')).resolve()
ARTIFACTS = ROOT/'test_artifacts'
CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORTS = {1280: {'width': 1280, 'height': 900}, 390: {'width': 390, 'height': 844}}
SCREENSHOT_PAGES = ('index', '00_data', '03_bias', '06_interpret', '17_evaluation', '57_recommend')  # the home page, Part I, Part II, an API page
SCROLL_TO_FIGURE = ('06_interpret', '17_evaluation')  # their screenshots show the first figure or DataFrame
IMPACTS = ('critical', 'serious', 'moderate', 'minor')

PAGES = sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob('*.html')) if SITE.is_dir() else []
AXE_LOG: dict[str, list[dict]] = {}  # page (or 'index.html, dark') -> its axe violations, for the closing summary


def page_id(name: str) -> str: return name.removesuffix('.html')


HERE = Path(__file__).resolve().parent
SELECTED = []  # the site's tests that this run selected (after -m, -k and deselection), for the check and the closing summary


def pytest_collection_finish(session):
    "A usage error when a selected test of this folder needs the site and it is not built (a run that deselects them needs none)"
    SELECTED[:] = [i for i in session.items if HERE in i.path.resolve().parents]
    if SELECTED and not (SITE/'index.html').is_file():
        raise pytest.UsageError(f'no {SITE}/index.html: build the site (make docs) or point SITE_DIR at a built copy')


def pytest_generate_tests(metafunc):
    "A test that takes `page_name` runs once per page of the site, named after the page."
    if 'page_name' in metafunc.fixturenames:
        metafunc.parametrize('page_name', PAGES, ids=[page_id(p) for p in PAGES])


# ---- the server and the browser ---------------------------------------------------------------

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


@pytest.fixture(scope='session')
def site_dir() -> Path: return SITE


@pytest.fixture(scope='session')
def site_url():
    "The base URL of the site served on 127.0.0.1, ending in /."
    srv = serve(SITE)
    yield f'http://127.0.0.1:{srv.server_address[1]}/'
    srv.shutdown()


@pytest.fixture(scope='session')
def browser_type_launch_args(browser_type_launch_args):
    "pytest-playwright's launch options, with Debian's Chromium and its flags for a container."
    return {**browser_type_launch_args, 'executable_path': CHROMIUM, 'args': CHROMIUM_ARGS}


# ---- what one visit of a page collects ----------------------------------------------------------

# WCAG contrast of an element's text: its colour and its backgrounds composited from the canvas up, through each
# opacity (`contrast(el)` -> {ratio, fg, bg, ...}); FACTS_JS (code colours) and test_site's SEARCH_JS (snippets) use it
CONTRAST_JS = r"""
  const parse = (s) => {
    let m = s.match(/^rgba?\(([^)]*)\)/);
    if (m) { const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; }
    m = s.match(/^color\(srgb\s+([^)]*)\)/);
    if (m) { const p = m[1].split(/[\s\/]+/).filter(Boolean).map(Number); return [p[0] * 255, p[1] * 255, p[2] * 255, p.length > 3 ? p[3] : 1]; }
    return null;
  };
  const over = (top, bottom) => [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
  // the colour of a pixel of `el`: its backgrounds (and its text) composited from the canvas up, through each opacity
  const pixel = (el, text) => {
    const chain = []; for (let e = el; e; e = e.parentElement) chain.unshift(e);
    const render = (i, backdrop) => {
      if (i === chain.length) return text ? over(parse(getComputedStyle(el).color) || [0, 0, 0, 1], backdrop) : backdrop;
      const st = getComputedStyle(chain[i]), o = parseFloat(st.opacity);
      const inner = render(i + 1, over(parse(st.backgroundColor) || [0, 0, 0, 0], backdrop));
      return o >= 1 ? inner : over(inner.slice(0, 3).concat([o]), backdrop);
    };
    return render(0, [255, 255, 255, 1]);
  };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
                       return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const contrast = (e) => { const fg = pixel(e, true), bg = pixel(e, false), [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
                            return {what: e.tagName.toLowerCase(), text: e.textContent.slice(0, 30), ratio: (a + 0.05) / (b + 0.05),
                                    fg: fg.map(Math.round).slice(0, 3), bg: bg.map(Math.round).slice(0, 3)}; };
"""

FACTS_JS = r"""async () => {
""" + CONTRAST_JS + r"""
  const $$ = (s, r = document) => r ? [...r.querySelectorAll(s)] : [];
  const cs = (e) => getComputedStyle(e), px = (v) => parseFloat(v) || 0;
  const main = document.querySelector('main.content');
  const shown = (e) => !!e && e.getClientRects().length > 0 && cs(e).visibility !== 'hidden'
                       && e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().height > 0;
  const label = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                       + (typeof e.className === 'string' && e.className.trim() ? '.' + e.className.trim().split(/\s+/).join('.') : '');
  const where = (e) => { const c = e.closest('.cell[id]'), s = e.closest('section[id]');
                         return c ? '#' + c.id : (s ? 'section#' + s.id + ' ' : '') + label(e); };
  const imgs = [...document.images];
  imgs.forEach((i) => { i.loading = 'eager'; });
  await Promise.all(imgs.map((i) => i.decode().catch(() => null)));
  const column = main ? main.clientWidth - px(cs(main).paddingLeft) - px(cs(main).paddingRight) : 0;
  const para = $$('p', main).find((p) => !p.closest('.cell-output, header, nav, table, .callout') && p.textContent.trim());
  const framed = (e) => ['Top', 'Right', 'Bottom', 'Left'].some((s) => px(cs(e)['border' + s + 'Width']) > 0
                       && cs(e)['border' + s + 'Style'] !== 'none') || cs(e).boxShadow !== 'none';
  const cells = $$('td, th', main);
  const unpadded = cells.filter((c) => px(cs(c).paddingLeft) <= 0 || px(cs(c).paddingRight) <= 0);
  const cw = document.documentElement.clientWidth, sw = document.documentElement.scrollWidth;
  // what sticks out of the page when it scrolls sideways: the outermost elements past the right edge, not clipped
  const clipped = (e) => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement)
                             if (cs(a).overflowX !== 'visible' || cs(a).position === 'fixed') return true; return false; };
  const past = (e) => e.getBoundingClientRect().right > cw + 1 && e.getBoundingClientRect().width > 0;
  const sticking = sw <= cw + 1 ? [] : $$('body *').filter((e) => past(e) && !(e.parentElement && past(e.parentElement)) && !clipped(e))
                                            .slice(0, 4).map((e) => label(e).slice(0, 80) + ' (right edge ' + Math.round(e.getBoundingClientRect().right) + 'px)');
  // what a phone cannot show: main.content elements past the right edge that no scroll frame lets the reader reach
  // (visually hidden ones, such as KaTeX's MathML for screen readers, clipped on purpose, left out)
  const reachable = (e) => { for (let a = e; a && a !== document.documentElement; a = a.parentElement) {
                               const s = cs(a); if (s.clip !== 'auto' || s.clipPath !== 'none') return true;
                               if (a !== e && /auto|scroll/.test(s.overflowX)) return true; } return false; };
  const cutOff = $$('*', main).filter((e) => past(e) && !(e.parentElement !== main && past(e.parentElement)) && !reachable(e))
                              .slice(0, 4).map((e) => (e.closest('.cell[id]') ? where(e) + ' ' + label(e) : where(e)).slice(0, 90)
                                                      + ' (right edge ' + Math.round(e.getBoundingClientRect().right) + 'px)');
  // syntax highlighting: each distinct (colour, background) of the code blocks, with its contrast (axe-core's own
  // contrast rule skips code blocks, whose thousands of tokens make it the slow part of the scan; see AXE_START_JS)
  const codeColours = new Map();
  $$('div.sourceCode code, div.sourceCode code span', main).forEach((e) => {
    if (![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) return;
    const key = cs(e).color + ' on ' + cs(e.closest('pre')).backgroundColor;
    if (!codeColours.has(key)) codeColours.set(key, {colour: key, ratio: contrast(e).ratio, text: e.textContent.trim().slice(0, 20), where: where(e)});
  });
  const h2id = (h) => h.id || (h.parentElement.tagName === 'SECTION' && h.parentElement.id) || h.dataset.anchorId || '';
  const toc = (sel) => { const t = document.querySelector(sel); return {exists: !!t, shown: shown(t), links: $$('a[href]', t).map((a) => a.getAttribute('href'))}; };
  return {
    codeColours: [...codeColours.values()],
    title: document.title,
    links: $$('a[href]').map((a) => a.href),
    sidebar: $$('#quarto-sidebar a.sidebar-link').map((a) => a.getAttribute('href')).filter(Boolean),
    bodyInner: document.body.innerText,
    emptyTypeColumns: $$('.cell-output-markdown table', main).filter((t) => { const i = $$('thead th', t).findIndex((h) => h.textContent.trim() === 'Type');
      return i >= 0 && $$('tbody tr', t).every((r) => !(r.children[i] && r.children[i].textContent.trim())); }).length,
    // a word of the table of contents broken over two lines: two letters or digits in a row on different lines
    // (a break after `.` or `_`, or at a CamelCase hump, is where build_docs allows one)
    tocBrokenWords: $$('#TOC a, #TOC-body a').filter(shown).flatMap((a) => {
      const out = [], r = document.createRange();
      const walker = document.createTreeWalker(a, NodeFilter.SHOW_TEXT);
      let prev = null;
      for (let n = walker.nextNode(); n; n = walker.nextNode()) for (let i = 0; i < n.length; i++) {
        r.setStart(n, i); r.setEnd(n, i + 1);
        const rect = r.getClientRects()[0], ch = n.data[i];
        if (!rect) continue;
        const hump = /[a-z]/.test(prev ? prev.ch : '') && /[A-Z]/.test(ch);
        if (prev && /[A-Za-z0-9]/.test(prev.ch) && /[A-Za-z0-9]/.test(ch) && !hump && rect.top > prev.top + 2) out.push(a.textContent.trim().slice(0, 40));
        prev = {ch, top: rect.top};
      }
      return out.slice(0, 1);
    }),
    themeSheets: performance.getEntriesByType('resource').map((r) => r.name).filter((u) => /\/site_libs\/themes\//.test(u)).map((u) => u.split('/').pop()),
    // links in the text to a page of the site labelled with a file name ("01_latent_factors", "(06)", "20_cli.html")
    fileLabels: $$('a[href]', main).filter((a) => /^[\w./-]*\.html(#|$)/.test(a.getAttribute('href')) && !/^https?:/.test(a.getAttribute('href')))
      .map((a) => a.textContent.trim()).filter((t) => /^\(?\s*(\d\d[a-z]?(_[\w.]+)?|[\w./-]+\.(ipynb|html|qmd))\s*\)?$/.test(t)),
    // Python's default repr of an object shown where its name belongs ("<function store_true at 0x7f27bce20360>"): changes every run
    objectReprs: [...main.textContent.matchAll(/<[\w. ]+ at 0x[0-9a-f]+>/g)].map((m) => m[0]),
    emptyDetails: $$('.cell-output-markdown table', main).flatMap((t) => {
      const i = $$('thead th', t).findIndex((h) => h.textContent.trim() === 'Details');
      const d = t.closest('.cell-output-markdown'), h = d && d.querySelector('h2, h3, h4');
      return i < 0 ? [] : $$('tbody tr', t).filter((r) => !(r.children[i] && r.children[i].textContent.trim()))
                                          .map((r) => (h ? h.textContent.trim() + ' ' : '') + r.children[0].textContent.trim()); }),
    brokenNames: $$('.cell-output-markdown table td:first-child code', main).filter((c) => shown(c) && c.getClientRects().length > 1).map((c) => c.textContent.slice(0, 40)),
    wrappedCode: $$('div.sourceCode pre > code', main).filter((c) => !['pre', 'nowrap'].includes(cs(c).whiteSpace)).length,
    bodyText: document.body.textContent,
    mainText: main ? main.textContent : '',
    math: $$('.math').length,
    untypeset: $$('.math').filter((m) => !m.querySelector('.katex')).map((m) => m.textContent.trim().slice(0, 40)),
    images: imgs.map((i) => ({src: (i.getAttribute('src') || '').slice(0, 40), hasSrc: !!i.getAttribute('src'), natural: i.naturalWidth,
      width: i.getBoundingClientRect().width, inMain: !!main && main.contains(i), figure: !!i.closest('.cell-output'),
      linked: !!i.closest('a'), where: where(i)})),
    column, paraFont: para ? px(cs(para).fontSize) : null,
    cells: cells.length, unpadded: unpadded.slice(0, 3).map((c) => where(c) + ' ' + c.tagName.toLowerCase() + ' "' + c.textContent.trim().slice(0, 20) + '"'),
    nUnpadded: unpadded.length,
    tables: $$('table', main).map((t) => {
      let frame = null;
      for (let a = t.parentElement; a && a !== main; a = a.parentElement) if (/auto|scroll/.test(cs(a).overflowX)) { frame = a; break; }
      return {where: where(t), width: Math.max(t.scrollWidth, t.getBoundingClientRect().width),
              room: frame ? frame.clientWidth : column, frame: frame ? label(frame) : null, framed: !!frame && framed(frame)};
    }),
    scrollWidth: sw, clientWidth: cw, sticking, cutOff,
    emptyOutputs: $$('.cell-output', main).filter((o) => !o.innerText.trim() && !o.querySelector('img, table, svg')).map(where),
    apidocs: $$('.cell-output-markdown', main).filter((d) => d.querySelector('h2, h3, h4') && d.querySelector('pre')).map((d) => {
      const h = d.querySelector('h2, h3, h4'), pre = d.querySelector('pre');
      const after = $$('table', d).filter((t) => pre.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING);
      const src = d.querySelector('a[href*="/blob/"]');
      return {name: h.textContent.trim(), sig: pre.textContent, source: src ? src.getAttribute('href') : null,
              table: after.length ? $$('th', after[0]).map((th) => th.textContent.trim()) : null};
    }),
    proseCode: $$('code', main).filter((c) => !c.closest('pre, .cell-output')).map((c) => c.textContent.trim()),
    fastaiLinks: $$('a[href^="https://docs.fast.ai/"]').length,
    h2: $$('h2', main).filter((h) => !h.closest('nav, [role="doc-toc"]')).map(h2id), h3: $$('h3', main).length,
    toc: toc('#TOC'), tocBody: toc('#TOC-body'),
    pagenav: $$('nav.page-navigation a[href]').map((a) => ({href: a.href,
      side: a.closest('.nav-page-previous') ? 'prev' : a.closest('.nav-page-next') ? 'next' : ''})),
    chrome: $$('#quarto-header, footer, .nav-footer').map((e) => e.textContent).join(' '),
  };
}"""

ZOOM_JS = r"""async (k) => {
  const img = document.querySelectorAll('main.content img')[k];
  const d = document.querySelector('dialog#sd-zoom[open]');
  const z = d && [...d.querySelectorAll('img')].find((i) => i.src === img.src);
  if (!z) return {sameSrc: false};
  await z.decode().catch(() => null);
  let scrollable = false;
  for (let a = z.parentElement; a; a = a.parentElement) {
    if (/auto|scroll/.test(getComputedStyle(a).overflowX)) scrollable = true;
    if (a === d) break;
  }
  return {sameSrc: true, natural: img.naturalWidth, width: z.getBoundingClientRect().width, scrollable,
          dialogWidth: d.getBoundingClientRect().width, viewport: document.documentElement.clientWidth};
}"""

# axe-core (the axe.min.js bundled in axe-playwright-python), started without waiting for it, so that the scan
# of one page (the slow part of the whole suite) runs while the next pages load; only what the tests and the
# summary read comes back
AXE_START_JS = r"""([src, opts]) => {
  window.__axeViolations = new Promise((resolve, reject) => setTimeout(() => {  // after this call has returned
    try { (0, eval)(src); } catch (e) { reject(e); return; }
    const slim = (r) => r.violations.map((v) => ({id: v.id, impact: v.impact || 'minor', help: v.help, nodes: v.nodes.length,
      target: v.nodes.length ? v.nodes[0].target.map(String).join(', ') : ''}));
    // every rule on the whole page, then colour contrast on one element of each look of text outside the code blocks
    // (FACTS_JS checks their palette): text of the same colour, font and shadow over the same backgrounds and opacities
    // has the same contrast, and a page repeats a few dozen looks over thousands of elements (a third of the time;
    // on every page, with a faint span added, both scans report the same pages)
    const behind = new Map();   // element -> the background colours, images and opacities of it and its ancestors
    const backgrounds = (e) => { if (!e) return ''; if (behind.has(e)) return behind.get(e);
      const s = getComputedStyle(e), k = `${backgrounds(e.parentElement)}|${s.backgroundColor} ${s.backgroundImage} ${s.opacity}`;
      behind.set(e, k); return k; };
    const looks = new Map();
    for (const e of document.body.querySelectorAll('*')) {
      if (e.closest('div.sourceCode') || ![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
      const s = getComputedStyle(e), k = [s.color, s.fontSize, s.fontWeight, s.textShadow, backgrounds(e)].join('/');
      if (!looks.has(k)) looks.set(k, e);
    }
    axe.run(document, opts.all).then((r1) => (looks.size ? axe.run({include: [...looks.values()]}, opts.contrast) : Promise.resolve({violations: []}))
      .then((r2) => resolve(slim(r1).concat(slim(r2)))), reject).catch(reject);
  }, 0));
}"""
AXE_OPTIONS = {'all': {'resultTypes': ['violations'], 'rules': {'color-contrast': {'enabled': False}}},
               'contrast': {'resultTypes': ['violations'], 'runOnly': {'type': 'rule', 'values': ['color-contrast']}}}


@functools.cache
def axe_script() -> str:
    from axe_playwright_python.sync_playwright import Axe
    return Axe().axe_script


def axe_scan(page) -> list[dict]:
    "axe-core's violations on the page as it is now (axe_playwright_python's Axe().run): rule, impact, elements, the first one."
    from axe_playwright_python.sync_playwright import Axe
    res = Axe().run(page, options={'resultTypes': ['violations']}).response   # one page: every rule everywhere, code blocks too
    return [{'id': v['id'], 'impact': v.get('impact') or 'minor', 'nodes': len(v['nodes']), 'help': v.get('help', ''),
             'target': ', '.join(map(str, v['nodes'][0]['target'])) if v['nodes'] else ''} for v in res['violations']]


class Tab:
    "A browser tab at one viewport width, recording the console errors and failed requests of the page it shows."
    def __init__(self, browser, context_args: dict, width: int):
        self.width, self.errors, self.pending = width, [], None
        self.context = browser.new_context(**{**context_args, 'viewport': VIEWPORTS[width]})
        self.page = p = self.context.new_page()
        p.on('console', lambda m: m.type == 'error' and self.errors.append(f'console: {m.text}'))
        p.on('pageerror', lambda e: self.errors.append(f'page error: {e}'))
        p.on('requestfailed', lambda r: self.errors.append(f'request failed: {r.url[:100]} {r.failure}'))
        p.on('response', lambda r: r.status >= 400 and self.errors.append(f'HTTP {r.status}: {r.url}'))

    def open(self, url: str) -> dict:
        "Load `url`; the facts of FACTS_JS, and the HTTP status."
        self.errors.clear()
        resp = self.page.goto(url, wait_until='load')
        return {**self.page.evaluate(FACTS_JS), 'status': resp.status if resp else None}

    def screenshot(self, name: str) -> str:
        "A screenshot of the viewport to test_artifacts/<page>-<width>.png (06, 17: at the first figure or DataFrame output)."
        if page_id(name) in SCROLL_TO_FIGURE:
            self.page.evaluate("() => { const e = document.querySelector('main.content .cell-output-display:not(.cell-output-markdown) "
                               ":is(img, table)'); if (e) e.scrollIntoView({block: 'center', behavior: 'instant'}); }")
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS/f'{page_id(name)}-{self.width}.png'
        self.page.screenshot(path=str(path))
        return str(path)

    def zoom(self, facts: dict) -> list[dict]:
        "Click each figure of main.content shown narrower than its pixels: what opened, and whether Escape closed it."
        page, out = self.page, []
        for k, im in enumerate(im for im in facts['images'] if im['inMain']):
            if im['natural'] <= im['width'] + 1: continue
            r = {'where': im['where'], 'natural': im['natural'], 'shown': round(im['width'])}
            out.append(r)
            if im['linked']: r['problem'] = 'the figure is inside a link'; continue
            try:
                page.locator('main.content img').nth(k).click(timeout=10000)
                page.wait_for_selector('dialog#sd-zoom[open]', state='attached', timeout=10000)
            except Exception as e:
                r['problem'] = 'clicking it opens no dialog#sd-zoom[open]'
                if 'Timeout' not in type(e).__name__: r['problem'] += f' ({type(e).__name__}: {str(e).splitlines()[0]})'
                break  # no lightbox on this page: the other figures would say the same
            r.update(page.evaluate(ZOOM_JS, k))
            page.keyboard.press('Escape')
            try: page.wait_for_selector('dialog#sd-zoom[open]', state='detached', timeout=10000); r['closed'] = True
            except Exception: r['closed'] = False
        return out

    def start_axe(self, name: str, facts: dict) -> None:
        self.page.evaluate(AXE_START_JS, [axe_script(), AXE_OPTIONS])
        self.pending = (name, facts)

    def finish_axe(self) -> None:
        "Wait for the scan started last; file its violations, and the page's errors (late ones included)."
        if not self.pending: return
        name, facts = self.pending
        self.pending = None
        try: facts['axe'] = AXE_LOG[name] = self.page.evaluate('() => window.__axeViolations')
        except Exception as e: facts['axe_error'] = f'{type(e).__name__}: {short_error(e)}'
        facts['errors'] = list(self.errors)


def short_error(e: Exception) -> str: return (str(e).strip().splitlines() or [''])[0][:200]


class Site:
    """Every page of the site visited once per viewport width, on first use, in one pass.

    At 1280 two tabs take turns, so that the axe-core scan of a page (the slow part; skipped when no
    selected test reads it) runs while the next pages load; at 390 one tab also clicks the figures shown
    smaller than their pixels (the lightbox)."""
    def __init__(self, browser, context_args: dict, base: str, axe: bool = True):
        self.base, self.axe, self.facts = base, axe, {w: {} for w in VIEWPORTS}
        self.desktop = [Tab(browser, context_args, 1280) for _ in range(2 if axe else 1)]
        self.mobile = Tab(browser, context_args, 390)

    def get(self, width: int, name: str) -> dict:
        if not self.facts[width]: self.visit_all()
        f = self.facts[width][name]
        if 'visit_error' in f: pytest.fail(f'{name} at {width}px could not be visited: {f["visit_error"]}')
        return f

    def visit_all(self) -> None:
        for i, name in enumerate(PAGES):
            tab = self.desktop[i % len(self.desktop)]
            tab.finish_axe()
            self.facts[1280][name] = self._visit(tab, name, desktop=True)
            self.facts[390][name] = self._visit(self.mobile, name, desktop=False)
        for tab in self.desktop: tab.finish_axe()
        AXE_LOG.update({n: AXE_LOG.pop(n) for n in PAGES if n in AXE_LOG})  # the summary in page order

    def _visit(self, tab: Tab, name: str, desktop: bool) -> dict:
        try:
            f = tab.open(self.base + name)
            if not desktop: f['zoom'] = tab.zoom(f)
            if page_id(name) in SCREENSHOT_PAGES: f['screenshot'] = tab.screenshot(name)
            if desktop and self.axe: tab.start_axe(name, f)
            else: f['errors'] = list(tab.errors)
            return f
        except Exception as e:  # one page that cannot be opened fails its own tests, not the others'
            return {'visit_error': f'{type(e).__name__}: {short_error(e)}'}

    def close(self) -> None:
        for tab in [*self.desktop, self.mobile]: tab.context.close()


@pytest.fixture(scope='session')
def site(browser, browser_context_args, site_url, request) -> Site:
    "The facts of every page at both widths (collected on first use); axe-core only when a selected test reads it."
    axe = any(getattr(i, 'originalname', '') == 'test_axe_nothing_above_minor' for i in request.session.items)
    s = Site(browser, browser_context_args, site_url, axe=axe)
    yield s
    s.close()


@pytest.fixture(scope='session')
def tabs(site) -> dict:
    "{width: facts(name)} for both viewports."
    return {w: functools.partial(site.get, w) for w in VIEWPORTS}


@pytest.fixture(scope='session')
def desktop(site):
    "desktop(name): the facts of page `name` at 1280x900."
    return functools.partial(site.get, 1280)


@pytest.fixture(scope='session')
def mobile(site):
    "mobile(name): the facts of page `name` at 390x844."
    return functools.partial(site.get, 390)


@pytest.fixture(scope='session')
def spare_page(site):
    "A further tab at 1280, for the searches (they leave the page they start on)."
    p = site.desktop[0].context.new_page()
    yield p
    p.close()


@pytest.fixture(scope='session')
def dark_index(browser, browser_context_args, site_url) -> dict:
    "The landing page at 1280 after a click on the dark-mode toggle: {'page', 'toggle': found, 'dark': html.quarto-dark}."
    ctx = browser.new_context(**{**browser_context_args, 'viewport': VIEWPORTS[1280]})
    page = ctx.new_page()
    page.goto(site_url + 'index.html', wait_until='load')
    toggle = page.locator('.quarto-color-scheme-toggle')
    state = {'page': page, 'toggle': toggle.count() > 0, 'dark': False}
    if state['toggle']:
        toggle.first.click(timeout=10000)
        try:
            page.wait_for_function("() => document.documentElement.classList.contains('quarto-dark')", timeout=10000)
            state['dark'] = True
        except Exception: pass
    yield state
    ctx.close()


# ---- the closing summary --------------------------------------------------------------------------

def pytest_terminal_summary(terminalreporter):
    if not SELECTED: return   # a run without the site's tests (e.g. `-m "not site"`) gets no site summary
    tr = terminalreporter
    totals = Counter()
    if AXE_LOG: tr.write_sep('-', 'axe-core violations by impact (rules per page)')
    for name, vs in AXE_LOG.items():
        by = Counter(v['impact'] for v in vs)
        totals.update(by)
        rules = ', '.join(f"{v['id']} ({v['impact']}, {v['nodes']})" for v in vs)
        tr.write_line(f"axe {name}: " + ', '.join(f'{by[i]} {i}' for i in IMPACTS) + (f' -- {rules}' if rules else ''))
    n = {k: len([r for r in tr.stats.get(k, []) if getattr(r, 'when', 'call') == 'call' or k != 'passed'])
         for k in ('passed', 'failed', 'skipped', 'error')}
    tr.write_line(f"site: {len(PAGES)} pages, {n['passed'] + n['failed']} checks ({n['failed']} failed, {n['skipped']} skipped"
                  + (f", {n['error']} errors" if n['error'] else '') + '), axe: '
                  + (', '.join(f'{totals[i]} {i}' for i in ('serious', 'critical', 'moderate', 'minor')) if AXE_LOG else 'not run'))
