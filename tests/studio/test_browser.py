"""End to end in headless Chromium (Playwright): load the page, generate, breed and keep breeding,
export and import the lineage, interpolate, translate an upload and inpaint a painted mask.

Screenshots are kept in test-artifacts/studio/ (or $GANFORGE_TEST_ARTIFACTS/studio/)."""

import json
import os
import re
import shutil
from pathlib import Path

import httpx
import pytest

from studio.conftest import pattern

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = (
    Path(os.environ.get("GANFORGE_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts")) / "studio"
)

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
if not Path(CHROMIUM).exists():
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    yield page
    context.close()
    assert errors == [], errors  # no script errors on the page


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def natural_size(page, selector: str) -> tuple[int, int]:
    page.wait_for_function(f"() => document.querySelector('{selector}').naturalWidth > 0")
    return tuple(page.eval_on_selector(selector, "img => [img.naturalWidth, img.naturalHeight]"))


def set_value(page, selector: str, value) -> None:
    page.eval_on_selector(
        selector, "(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); }", str(value)
    )


def open_tab(page, name: str) -> None:
    """Click a tab and wait until the page shows it (the switch runs on hashchange, after the click)."""
    page.click(f"#tabs button[data-tab={name}]")
    page.wait_for_function(f"() => document.body.dataset.tab === '{name}'")


def goto_page(page, url: str) -> None:
    """Go to a studio page's address (.../#/<page>) and wait until the page shows it."""
    page.goto(url)
    name = url.split("#/", 1)[1].split("?", 1)[0]
    page.wait_for_function(f"() => document.body.dataset.tab === '{name}'")


def seed_grid(page, first: int, count: int) -> None:
    page.fill("#grid-seed", str(first))
    page.fill("#grid-count", str(count))
    page.click("#grid-go")
    page.wait_for_function(f"() => document.querySelectorAll('#grid .card').length === {count}")


def api_png(server, seed: int, class_index: int) -> str:
    body = {"model": "digits", "seeds": [seed], "class_index": class_index}
    return httpx.post(server.url + "/api/generate", json=body).json()["images"][0]["png"]


def test_page_lists_models_and_generates(page, server):
    assert page.locator("#models li").count() == 5
    tabs = page.locator("#tabs button").all_inner_texts()
    assert tabs == [
        "Generate",
        "Breed",
        "Interpolate",
        "Mix",
        "Edit",
        "Translate",
        "Upscale",
        "Inpaint",
    ]  # no colorize model
    assert natural_size(page, "#hero-img") == (8, 8)
    caption = page.inner_text("#hero-caption")
    seed = int(re.fullmatch(r"seed (\d+), class c0", caption).group(1))
    assert page.get_attribute("#hero-img", "src") == api_png(server, seed, 0)
    download = page.get_attribute("#hero-download", "href")
    png = httpx.get(server.url + download)
    assert png.headers["content-type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.is_visible("#gen-class") and not page.is_visible("#gen-trunc")  # conditional DCGAN
    page.select_option("#gen-class", "2")
    page.wait_for_function("() => document.getElementById('hero-caption').textContent.endsWith('class c2')")
    seed_grid(page, 10, 6)
    cards = page.locator("#grid .card")
    assert [cards.nth(i).get_attribute("data-seed") for i in range(6)] == [str(s) for s in range(10, 16)]
    assert cards.nth(3).locator("img").get_attribute("src") == api_png(server, 13, 2)
    shot(page, "generate.png")
    page.select_option("#gen-model", "style")
    page.wait_for_selector("#gen-trunc", state="visible")
    assert not page.is_visible("#gen-class")  # the style model has truncation and no classes
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_function("() => document.getElementById('hero-caption').textContent.startsWith('seed')")
    assert page.inner_text("#hero-caption") != caption  # a new image on every visit


def test_breed_two_parents_keep_breeding_and_round_trip_the_lineage(page, server, browser, tmp_path):
    seed_grid(page, 10, 6)
    page.click("#grid .card[data-seed='10'] .pick")
    page.click("#grid .card[data-seed='11'] .pick")
    assert page.locator("#grid .card.selected").count() == 2
    open_tab(page, "breed")
    assert page.locator("#parents .parent").count() == 2
    set_value(page, "#parents .parent:nth-child(1) input[type=range]", 80)
    set_value(page, "#mutation", 0.4)
    page.fill("#children-count", "6")
    page.fill("#breed-seed", "5")
    page.click("#breed-go")
    page.wait_for_function("() => document.querySelectorAll('#children .card').length === 6")
    assert natural_size(page, "#children .card:nth-child(6) img") == (8, 8)
    body = {
        "model": "digits",
        "parents": [{"seed": 10, "class_index": 0}, {"seed": 11, "class_index": 0}],
        "shares": [80, 50],
        "mutation": 0.4,
        "seed": 5,
        "count": 6,
    }
    expected = httpx.post(server.url + "/api/breed", json=body).json()["children"]
    shown = [page.locator("#children .card img").nth(i).get_attribute("src") for i in range(6)]
    assert shown == [c["png"] for c in expected]
    shot(page, "breed.png")

    first_child = page.locator("#children .card").nth(0)
    child_id = first_child.get_attribute("data-id")
    first_child.locator(".pick").click()  # a child joins the parents
    assert page.locator("#parents .parent").count() == 3
    page.click("#breed-go")
    page.wait_for_function(f"() => !document.querySelector('#children .card[data-id=\"{child_id}\"]')")
    assert page.locator("#children .card").count() == 6
    assert page.locator("#tree .node").count() == 3  # what was bred from, not every seed looked at

    with page.expect_download() as info:
        page.click("#lineage-export")
    saved = tmp_path / "lineage.json"
    info.value.save_as(saved)
    lineage = json.loads(saved.read_text())
    assert lineage["format"] == "ganforge-lineage/1" and len(lineage["entries"]) == 3 + 6  # tree, last brood
    grandchild = lineage["entries"][-1]
    assert (
        grandchild["kind"] == "child"
        and int(child_id) in grandchild["parents"]
        and grandchild["mutation"] == 0.4
    )
    originals = {
        node.get_attribute("data-id"): node.locator("image").get_attribute("href")
        for node in page.locator("#tree .node").all()
    }

    fresh = browser.new_page()
    fresh.goto(server.url + "/")
    fresh.wait_for_selector("body[data-ready=true]")
    open_tab(fresh, "breed")
    fresh.set_input_files("#lineage-import", str(saved))
    fresh.wait_for_function(
        "() => document.getElementById('lineage-note').textContent.startsWith('imported')"
    )
    assert fresh.inner_text("#lineage-note") == "imported 9 images; 7 of 7 children replayed exactly"
    imported = {
        node.get_attribute("data-id"): node.locator("image").get_attribute("href")
        for node in fresh.locator("#tree .node").all()
    }
    assert imported == originals  # every image reproduced from the file alone
    fresh.close()


def test_interpolate_between_lineage_images(page):
    seed_grid(page, 20, 2)
    open_tab(page, "interpolate")
    ends = [page.eval_on_selector(f"#interp-{k}", "s => s.selectedOptions[0].textContent") for k in "ab"]
    assert ends[0].startswith("#2 seed 20") and ends[1].startswith("#3 seed 21")  # the newest two
    page.fill("#interp-frames", "4")
    page.select_option("#interp-format", "png")
    page.click("#interp-go")
    assert natural_size(page, "#interp-result") == (4 * (5 * 8 + 6 * 2), 4 * 12)  # 5 frames, 4x
    page.select_option("#interp-format", "gif")
    page.click("#interp-go")
    page.wait_for_function("() => document.getElementById('interp-result').dataset.format === 'gif'")
    assert natural_size(page, "#interp-result") == (32, 32)
    shot(page, "interpolate.png")


PIXEL_AT = """([selector, x, y]) => {
  const img = document.querySelector(selector);
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  return Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3));
}"""


def test_translate_an_upload_and_show_errors(page, tmp_path):
    picture = pattern(12, 10)
    upload = tmp_path / "photo.png"
    picture.save(upload)
    open_tab(page, "translate")
    assert page.input_value("#img-direction") == "AtoB"
    page.set_input_files("#img-file", str(upload))
    page.click("#img-go")
    assert natural_size(page, "#img-result") == (12, 10)
    assert natural_size(page, "#img-input") == (12, 10)
    for x, y in ((0, 0), (7, 4), (11, 9)):
        got = page.evaluate(PIXEL_AT, ["#img-result", x, y])
        assert got == [255 - v for v in picture.getpixel((x, y))]
    shot(page, "translate.png")
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    page.set_input_files("#img-file", str(bad))
    page.click("#img-go")
    page.wait_for_function("() => document.getElementById('status').classList.contains('error')")
    assert "the image upload is not an image" in page.inner_text("#status")


def test_inpaint_fills_the_painted_mask(page, tmp_path):
    picture = pattern(12, 10)
    upload = tmp_path / "photo.png"
    picture.save(upload)
    open_tab(page, "inpaint")
    page.set_input_files("#img-file", str(upload))
    canvas = page.locator("#mask-canvas")
    canvas.wait_for(state="visible")
    box = canvas.bounding_box()
    cy = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.3, cy)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, cy, steps=8)
    page.mouse.up()
    page.click("#img-go")
    assert natural_size(page, "#img-result") == (12, 10)
    assert page.evaluate(PIXEL_AT, ["#img-result", 6, 5]) == [255, 255, 255]  # painted: filled in
    assert page.evaluate(PIXEL_AT, ["#img-result", 0, 0]) == list(picture.getpixel((0, 0)))  # untouched
    shot(page, "inpaint.png")
