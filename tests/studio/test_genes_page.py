"""The Genes panel in the studio, end to end in headless Chromium: an edit kept from the sliders enters
the tree with its genes, its children inherit them by share (POST /api/edit/breed), and an exported
lineage re-imports in a fresh browser with every child replayed exactly, genes included (issue 19)."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import tiny_config, tiny_images
from ganforge.editing.directions import pca
from ganforge.editing.store import save_directions
from ganforge.pipelines import load_generator
from ganforge.studio import StudioLimits, StudioServer, create_app
from ganforge.training.trainer import Trainer
from studio.test_browser import goto_page, set_value


@pytest.fixture(scope="module")
def genes_server(tmp_path_factory):
    run = tmp_path_factory.mktemp("genes-page") / "digits"
    threads = torch.get_num_threads()
    Trainer(tiny_config(steps=2), run, data=tiny_images(), progress=False, tensorboard=False).fit()
    torch.set_num_threads(threads)
    save_directions(run / "bundle", pca(load_generator(run).G, k=2, n=100))
    with StudioServer(create_app([run / "bundle"], StudioLimits(timeout_s=60))) as running:
        yield running


def open_studio(browser, url: str):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    return context, page, errors


def test_an_edit_passes_its_genes_to_children_and_the_lineage_replays(browser, genes_server, tmp_path):
    context, page, errors = open_studio(browser, genes_server.url + "/")
    goto_page(page, genes_server.url + "/#/generate")
    page.fill("#grid-seed", "3")
    page.fill("#grid-count", "2")
    page.click("#grid-go")
    page.wait_for_function("() => document.querySelectorAll('#grid .card').length === 2")
    first, second = [c.get_attribute("data-id") for c in page.locator("#grid .card").all()]

    page.click(f"#grid .card[data-id='{first}'] img")  # large view, then Edit genes
    page.click("#viewer-edit")
    page.wait_for_selector("#genes-panel input[data-gene='pca:0']")
    set_value(page, "#genes-panel input[data-gene='pca:0']", 2)
    before = page.locator("#tree .node").count()
    page.click("#edit-keep")
    page.wait_for_function(f"() => document.querySelectorAll('#tree .node').length > {before}")
    edited = page.locator("#tree .node").last.get_attribute("data-id")
    assert page.locator(f"#tree .node[data-id='{edited}'] .node-label").text_content()

    goto_page(page, genes_server.url + "/#/breed")  # the edit and the other seed as parents, shares 1:1
    page.click(f"#tree .node[data-id='{edited}']", modifiers=["Shift"])
    goto_page(page, genes_server.url + "/#/generate")
    page.click(f"#grid .card[data-id='{second}'] .pick")
    goto_page(page, genes_server.url + "/#/breed")
    assert page.locator("#parents .parent").count() == 2
    page.fill("#children-count", "2")
    page.click("#breed-go")
    page.wait_for_function("() => document.querySelectorAll('#children .card').length === 2")
    page.click("#children .card .star")  # a starred child enters the tree (and the export)

    with page.expect_download() as download:
        page.click("#lineage-export")
    lineage = tmp_path / "lineage.json"
    download.value.save_as(lineage)
    entries = {e["id"]: e for e in json.loads(lineage.read_text())["entries"]}
    edit = entries[int(edited)]
    assert edit["kind"] == "edit" and edit["genes"] == {"pca:0": 2.0}
    children = [e for e in entries.values() if e["kind"] == "child"]
    assert children, entries
    # the edit gave half of each child, the plain seed (no genes) the other half
    assert all(c["genes"] == {"pca:0": pytest.approx(1.0)} for c in children), children
    assert errors == [], errors
    context.close()

    fresh, page, errors = open_studio(browser, genes_server.url + "/#/breed")
    page.set_input_files("#lineage-import", str(lineage))
    page.wait_for_function("() => document.getElementById('lineage-note').textContent.startsWith('imported')")
    note = page.inner_text("#lineage-note")
    replayed = sum(1 for c in children if all(p in entries for p in c["parents"]))
    assert note == f"imported {len(entries)} images; {replayed} of {replayed} children replayed exactly"
    assert errors == [], errors
    fresh.close()
