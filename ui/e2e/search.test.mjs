// Search across files, from the tree: names and text, in the home or a
// course folder; a result opens the file at its line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { session, newPage, login, newFile, typeCode, saved, shot } from "./helpers.mjs";

test("search finds names and lines in my files and a course folder, and opens the line", () =>
  session("search", async (ctx) => {
    const page = await newPage(ctx);
    await login(page, "ivan");
    await newFile(page, "shop.py");
    await typeCode(page, "items = [3, 4]\n\n\n\ntotal = Compute_Total(items)\nprint(total)\n");
    await saved(page);
    await newFile(page, "compute_total.py");
    await typeCode(page, "def Compute_Total(xs):\n    return sum(xs)\n");
    await saved(page);
    await page.getByRole("tab", { name: /welcome\.py/ }).count(); // nothing else open matters

    const box = page.getByLabel("Search in files (names and text)");
    await box.fill("compute_total");
    await box.press("Enter");
    const results = page.getByRole("region", { name: "Search results" });
    await results.getByText(/3 found in My files/).waitFor();
    const hits = await results.locator(".hit-where").allInnerTexts();
    assert.deepEqual(hits, ["name", "compute_total.py:1", "shop.py:5"], "the name first, then lines by path");
    await shot(page, "search");
    await results.locator(".hit", { hasText: "shop.py:5" }).click();
    await page.locator(".editor .tabs .tab[aria-selected=true]", { hasText: "shop.py" }).waitFor();
    await page.locator(".editor-pane:not([hidden]) .cm-activeLine", { hasText: "total = Compute_Total(items)" }).waitFor();

    await box.fill("no such text anywhere");
    await box.press("Enter");
    await results.getByText(/Nothing found for “no such text anywhere” in My files/).waitFor();

    // A course folder: selected in the tree, searched, opened read-only.
    await page.locator(".tree li[data-path='Lecture Notes'] > .row").click();
    await box.fill("WEEK 1");
    await box.press("Enter");
    await results.getByText(/found in Lecture Notes/).waitFor();
    await results.locator(".hit", { hasText: "week1.py:1" }).click();
    await page.locator(".editor .tabs .tab[aria-selected=true]", { hasText: "week1.py" }).locator(".badge", { hasText: "read-only" }).waitFor();

    await box.press("Escape");
    assert.equal(await results.isHidden(), true, "Escape clears the search");
  }));
