#!/usr/bin/env python3
"""Tests of `adacomp replay --report FILE.html`: the page is self-contained (no script, no network),
its table and plots carry every codec, and headless Chromium renders it with the plots drawn and no
console message. Without Chromium the rendering checks are skipped and the test exits 77, which
CTest reports as skipped.

usage: html_report_tests.py ADACOMP_BINARY REPO_ROOT
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np

from testlib import Checks

T = Checks(sys.argv[1], sys.argv[2])
SKIPPED = 77


def read_png(path):
    """The RGB pixels of an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes)."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("%s is no PNG" % path)
    at, idat, header = 8, b"", None
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", data[at + 8:at + 8 + length])
        elif kind == b"IDAT":
            idat += data[at + 8:at + 8 + length]
        at += 12 + length
    width, height, depth, color_type, _, _, interlace = header
    if depth != 8 or color_type not in (2, 6) or interlace:
        raise ValueError("%s: a PNG kind this reader does not handle: %r" % (path, header))
    bpp = 3 if color_type == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    out = np.zeros((height, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1).astype(np.int32)
        if kind == 0:
            cur = line
        elif kind == 1:
            cur = np.cumsum(line.reshape(width, bpp), axis=0).reshape(-1) & 255
        elif kind == 2:
            cur = (line + prev) & 255
        else:  # average and Paeth: element by element
            values, above, cur = line.tolist(), prev.tolist(), [0] * stride
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                b, c = above[i], (above[i - bpp] if i >= bpp else 0)
                if kind == 3:
                    cur[i] = (values[i] + ((a + b) >> 1)) & 255
                else:
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    cur[i] = (values[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            cur = np.array(cur, dtype=np.int32)
        out[y], prev = cur, cur
    return out.reshape(height, width, bpp)[:, :, :3]


def render(chromium, page, png, tmp):
    """Headless Chromium's screenshot of `page`; returns its console lines and the exit code."""
    result = subprocess.run([chromium, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
                             "--user-data-dir=" + os.path.join(tmp, "chromium-profile"), "--enable-logging=stderr",
                             "--v=0", "--window-size=900,2000", "--screenshot=" + png, "file://" + page],
                            capture_output=True, text=True, timeout=180)
    return [line for line in result.stderr.splitlines() if ":CONSOLE" in line], result.returncode


def check_page(tmp):
    sample = T.sample
    json_report, page = os.path.join(tmp, "codecs.json"), os.path.join(tmp, "codecs.html")
    for out in (json_report, page):
        result = T.run("replay", sample, "--codec", "all", "--report", out, "-q", "-f")
        T.check(result.returncode == 0, "replay --report %s: exit %d: %s" % (out, result.returncode, result.stderr))
    codecs = json.load(open(json_report))["codecs"]
    html = open(page, encoding="utf-8").read()
    T.check(html.startswith("<!DOCTYPE html>"), "an HTML5 page")
    T.check("<script" not in html and not re.search(r"\b(src|href)=", html) and "http://" not in html and
            "https://" not in html, "self-contained: no script, no external resource, no network address")
    T.check(all(c["codec"] in html for c in codecs), "the table names every codec by its spec")
    for plot in ("ratio-vs-drift", "update-error"):
        T.check('<svg id="%s"' % plot in html, "the page has the %s plot" % plot)
    circles = re.findall(r'<circle class="codec" cx="([\d.]+)" cy="([\d.]+)"', html)
    T.check(len(circles) == len(codecs), "one point per codec in ratio vs drift: %d of %d" % (len(circles), len(codecs)))
    lines = re.findall(r'<polyline class="codec"[^>]*points="([^"]*)"', html)
    T.check(len(lines) == len(codecs) and all(len(points.split()) == len(c["step_update_rel_l2"])
                                              for points, c in zip(lines, codecs)),
            "one line per codec over the steps, a point per step")
    front = re.search(r'<polyline class="pareto"[^>]*points="([^"]*)"', html)
    T.check(front and len(front.group(1).split()) == sum(c["pareto"] for c in codecs), "the Pareto front joined")
    alone = os.path.join(tmp, "alone.html")
    result = T.run("replay", sample, "--report", alone, "-q", "-f")
    T.check(result.returncode == 0 and html_points(alone) == 1, "without --codec the page shows AdaComp alone")
    bad = T.run("replay", sample, "--report", os.path.join(tmp, "report.htm"), "-q")
    T.check(bad.returncode == 2 and ".html" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1,
            "an unknown report extension: one usage line naming .html")
    return page, html


def html_points(path):
    return len(re.findall(r'<circle class="codec"', open(path, encoding="utf-8").read()))


def check_rendering(page, html, tmp):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        T.skip("rendering in headless Chromium: no chromium on PATH (Debian package chromium)")
        return False
    # The console capture works here: a control page's console.error shows up.
    control = os.path.join(tmp, "control.html")
    open(control, "w").write('<!DOCTYPE html><html><body><script>console.error("adacomp-probe")</script></body></html>')
    console, _ = render(chromium, control, os.path.join(tmp, "control.png"), tmp)
    console_works = any("adacomp-probe" in line for line in console)
    png = os.path.join(tmp, "codecs.png")
    console, code = render(chromium, page, png, tmp)
    T.check(code == 0 and os.path.exists(png), "Chromium renders the page to a screenshot (exit %d)" % code)
    if not os.path.exists(png):
        return True
    if console_works:
        T.check(console == [], "no console message while the page loads: %r" % console)
    else:
        T.skip("the page's console: this Chromium does not log console messages to stderr")
    # The same page with the plots' marks taken out: what differs is what the plots drew.
    bare = os.path.join(tmp, "bare.html")
    open(bare, "w", encoding="utf-8").write(re.sub(r'<(circle|polyline) class="(codec|pareto)".*?</?\1>|'
                                                   r'<polyline class="pareto"[^>]*/>', "", html, flags=re.S))
    bare_png = os.path.join(tmp, "bare.png")
    render(chromium, bare, bare_png, tmp)
    shot, plain = read_png(png), read_png(bare_png)
    T.check(shot.shape == plain.shape and shot.shape[1] == 900, "screenshots of the window's size")
    if shot.shape != plain.shape:
        return True
    drawn = np.any(shot != plain, axis=2)
    T.check(drawn.sum() > 2000, "the plots draw their points and lines: %d pixels" % drawn.sum())
    palette = {tuple(int(h[i:i + 2], 16) for i in (1, 3, 5)) for h in re.findall(r'fill="(#[0-9a-f]{6})"', html)}
    marks = {tuple(p) for p in shot[drawn].reshape(-1, 3)}
    T.check(len(palette & marks) >= min(len(palette), 8), "the points have their codecs' colours: %d of %d" %
            (len(palette & marks), len(palette)))
    T.check(shot.reshape(-1, 3).std() > 10, "the screenshot is not blank")
    return True


def main():
    with tempfile.TemporaryDirectory() as tmp:
        page, html = check_page(tmp)
        rendered = check_rendering(page, html, tmp)
    code = T.finish("html report")
    return code if code or rendered else SKIPPED


if __name__ == "__main__":
    sys.exit(main())
