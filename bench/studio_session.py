"""Time the studio's interactions in headless Chromium and take the README's screenshots.

    PYTHONPATH=src python bench/studio_session.py --generator runs/00000-dcgan-mnist \
        --style runs/00001-stylegan-emoji64 --upscale runs/00002-srgan-x4 \
        --colorize runs/00003-pix2pix-colorize --inpaint runs/00004-pix2pix-inpaint --shots docs/studio

Prints one line per interaction: wall seconds as the user waits for it (click to result on screen)
and the CPU seconds the server process spent meanwhile. Screenshots of every page at desktop
(1280x800) and phone (390x844) widths go to --shots, quantized to keep them small.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from ganforge.studio import StudioLimits, StudioServer, create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def timed(label: str, fn, rows: list) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    row = (label, time.perf_counter() - wall, time.process_time() - cpu)
    rows.append(row)
    print(f"{row[0]:<58} {row[1]:7.2f} s wall  {row[2]:7.2f} s CPU (server)", flush=True)


def photo(path: Path, size: tuple[int, int], gray: bool = False) -> Path:
    """A real photograph (scikit-image's cat) at `size`, as a PNG upload."""
    from skimage import data

    image = Image.fromarray(data.chelsea()).resize(size, Image.LANCZOS)
    if gray:
        image = image.convert("L")
    image.save(path)
    return path


def save_small(page, path: Path, full: bool = False) -> None:
    png = page.screenshot(full_page=full)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        path, optimize=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for name in ("generator", "style", "upscale", "colorize", "inpaint"):
        parser.add_argument(f"--{name}", required=name == "generator")
    parser.add_argument("--shots", type=Path, default=None, help="folder for the screenshots")
    parser.add_argument("--project-steps", type=int, default=200)
    parser.add_argument(
        "--big", type=int, default=1000, help="width of the upscale photo (x4: 12 MP at 1000)"
    )
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from playwright.sync_api import sync_playwright

    paths = [p for p in (args.generator, args.style, args.upscale, args.colorize, args.inpaint) if p]
    limits = StudioLimits(max_upload_bytes=64 * 1024 * 1024, max_pixels=4_000_000, timeout_s=3600)
    app = create_app(paths, limits)
    names = [m["name"] for m in app.state.manager.infos()]
    gen, style = names[0], (names[1] if args.style else None)
    tmp = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    rows: list = []
    with StudioServer(app) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        url = server.url + "/"

        def ready() -> None:
            page.goto(url)
            page.wait_for_selector("body[data-ready=true]")

        timed("open the page (models, first image)", ready, rows)

        def new_image() -> None:
            before = page.get_attribute("#hero-img", "src")
            page.click("#gen-new")
            page.wait_for_function("b => document.getElementById('hero-img').src !== b", arg=before)

        page.select_option("#gen-model", gen)
        page.wait_for_timeout(300)
        timed(f"new image ({gen})", new_image, rows)

        def seed_grid() -> None:
            page.fill("#grid-seed", "100")
            page.fill("#grid-count", "16")
            page.click("#grid-go")
            page.wait_for_function("() => document.querySelectorAll('#grid .card').length === 16")

        timed(f"seed grid of 16 ({gen})", seed_grid, rows)
        for seed in ("100", "103"):
            page.click(f"#grid .card[data-seed='{seed}'] .pick")
        page.goto(url + "#/breed")

        def breed() -> None:
            before = page.eval_on_selector("#children", "c => c.innerHTML")
            page.fill("#children-count", "8")
            page.click("#breed-go")
            page.wait_for_function(
                "b => document.getElementById('children').innerHTML !== b "
                "&& document.querySelectorAll('#children .card').length === 8",
                arg=before,
            )

        timed(f"breed 8 children of 2 parents ({gen})", breed, rows)
        for generation in range(2):
            page.locator("#children .card .pick").first.click()
            timed(f"breed generation {generation + 3} (3 parents, 8 children)", breed, rows)
        page.locator("#children .card .star").nth(2).click()
        page.locator("#children .card .star").nth(5).click()

        def undo() -> None:
            page.click("#undo")
            page.wait_for_function("() => !document.querySelector('#favourites .card:nth-child(2)')")

        timed("undo (a star)", undo, rows)
        page.click("#redo")

        def reload() -> None:
            page.reload()
            page.wait_for_selector("body[data-ready=true]")
            page.wait_for_function("() => document.querySelectorAll('#tree .node').length > 0")

        timed("reload: the session back from localStorage", reload, rows)
        page.goto(url + "#/breed")
        page.wait_for_timeout(300)
        if args.shots:
            save_small(page, args.shots / "breed-desktop.png")
        # photo in
        cat = photo(tmp / "cat.png", (320, 240), gray=app.state.manager.infos()[0].get("channels") == 1)
        page.select_option("#photo-model", gen)
        page.set_input_files("#photo-file", str(cat))
        page.fill("#photo-steps", str(args.project_steps))

        def project() -> None:
            page.eval_on_selector("#photo-note", "n => { n.textContent = ''; }")
            page.click("#photo-go")
            page.wait_for_function(
                "() => document.getElementById('photo-note').textContent.includes('now a parent')"
            )

        timed(f"project a photo into {gen} ({args.project_steps} steps, pixels)", project, rows)
        page.check("#photo-perceptual")
        timed(f"project a photo into {gen} ({args.project_steps} steps, +perceptual)", project, rows)
        page.uncheck("#photo-perceptual")
        first = page.locator("#children .card").first.get_attribute("data-id")
        page.locator("#children .card img").first.click()
        page.click("#viewer-share")
        link = page.input_value("#share-url")
        page.keyboard.press("Escape")

        def share() -> None:
            fresh = browser.new_context()
            other = fresh.new_page()
            other.goto(link)
            other.wait_for_function("() => document.getElementById('shared-img').src.startsWith('data:')")
            fresh.close()

        timed(f"open a share link (child #{first}) in a fresh browser", share, rows)
        page.goto(url + "#/interpolate")

        def interpolate() -> None:
            page.fill("#interp-frames", "8")
            page.click("#interp-go")
            page.wait_for_function("() => !document.getElementById('interp-result').hidden")

        timed("interpolate: GIF of 9 frames", interpolate, rows)
        if style:
            page.goto(url + "#/mix")
            page.select_option("#mix-model", style)

            def mix() -> None:
                page.fill("#mix-rows", "1,2,3")
                page.fill("#mix-cols", "4,5,6")
                page.click("#mix-go")
                page.wait_for_function("() => document.querySelectorAll('#mix-grid .mix-cell').length === 9")

            timed(f"style-mixing grid 3x3 ({style})", mix, rows)
        if args.colorize:
            page.goto(url + "#/colorize")
            page.set_input_files("#img-file", str(photo(tmp / "gray.png", (256, 192), gray=True)))

            def colorize() -> None:
                page.click("#img-go")
                page.wait_for_selector("#compare:not([hidden])")

            timed("colorize a 256x192 photo", colorize, rows)
        if args.upscale:
            page.goto(url + "#/upscale")
            big = photo(tmp / "big.png", (args.big, args.big * 3 // 4))
            page.set_input_files("#img-file", str(big))
            out_mp = args.big * 4 * args.big * 3 // 4 * 4 / 1e6
            page.click("#img-go")
            row = page.locator("#jobs .job[data-route=upscale]")
            t0 = time.perf_counter()
            page.wait_for_function(
                "() => Number(document.querySelector('#jobs .job[data-route=upscale]')?.dataset.done) >= 2",
                timeout=600_000,
            )
            tiles = time.perf_counter() - t0
            done, total = int(row.get_attribute("data-done")), int(row.get_attribute("data-total"))
            rows.append((f"upscale x4 to {out_mp:.0f} MP: first {done} of {total} tiles", tiles, 0.0))
            print(
                f"upscale x4 to {out_mp:.0f} MP: {done}/{total} tiles after {tiles:.1f} s "
                f"(about {tiles / done * total:.0f} s for all)",
                flush=True,
            )
            if args.shots:
                page.set_viewport_size({"width": 1280, "height": 800})
                save_small(page, args.shots / "upscale-progress-desktop.png")

            def cancel() -> None:
                row.locator("button.cancel").click()
                page.wait_for_function(
                    "() => document.getElementById('status').textContent === 'Upscale: cancelled'"
                )

            timed("cancel the running upscale (until the page is free)", cancel, rows)
        if args.shots:
            shots(page, url, args, tmp, style)
        browser.close()
    print("\n| interaction | wall s | server CPU s |\n|---|---|---|")
    for label, wall, cpu in rows:
        print(f"| {label} | {wall:.2f} | {cpu:.2f} |")


def shots(page, url: str, args, tmp: Path, style: str | None) -> None:
    """Every page at both widths, each after a typical action."""
    args.shots.mkdir(parents=True, exist_ok=True)
    small = photo(tmp / "small.png", (96, 72))
    for size, (w, h) in SIZES.items():
        page.set_viewport_size({"width": w, "height": h})
        for name in ("generate", "breed", "interpolate", "mix", "edit", "colorize", "upscale", "inpaint"):
            if not page.locator(f"#tabs button[data-tab={name}]").count():
                continue
            page.goto(url + f"#/{name}")
            page.evaluate("() => window.scrollTo(0, 0)")
            page.wait_for_timeout(250)
            if name in ("colorize", "upscale", "inpaint"):
                gray = name == "colorize"  # what a colorize user brings: a black-and-white photo
                upload = small if name == "upscale" else photo(tmp / f"mid-{gray}.png", (256, 192), gray)
                page.set_input_files("#img-file", str(upload))
                if name == "inpaint":
                    box = page.locator("#mask-canvas").bounding_box()
                    page.mouse.move(box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.4)
                    page.mouse.down()
                    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.55, steps=6)
                    page.mouse.up()
                page.click("#img-go")
                page.wait_for_selector("#compare:not([hidden])", timeout=600_000)
                page.locator("#compare").scroll_into_view_if_needed()
            if name == "edit":
                page.locator("#tabs button[data-tab=breed]").click()
                page.locator("#tree .node").first.click()
                page.click("#viewer-edit")
            page.wait_for_timeout(300)
            save_small(page, args.shots / f"{name}-{size}.png")
        page.goto(url + "#/breed")
        page.locator("#tree").scroll_into_view_if_needed()
        page.evaluate("() => document.getElementById('tree').scrollIntoView()")
        page.wait_for_timeout(200)
        save_small(page, args.shots / f"tree-{size}.png")
        page.locator("#tree .node").nth(1).click()
        page.wait_for_timeout(200)
        save_small(page, args.shots / f"large-view-{size}.png")
        page.keyboard.press("Escape")
    page.set_viewport_size({"width": 1280, "height": 800})


if __name__ == "__main__":
    sys.exit(main())
