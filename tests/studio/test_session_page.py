"""The studio as a place to stay (issue 22), end to end in headless Chromium: a family tree over three
generations, a session that survives a reload, undo and redo, favourites, the style-mixing grid, a
photo projected in and bred with, a cancelled 12-MP-style tiled upscale, share links that reproduce
the same image bytes in a fresh browser, the before/after slider, pages as URLs and shortcuts."""

import re

import httpx
import pytest

from studio.conftest import pattern
from studio.session_fixtures import SLOW_TILES
from studio.test_browser import goto_page, set_value, shot

EDGE = re.compile(r"^\d+%$")


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context
    context.close()


@pytest.fixture
def page(context, session_server):
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    open_page(page, session_server.url + "/")
    yield page
    assert errors == [], errors


def open_page(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")


def grid(page, model: str, first: int, count: int) -> list[str]:
    goto_page(page, page.url.split("#")[0] + "#/generate")
    page.select_option("#gen-model", model)
    page.fill("#grid-seed", str(first))
    page.fill("#grid-count", str(count))
    page.click("#grid-go")
    page.wait_for_function(
        f"() => [...document.querySelectorAll('#grid .card')].map(c => c.dataset.seed).join() === "
        f"'{','.join(str(s) for s in range(first, first + count))}'"
    )
    return [c.get_attribute("data-id") for c in page.locator("#grid .card").all()]


def breed(page, count: int = 4) -> list[str]:
    before = page.eval_on_selector("#children", "c => c.innerHTML")
    goto_page(page, page.url.split("#")[0] + "#/breed")
    page.fill("#children-count", str(count))
    page.click("#breed-go")
    page.wait_for_function(
        "before => document.getElementById('children').innerHTML !== before "
        f"&& document.querySelectorAll('#children .card').length === {count}",
        arg=before,
    )
    return [c.get_attribute("data-id") for c in page.locator("#children .card").all()]


def set_parents(page, ids: list[str]) -> None:
    while page.locator("#parents .parent").count():
        page.locator("#parents .parent button").first.click()
    for i in ids:
        card = page.locator(f".card[data-id='{i}'] .pick:visible").first
        if card.count():
            card.click()
        else:
            page.click(f"#tree .node[data-id='{i}']", modifiers=["Shift"])
    page.wait_for_function(
        "ids => [...document.querySelectorAll('#parents .parent')].map(p => p.dataset.id).join() === ids",
        arg=",".join(ids),
    )


def tree(page) -> dict[str, tuple[float, str]]:
    """node id -> (its y, its image)."""
    return {
        n.get_attribute("data-id"): (
            float(re.search(r"translate\([\d.]+,([\d.]+)\)", n.get_attribute("transform")).group(1)),
            n.locator("image").get_attribute("href"),
        )
        for n in page.locator("#tree .node").all()
    }


def three_generations(page) -> dict[str, str]:
    a, b = grid(page, "digits", 30, 4)[:2]
    set_parents(page, [a, b])
    set_value(page, "#parents .parent:nth-child(1) input[type=range]", 80)
    c = breed(page)[0]
    set_parents(page, [c, b])
    d = breed(page)[1]
    set_parents(page, [d, c])
    e = breed(page)[2]
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


def test_three_generations_grow_a_family_tree(page):
    ids = three_generations(page)
    nodes = tree(page)
    assert set(nodes) == {ids[k] for k in "abcd"}  # the last brood is not in the tree until kept
    page.click(f"#children .card[data-id='{ids['e']}'] img")  # the large view
    page.wait_for_selector("#viewer[open]")
    assert page.get_attribute("#viewer-img", "src") == page.get_attribute(
        f"#children .card[data-id='{ids['e']}'] img", "src"
    )
    page.click("#viewer-keep")
    page.keyboard.press("Escape")
    nodes = tree(page)
    y = {k: nodes[ids[k]][0] for k in "abcde"}
    assert y["a"] == y["b"] < y["c"] < y["d"] < y["e"]  # one row per generation
    edges = {
        (e.get_attribute("data-from"), e.get_attribute("data-to")): e.text_content()
        for e in page.locator("#tree .edge-label").all()
    }
    assert set(edges) == {
        (ids["a"], ids["c"]),
        (ids["b"], ids["c"]),
        (ids["c"], ids["d"]),
        (ids["b"], ids["d"]),
        (ids["d"], ids["e"]),
        (ids["c"], ids["e"]),
    }
    assert edges[(ids["a"], ids["c"])] == "62%" and edges[(ids["b"], ids["c"])] == "38%"
    assert all(EDGE.match(text) for text in edges.values())
    label = page.locator(f"#tree .node[data-id='{ids['c']}'] .node-label").text_content()
    assert label == f"#{ids['c']} μ0.3"  # the breeding's mutation
    # a click on a node opens it; from there it becomes the current image or a parent
    page.click(f"#tree .node[data-id='{ids['a']}']")
    page.click("#viewer-current")
    page.click("#viewer-parent")
    page.keyboard.press("Escape")
    assert "current" in page.get_attribute(f"#tree .node[data-id='{ids['a']}']", "class")
    assert page.locator(f"#parents .parent[data-id='{ids['a']}']").count() == 1
    shot(page, "session-tree.png")


def test_undo_redo_step_through_breeding_and_the_session_survives_a_reload(page, session_server):
    ids = three_generations(page)
    page.click("#undo")  # undo the third breeding: its brood goes, and d (bred from there) leaves the tree
    page.wait_for_function(f"() => !document.querySelector('#children .card[data-id=\"{ids['e']}\"]')")
    assert page.locator(f"#children .card[data-id='{ids['d']}']").count() == 1  # the second brood is back
    assert set(tree(page)) == {ids["a"], ids["b"], ids["c"]}
    page.click("#undo")  # and the second: c leaves too
    page.wait_for_function(f"() => !document.querySelector('#tree .node[data-id=\"{ids['c']}\"]')")
    assert set(tree(page)) == {ids["a"], ids["b"]}
    page.keyboard.press("Shift+Z")  # redo
    page.wait_for_function(f"() => !!document.querySelector('#tree .node[data-id=\"{ids['c']}\"]')")
    page.keyboard.press("Control+z")
    page.wait_for_function(f"() => !document.querySelector('#tree .node[data-id=\"{ids['c']}\"]')")
    page.keyboard.press("Control+y")
    page.keyboard.press("y")
    page.wait_for_function(f"() => !!document.querySelector('#tree .node[data-id=\"{ids['d']}\"]')")
    assert set(tree(page)) == {ids[k] for k in "abcd"}
    before = tree(page)
    children = [c.get_attribute("data-id") for c in page.locator("#children .card").all()]
    parents = [p.get_attribute("data-id") for p in page.locator("#parents .parent").all()]
    page.reload()  # as good as a closed tab: everything comes back from localStorage
    page.wait_for_selector("body[data-ready=true]")
    assert tree(page) == before
    assert [c.get_attribute("data-id") for c in page.locator("#children .card").all()] == children
    assert [p.get_attribute("data-id") for p in page.locator("#parents .parent").all()] == parents
    assert page.inner_text("#lineage-note").startswith("Restored your session: 4 images in the tree")


def test_star_and_unstar_persist(page, session_server):
    ids = grid(page, "style", 50, 3)
    page.click(f"#grid .card[data-id='{ids[1]}'] .star")
    assert page.is_visible("#favourites")
    assert [c.get_attribute("data-id") for c in page.locator("#favourites .card").all()] == [ids[1]]
    assert ids[1] in tree(page)  # starring keeps it in the tree
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert [c.get_attribute("data-id") for c in page.locator("#favourites .card").all()] == [ids[1]]
    page.click(f"#favourites .card[data-id='{ids[1]}'] .star")
    assert page.is_hidden("#favourites")
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.is_hidden("#favourites") and page.locator("#favourites .card").count() == 0


def test_style_mixing_grid_and_a_cell_into_the_tree(page, session_server):
    goto_page(page, session_server.url + "/#/mix")
    page.fill("#mix-rows", "1,2")
    page.fill("#mix-cols", "3,4,5")
    page.check("#mix-layers input[value=fine]")  # with coarse, checked by default
    page.click("#mix-go")
    page.wait_for_function("() => document.querySelectorAll('#mix-grid .card').length === 2 + 3 + 6")
    body = {
        "model": "style",
        "rows": [{"seed": 1}, {"seed": 2}],
        "cols": [{"seed": 3}, {"seed": 4}, {"seed": 5}],
        "layers": ["coarse", "fine"],
        "truncation": 0.7,
    }
    expected = httpx.post(session_server.url + "/api/mix", json=body).json()
    cells = page.locator("#mix-grid .mix-cell img")
    assert [cells.nth(i).get_attribute("src") for i in range(6)] == [
        c["png"] for row in expected["cells"] for c in row
    ]
    shot(page, "session-mix.png")
    cells.nth(5).click()
    page.click("#viewer-keep")
    page.keyboard.press("Escape")
    labels = sorted(t.text_content() for t in page.locator("#tree .edge-label").all())
    assert labels == ["base", "coarse+fine"] and page.locator("#tree .node").count() == 3


def test_upload_a_photo_project_it_and_breed_with_it(page, tmp_path):
    photo = tmp_path / "me.png"
    pattern(40, 40).save(photo)
    goto_page(page, page.url.split("#")[0] + "#/breed")
    page.select_option("#photo-model", "style")
    page.set_input_files("#photo-file", str(photo))
    page.fill("#photo-steps", "30")
    page.click("#photo-go")
    page.wait_for_function("() => document.getElementById('photo-note').textContent.includes('now a parent')")
    assert re.match(r"me\.png: 30 steps, -?[\d.]+ dB; it is now a parent", page.inner_text("#photo-note"))
    photo_id = page.get_attribute("#parents .parent", "data-id")
    assert page.locator(f"#tree .node[data-id='{photo_id}'] .node-label").text_content().endswith("photo")
    other = grid(page, "style", 7, 2)[0]
    page.click(f"#grid .card[data-id='{other}'] .pick")
    children = breed(page, 3)
    assert len(children) == 3
    assert page.locator("#tree .edge").count() == 0  # the photo and the seed, not yet linked to a kept child
    page.click(f"#children .card[data-id='{children[0]}'] .star")  # a starred child enters the tree
    edges = {
        (e.get_attribute("data-from"), e.get_attribute("data-to")) for e in page.locator("#tree .edge").all()
    }
    assert edges == {(photo_id, children[0]), (other, children[0])}


def test_cancel_a_long_tiled_upscale(page, tmp_path, session_server):
    upload = tmp_path / "big.png"
    pattern(128, 128).save(upload)
    goto_page(page, session_server.url + "/#/upscale")
    page.select_option("#img-model", "slow")
    page.set_input_files("#img-file", str(upload))
    page.click("#img-go")
    row = page.locator("#jobs .job[data-route=upscale]")
    page.wait_for_function(
        "() => Number(document.querySelector('#jobs .job[data-route=upscale]')?.dataset.done || 0) >= 3"
    )
    assert row.get_attribute("data-total") == str(SLOW_TILES)
    assert re.match(rf"Upscale: \d+ / {SLOW_TILES} tiles · [\d.]+ s", row.locator(".job-text").inner_text())
    shot(page, "session-upscale-progress.png")
    job_id = row.get_attribute("data-id")
    row.locator("button.cancel").click()
    page.wait_for_function("() => document.getElementById('status').textContent === 'Upscale: cancelled'")
    assert page.locator("#jobs .job").count() == 0 and page.is_hidden("#img-result")
    info = httpx.get(f"{session_server.url}/api/jobs/{job_id}", params={"wait": 3}).json()
    while info["status"] == "running":
        info = httpx.get(f"{session_server.url}/api/jobs/{job_id}", params={"wait": 1}).json()
    assert info["status"] == "cancelled" and info["done"] < SLOW_TILES


def test_a_share_link_reproduces_the_image_in_a_fresh_browser(page, browser, session_server):
    a, b = grid(page, "digits", 60, 2)
    set_parents(page, [a, b])
    child = breed(page, 3)[1]
    shown = page.get_attribute(f"#children .card[data-id='{child}'] img", "src")
    page.click(f"#children .card[data-id='{child}'] img")
    page.click("#viewer-share")
    link = page.input_value("#share-url")
    assert "#/image?model=digits&z=" in link and "step=1" in link and "class=" in link
    page.keyboard.press("Escape")
    seed_png = page.get_attribute(f"#grid .card[data-id='{a}'] img", "src")
    page.click(f"#tree .node[data-id='{a}']")  # bred from, so in the tree
    page.click("#viewer-share")
    seed_link = page.input_value("#share-url")
    assert re.search(r"#/image\?model=digits&seed=60&class=\d&step=0$", seed_link)
    for url, expected in ((link, shown), (seed_link, seed_png)):
        fresh = browser.new_context()
        other = fresh.new_page()
        other.goto(url)
        other.wait_for_function("() => document.getElementById('shared-img').src.startsWith('data:')")
        assert other.get_attribute("#shared-img", "src") == expected  # the same PNG bytes
        assert other.is_visible("#tab-shared")
        fresh.close()


def test_before_after_pages_urls_shortcuts_favicon_and_thumbnails(page, tmp_path, session_server):
    upload = tmp_path / "photo.png"
    pattern(24, 20).save(upload)
    for task, model in (("colorize", "tint"), ("upscale", "double"), ("inpaint", "fill")):
        goto_page(page, f"{session_server.url}/#/{task}")
        assert page.get_attribute("body", "data-tab") == task
        page.select_option("#img-model", model)
        page.set_input_files("#img-file", str(upload))
        if task == "inpaint":
            box = page.locator("#mask-canvas").bounding_box()
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.click("#img-go")
        page.wait_for_selector("#compare:not([hidden])")
        assert page.get_attribute("#compare-after", "src") == page.get_attribute("#img-result", "src")
        assert page.get_attribute("#compare-before", "src") == page.get_attribute("#img-input", "src")
        set_value(page, "#compare-split", 30)
        split = page.eval_on_selector("#compare-frame", "f => f.style.getPropertyValue('--split')")
        assert split == "30%"
    shot(page, "session-inpaint-compare.png")
    page.keyboard.press("2")
    page.wait_for_function("() => document.body.dataset.tab === 'breed'")
    assert page.evaluate("location.hash") == "#/breed"
    page.keyboard.press("?")
    assert page.is_visible("#help")
    page.keyboard.press("Escape")
    page.keyboard.press("1")
    page.wait_for_function("() => document.body.dataset.tab === 'generate'")
    page.keyboard.press("n")
    ids = grid(page, "digits", 0, 2)
    box = page.locator(f"#grid .card[data-id='{ids[0]}'] img").bounding_box()
    assert box["width"] >= 128 and box["height"] >= 128
    page.click(f"#grid .card[data-id='{ids[1]}'] img")
    page.click("#viewer-edit")  # the Edit page edits the image in the large view
    page.wait_for_function("() => document.body.dataset.tab === 'edit'")
    assert page.get_attribute("#edit-img", "src") == page.get_attribute(
        f"#grid .card[data-id='{ids[1]}'] img", "src"
    )
    assert page.is_visible(
        "#genes-panel"
    )  # the latent-editing panel's place (genes.js fills it when installed)
    assert page.get_attribute("link[rel=icon]", "href") == "/static/favicon.svg"
    icon = httpx.get(session_server.url + "/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
