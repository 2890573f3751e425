#!/usr/bin/env python3
"""Renders a PruneKit HTML report in headless Chromium, saves a PNG, and fails when the page logs
console errors, a chart is empty, or the screenshot is blank.

usage: scripts/report_screenshot.py REPORT.html OUT.png [--width 1280] [--height N]

Needs the Debian package `chromium` (apt-get install -y chromium). Checks:
  - Chromium's log (--enable-logging=stderr) has no console error / uncaught exception lines;
  - the DOM Chromium built (--dump-dom) has at least one chart, and every <svg class="chart"> has
    data-points > 0 and as many drawn bars/points;
  - the PNG exists and is not one flat colour.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zlib


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("report_screenshot: no chromium found (apt-get install -y chromium)")


def run(args, timeout=120):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


def flags(profile):
    return ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=" + profile,
            "--enable-logging=stderr", "--v=0", "--no-first-run", "--disable-extensions"]


def check_charts(dom):
    charts = re.findall(r'<svg class="chart" data-points="(\d+)".*?</svg>', dom, flags=re.S)
    bodies = re.findall(r'(<svg class="chart".*?</svg>)', dom, flags=re.S)
    problems = []
    if not bodies:
        problems.append("the page has no charts")
    for count, body in zip(charts, bodies):
        title = re.search(r'aria-label="([^"]*)"', body)
        name = title.group(1) if title else "?"
        drawn = len(re.findall(r'class="(?:bar|point)"', body))
        if int(count) == 0 or drawn == 0:
            problems.append(f"chart '{name}' is empty")
        elif drawn != int(count):
            problems.append(f"chart '{name}' draws {drawn} marks for {count} values")
    return len(bodies), problems


def png_is_flat(path):
    """True when every decoded pixel row of the PNG is identical to the first (a blank page)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return True
    pos, idat, width, height, bpp = 8, b"", 0, 0, 4
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = int.from_bytes(body[0:4], "big"), int.from_bytes(body[4:8], "big")
            bpp = {2: 3, 6: 4, 0: 1, 4: 2}.get(body[9], 4)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp + 1
    # Filtered rows: a flat image compresses to rows whose filtered bytes are all equal after row 0.
    distinct = {raw[i * stride + 1:(i + 1) * stride] for i in range(1, min(height, 400))}
    return len(distinct) <= 1 and len(set(raw[1:stride])) <= 2


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("report")
    p.add_argument("png")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=0, help="default: tall enough for the page's charts")
    a = p.parse_args()
    if not os.path.isfile(a.report):
        sys.exit(f"report_screenshot: {a.report}: no such file")
    url = "file://" + os.path.abspath(a.report)
    exe = chromium()
    with tempfile.TemporaryDirectory() as profile:
        dom = run([exe] + flags(profile) + ["--dump-dom", url])
        if dom.returncode != 0:
            sys.exit(f"report_screenshot: chromium --dump-dom failed ({dom.returncode}): {dom.stderr[-2000:]}")
        count, problems = check_charts(dom.stdout)
        height = a.height or min(16000, 900 + 430 * count + 30 * dom.stdout.count("<tr>"))
        shot = run([exe] + flags(profile) + [f"--window-size={a.width},{height}", "--screenshot=" + os.path.abspath(a.png), url])
    log = dom.stderr + shot.stderr
    errors = [line for line in log.splitlines()
              if "CONSOLE" in line and re.search(r"error|uncaught", line, re.I)]
    problems += [f"console: {line.strip()}" for line in errors]
    if shot.returncode != 0 or not os.path.isfile(a.png):
        problems.append(f"no screenshot ({shot.returncode}): {shot.stderr[-1000:]}")
    elif png_is_flat(a.png):
        problems.append(f"{a.png} is blank")
    if problems:
        print("report_screenshot: FAILED\n  " + "\n  ".join(problems), file=sys.stderr)
        sys.exit(1)
    print(f"report_screenshot: {a.png} ({count} charts, {a.width}×{height}, no console errors)")


if __name__ == "__main__":
    main()
