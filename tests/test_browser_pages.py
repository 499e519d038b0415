"""No page scrolls sideways, and none has a serious accessibility fault, at a desktop and a
phone width (issue 16, item 4).

Every page the app serves (found from its own routes, as tests/test_browser.py finds
them) is visited as every role in real headless Chromium at 1280 px and at 375 px. A page
fails when its document is wider than the window, that is when the reader would have to
scroll the whole page sideways (a table scrolling inside its own focusable region is
fine), and when axe-core finds a serious or critical WCAG 2.2 AA violation at that width.
"""

from __future__ import annotations

import hashlib

import pytest

# The site, the browser, signing in and axe come from the browser tests' own module, so
# that both visit the same pages in the same way.
import test_browser as tb

ROLES, axe_violations, describe = tb.ROLES, tb.axe_violations, tb.describe
html_pages, sign_in = tb.html_pages, tb.sign_in
site, browser, axe_source = tb.site, tb.browser, tb.axe_source  # fixtures

WIDTHS = (1280, 375)
#: Pages already checked by axe, by width and a hash of their <main>.
SEEN: set[tuple[int, str]] = set()

#: How wide the document is, and the widest elements that stick out of the window (the
#: culprits a developer should look at), found in the page.
MEASURE = """() => {
  const view = window.innerWidth;
  const wide = document.documentElement.scrollWidth;
  const out = [];
  if (wide > view) {
    for (const el of document.querySelectorAll('main *')) {
      const r = el.getBoundingClientRect();
      if (r.right > view + 1 && el.closest('.app-table-wrapper, svg') === null) {
        out.push([Math.round(r.right), el.tagName.toLowerCase() +
          (el.id ? '#' + el.id : '') +
          (el.className && typeof el.className === 'string'
            ? '.' + el.className.trim().split(/\\s+/).slice(0, 2).join('.') : '')]);
      }
    }
  }
  out.sort((a, b) => b[0] - a[0]);
  return {view, wide, culprits: out.slice(0, 3).map(x => x[1] + ' (to ' + x[0] + ' px)')};
}"""


def overflow(page) -> str | None:
    """None when the document fits the window, else what is too wide."""
    found = page.evaluate(MEASURE)
    if found["wide"] <= found["view"]:
        return None
    return f"document {found['wide']} px wide in a {found['view']} px window; widest: " + (
        ", ".join(found["culprits"]) or "(outside <main>)"
    )


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("role", ROLES)
def test_no_page_scrolls_sideways_and_axe_finds_nothing_serious(
    site, browser, axe_source, role, width
):
    app, url = site
    state = sign_in(browser, url, role)
    context = browser.new_context(storage_state=state, viewport={"width": width, "height": 900})
    page = context.new_page()
    wide, faults, visited = [], [], 0
    for path in html_pages(app):
        response = page.goto(f"{url}{path}")
        assert response is not None and response.status in (200, 403), (path, response)
        visited += 1
        problem = overflow(page)
        if problem:
            wide.append(f"{path}: {problem}")
        body = hashlib.sha256(page.inner_html("main").encode()).hexdigest()
        key = (width, body)
        # axe at desktop width already ran on this very page body in test_browser.py
        # (its CHECKED set): not run twice, to keep the suite in its time
        if key in SEEN or (width >= 1024 and body in tb.CHECKED):
            continue
        SEEN.add(key)
        found = axe_violations(page, axe_source)
        if found:
            faults.append(f"{path}: {describe(found)}")
    context.close()
    assert visited > 10
    assert not wide, f"pages wider than {width} px as {role}:\n" + "\n".join(wide)
    assert not faults, f"axe at {width} px as {role}:\n" + "\n".join(faults)


def test_the_measure_catches_a_page_that_is_too_wide(site, browser):
    """The check itself: a page made too wide on purpose is caught, and a wide table
    inside its own scrolling region is not."""
    _, url = site
    context = browser.new_context(viewport={"width": 375, "height": 700})
    page = context.new_page()
    page.goto(f"{url}/sign-in")
    assert overflow(page) is None
    page.evaluate(
        "() => { const d = document.createElement('div');"
        " d.className = 'app-table-wrapper';"
        " d.innerHTML = '<table><tr><td style=\"white-space:nowrap\">' + 'x'.repeat(400) +"
        " '</td></tr></table>'; document.querySelector('main').appendChild(d); }"
    )
    assert overflow(page) is None
    page.evaluate(
        "() => { const d = document.createElement('div'); d.id = 'too-wide';"
        " d.style.width = '900px'; d.style.height = '10px';"
        " document.querySelector('main').appendChild(d); }"
    )
    problem = overflow(page)
    assert problem is not None and "div#too-wide" in problem, problem
    context.close()
