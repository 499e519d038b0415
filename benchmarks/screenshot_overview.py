"""Take the README's screenshot of the overview page: docs/images/overview.png.

Reproducible: a synthetic partnership (fixed size and seed) is generated and built in a
temporary folder, the app is served on 127.0.0.1, a board member signs in through the
sign-in form, and headless Chromium photographs the page at a fixed window size.

    .venv/bin/python benchmarks/screenshot_overview.py [--out docs/images/overview.png]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from joinedup.access import create_user
from joinedup.pipeline import build
from joinedup.report.pdf import launch_chromium
from joinedup.synth import generate
from joinedup.web import create_app
from joinedup.web.assets import ensure_assets
from joinedup.web.live import live_server

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "screenshot-only-synthetic-data"  # a throwaway account in a temporary folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "overview.png")
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    ensure_assets()
    with tempfile.TemporaryDirectory(prefix="joinedup-shot-") as tmp:
        folder = Path(tmp) / "partnership"
        generate(folder, people=args.people, seed=args.seed)
        build(folder)
        app = create_app(folder)
        create_user(
            app.state.governance.state,
            username="board",
            display_name="Board member",
            agency="police",
            roles=["board_member"],
            password=PASSWORD,
            actor="screenshot",
        )
        with live_server(app) as url, sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            page.goto(f"{url}/sign-in")
            page.fill("#username", "board")
            page.fill("#password", PASSWORD)
            page.click("#sign-in-button")
            page.wait_for_url(f"{url}/")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=False)
            browser.close()
        app.state.governance.close()
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
