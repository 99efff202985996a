"""The course website in a real browser: every page of a built site opened in headless Chromium.

    python scripts/site_check.py OUT        # OUT: what `bash scripts/build_site.sh OUT` wrote

A page fails when
- a link inside the site is broken: a page, file or anchor (``#id``) that OUT does not have (read
  from the HTML files, ``broken_links``; links to other sites are not followed: there is no network);
- it loads anything from outside OUT (a stylesheet, script, font, image: the site must work offline),
  read from the HTML and watched in the browser;
- it does not render in Chromium (served from 127.0.0.1): an HTTP error, a JavaScript error, an
  empty article, maths that MathJax did not typeset, or an image that did not load (naturalWidth 0);
- a widget shows as its text (``VBox(children=...)``) or as an empty box;
- a chapter lacks its Binder and Colab launch links (exactly ``scripts/links.py``'s), or another
  page its Binder link; the search page finds nothing for a word of the course.
Prints one line per page, then ``site: N passed, N failed`` (exit 1 on a failure). Chromium and
playwright are installed as ``scripts/browser_check.py`` installs them, when missing.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import posixpath
import re
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import links  # noqa: E402
import site_source  # noqa: E402

EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.I)  # http:, https:, mailto:, javascript:, ...
SEARCH_WORD = "valley"
WIDGET_TEXT = re.compile(r"\b(?:VBox|HBox|interactive)\(children=|application/vnd\.jupyter\.widget-view\+json")


# -- the HTML files ---------------------------------------------------------------------------------------
class _Page(HTMLParser):
    """A page's ids, links (``<a href>``) and resources (what the browser loads: stylesheets,
    scripts, images, frames) and its redirect target (``<meta http-equiv=refresh>``), if any."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.links, self.resources, self.redirect = set(), [], [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if a.get(key):
                self.ids.add(a[key])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "link" and a.get("href") and not {"canonical", "alternate"} & set((a.get("rel") or "").split()):
            self.resources.append(a["href"])
        elif tag in ("script", "img", "iframe", "source", "audio", "video", "embed") and a.get("src"):
            self.resources.append(a["src"])
        elif tag == "meta" and (a.get("http-equiv") or "").lower() == "refresh":
            self.redirect = (a.get("content") or "").partition("url=")[2].strip() or None


@functools.lru_cache(maxsize=None)
def parse(path: Path) -> _Page:
    p = _Page()
    p.feed(path.read_text(encoding="utf-8", errors="replace"))
    return p


def pages(out: Path) -> list:
    """The site's pages: every HTML file outside the copied assets."""
    return sorted(p for p in out.rglob("*.html") if not {"_static", "_sources", "_images"} & set(p.relative_to(out).parts))


def _target(out: Path, page: Path, url: str):
    """The file an internal URL of ``page`` points at (None when it leaves OUT), and its fragment."""
    parts = urlsplit(url)
    rel = unquote(parts.path)
    path = page if not rel else (out / rel.lstrip("/") if rel.startswith("/") else page.parent / rel)
    path = Path(posixpath.normpath(path.as_posix()))
    if path != out and out not in path.parents:
        return None, parts.fragment
    return (path / "index.html" if path.is_dir() else path), unquote(parts.fragment)


def broken_links(out: Path, page: Path) -> list:
    """What is wrong with ``page``'s links and resources, read from its HTML (no browser)."""
    out, bad = Path(out).resolve(), []
    page = Path(page).resolve()
    p = parse(page)
    for url in p.resources:
        if EXTERNAL.match(url) and not url.startswith("data:"):
            bad.append(f"loads a resource from outside the site: {url}")
        elif not url.startswith("data:"):
            target, _ = _target(out, page, url)
            if target is None or not target.is_file():
                bad.append(f"missing resource: {url}")
    for url in p.links + ([p.redirect] if p.redirect else []):
        if EXTERNAL.match(url) or url == "#":
            continue
        target, frag = _target(out, page, url)
        if target is None or not target.is_file():
            bad.append(f"broken link: {url} (no such file)")
        elif frag and target.suffix == ".html" and frag not in parse(target).ids:
            bad.append(f"broken link: {url} (no #{frag} there)")
    return bad


def launch_problems(rel: str, page: _Page) -> list:
    """A chapter links Binder and Colab at exactly its notebook; the other pages Binder."""
    nbs = {f"notebooks/{nb.stem}.html": nb.name for nb in site_source.chapters()}
    others = {rel.removesuffix(".md") + ".html" for rel in site_source.PAGES}
    want = ([links.binder_url(nbs[rel]), links.colab_url(nbs[rel])] if rel in nbs
            else [links.binder_url()] if rel in others else [])
    return [f"no launch link {url}" for url in want if url not in page.links]


# -- the browser ------------------------------------------------------------------------------------------
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # a browser that hung up early: not the site's fault
        pass


def serve(out: Path):
    """OUT on http://127.0.0.1:<free port> in a thread; returns (server, base URL)."""
    handler = functools.partial(_Quiet, directory=str(out))
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


JS_IMAGES = """async () => {
  const imgs = [...document.images];
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; setTimeout(r, 10000); })));
  return {n: imgs.length, broken: imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src'))};
}"""
JS_MATH = """async () => {
  const maths = [...document.querySelectorAll('.math')];
  if (!maths.length) return {n: 0, untypeset: 0, errors: 0};
  const t0 = Date.now();
  while (!(window.MathJax && MathJax.startup && MathJax.startup.promise) && Date.now() - t0 < 2000)  // its script ran before "load"
    await new Promise(r => setTimeout(r, 100));
  if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) return {n: maths.length, untypeset: maths.length, errors: 0, missing: true};
  await MathJax.startup.promise;
  return {n: maths.length, untypeset: maths.filter(m => !m.querySelector('mjx-container')).length,
          errors: document.querySelectorAll('mjx-merror').length};
}"""
JS_ARTICLE = "() => { const a = document.querySelector('article') || document.body; return a.innerText.trim().length; }"


def check_in_browser(page, base: str, rel: str, redirect, shot: Path | None = None) -> tuple[list, str]:
    """Open one page; returns (failures, a short summary)."""
    fails, errors, remote, http_errors = [], [], [], []
    page.on("pageerror", lambda e: errors.append(str(e).splitlines()[0][:200]))
    page.on("response", lambda r: r.status >= 400 and not r.url.endswith("/favicon.ico")
            and http_errors.append(f"{r.status} {r.url[len(base) - 1:]}"))

    def route(r):
        url = r.request.url
        if url.startswith(base) or url.startswith(("data:", "blob:")):
            return r.continue_()
        remote.append(url)
        return r.abort()

    page.route("**/*", route)
    url = base + rel + (f"?q={SEARCH_WORD}" if rel == "search.html" else "")
    if redirect:
        page.goto(url)
        want = (base + posixpath.normpath(posixpath.join(posixpath.dirname(rel), redirect)))
        try:
            page.wait_for_url(want, timeout=10_000)
            page.wait_for_load_state("load")
        except Exception:
            fails.append(f"did not redirect to {redirect}")
        info = f"redirects to {redirect}"
    else:
        page.goto(url, wait_until="load")
        if page.evaluate(JS_ARTICLE) == 0:
            fails.append("renders an empty page")
        imgs, maths = page.evaluate(JS_IMAGES), page.evaluate(JS_MATH)
        fails += [f"image did not load: {src}" for src in imgs["broken"]]
        if maths.get("missing"):
            fails.append("MathJax did not load")
        elif maths["untypeset"] or maths["errors"]:
            fails.append(f"maths: {maths['untypeset']} of {maths['n']} not typeset, {maths['errors']} MathJax errors")
        info = f"{imgs['n']} images, {maths['n']} maths"
        if rel == "search.html":
            try:
                page.wait_for_selector("#search-results li", timeout=20_000)
                info += f", search '{SEARCH_WORD}': {page.locator('#search-results li').count()} results"
            except Exception:
                fails.append(f"search for '{SEARCH_WORD}' found nothing")
        if shot is not None:
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
    fails += [f"JavaScript error: {e}" for e in errors]
    fails += [f"HTTP {e}" for e in http_errors]
    fails += [f"asked for a resource outside the site: {u}" for u in remote]
    return fails, info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="the built site (scripts/build_site.sh OUT)")
    ap.add_argument("--shots", help="write a full-page screenshot of every page into this folder")
    args = ap.parse_args(argv)
    out = Path(args.out).resolve()
    if not (out / "index.html").is_file():
        sys.exit(f"{out}: no index.html (build it first: bash scripts/build_site.sh {args.out})")
    from browser_check import CHROMIUM_FLAGS, ensure_chromium, ensure_playwright

    chromium, sync_playwright = ensure_chromium(), ensure_playwright()
    t0 = time.time()
    server, base = serve(out)
    results = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
            for path in pages(out):
                rel = path.relative_to(out).as_posix()
                t = time.time()
                fails = broken_links(out, path) + launch_problems(rel, parse(path))
                if WIDGET_TEXT.search(path.read_text(encoding="utf-8", errors="replace")):
                    fails.append("a widget shows as text or as an empty box (it needs a kernel: site_source.py makes it a note)")
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                try:
                    shot = Path(args.shots) / (rel.removesuffix(".html").replace("/", "_") + ".png") if args.shots else None
                    more, info = check_in_browser(page, base, rel, parse(path).redirect, shot)
                except Exception as e:  # a crash of the check is a failure of this page
                    more, info = [f"the check crashed: {type(e).__name__}: {e}"[:300]], ""
                page.close()
                fails += more
                results.append(not fails)
                n_links = len(parse(path).links)
                print(f"{'ok  ' if not fails else 'FAIL'} {rel}: {info}, {n_links} links ({time.time() - t:.1f} s)", flush=True)
                for f in fails[:20]:
                    print(f"    - {f}", flush=True)
                if len(fails) > 20:
                    print(f"    - ... and {len(fails) - 20} more", flush=True)
            browser.close()
    finally:
        server.shutdown()
    n_bad = results.count(False)
    print(f"site check took {time.time() - t0:.1f} s ({len(results)} pages of {out})")
    print(f"site: {len(results) - n_bad} passed, {n_bad} failed")
    return 1 if n_bad or not results else 0


if __name__ == "__main__":
    sys.exit(main())
