"""docs/REVIEWING.md's dashboard screenshot (``make screenshot``): the embedded broker and a worker, the
dashboard open in headless Chromium while the sample session plays, and a PNG of it at the end.

Usage: python scripts/dashboard_screenshot.py [OUT.png]   (default docs/dashboard.png)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from producers.footage import FootageOptions, publish_footage
from streams.cli.screenshot import DRAWN, HeadlessChromium, find_chromium
from streams.kafka.clients import session_publisher
from streams.settings import Settings
from streams.stack.local import LocalStack

SAMPLE = Path(".integrity/sample-session")


async def _play_and_shoot(settings: Settings, url: str, chromium: str, out: Path) -> None:
    async with HeadlessChromium(chromium) as browser:
        await browser.open(url)
        await browser.wait_for("document.readyState === 'complete'", 30)
        async with session_publisher(settings) as publisher:
            options = FootageOptions(session_id="s-42", candidate_id="alice", fps=5.0)
            sent = await publish_footage(publisher, SAMPLE, options)
        print(f"replayed {sent} frames; waiting for the final report", file=sys.stderr)
        await browser.wait_for("document.body.innerText.toLowerCase().includes('final report')", 60)
        await browser.wait_for(DRAWN, 10)
        await asyncio.sleep(1.0)
        await browser.screenshot(out)


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/dashboard.png")
    chromium = find_chromium()
    if chromium is None:
        print("no chromium: apt-get install -y --no-install-recommends chromium", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="integrity-screenshot-") as workdir, LocalStack(Path(workdir)) as stack:
        url = f"http://127.0.0.1:{stack.worker.web_port}/dashboard/"
        asyncio.run(_play_and_shoot(stack.settings, url, chromium, out))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
