"""Screenshots of a report in headless Chromium at a phone's and a laptop's width, for reviewing the layout.

    python bench/report_screens.py WORK/reports/as_of=D/report.html NAME [--section voice]

Writes bench/results/report/NAME_390.png and NAME_1280.png: the top of the page, where the priority list is, or
the page from the heading with that id on (the same file cut before it, so the section renders as it does).
"""

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image

RESULTS = Path(__file__).parent / "results" / "report"
WIDTHS = {390: 2400, 1280: 4400}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", type=Path)
    parser.add_argument("name")
    parser.add_argument("--section", help="id of the heading to start the screenshot at")
    arguments = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    RESULTS.mkdir(parents=True, exist_ok=True)
    for width, height in WIDTHS.items():
        with tempfile.TemporaryDirectory() as folder:
            shot = Path(folder) / "shot.png"
            page = arguments.report.resolve().as_uri()
            if arguments.section:
                html = arguments.report.read_text(encoding="utf-8")
                start = html.index(f'<h2 id="{arguments.section}"')
                cut = Path(folder) / "section.html"
                cut.write_text(html[: html.index("<body>") + len("<body>")] + html[start:], encoding="utf-8")
                page = cut.as_uri()
            command = [browser, *FLAGS, f"--window-size={width},{height}", f"--screenshot={shot}", page]
            subprocess.run(command, check=True, capture_output=True)
            target = RESULTS / f"{arguments.name}_{width}.png"
            Image.open(shot).convert("P", palette=Image.Palette.ADAPTIVE).save(target, optimize=True)
            print(target, target.stat().st_size // 1024, "KiB")


if __name__ == "__main__":
    main()
