// Nothing written is lost: every save keeps the version it replaced, which
// the student compares and restores; a deleted file comes back from the trash.
import { test } from "node:test";
import assert from "node:assert/strict";
import { session, newPage, login, newFile, typeCode, saved, shot } from "./helpers.mjs";

const editorText = (page) => page.locator(".editor-pane:not([hidden]) .cm-content").innerText();

test("a file's history shows what changed, restores an earlier version, and a deleted file comes back from the trash", () =>
  session("history", async (ctx) => {
    const page = await newPage(ctx);
    await login(page, "ken");
    await newFile(page, "essay.py");
    for (const v of ["print('first draft')\n", "print('second draft')\n", "print('oops, all gone')\n"]) {
      await typeCode(page, v);
      await saved(page);
    }
    await page.getByRole("button", { name: "History" }).click();
    const dlg = page.getByRole("dialog", { name: /History of essay\.py/ });
    const versions = dlg.getByRole("option");
    await versions.first().waitFor();
    assert.ok(await versions.count() >= 2, "the replaced versions are listed");
    // Newest first: the second draft, then the first.
    await versions.nth(1).click();
    await dlg.locator(".diff-row pre", { hasText: "print('first draft')" }).waitFor();
    assert.ok(await dlg.locator(".diff-row pre", { hasText: "print('oops, all gone')" }).count() >= 1, "the diff shows now against then");
    await shot(page, "history");
    await dlg.getByRole("button", { name: "Restore this version" }).click();
    await page.waitForFunction(() => document.querySelector(".editor-pane:not([hidden]) .cm-content")?.textContent.includes("print('first draft')"));
    assert.match(await editorText(page), /first draft/);
    const disk = await page.evaluate(async () => (await fetch("/api/files/content?path=Local/ken/essay.py")).text());
    assert.equal(disk, "print('first draft')\n", "the restore is saved");
    // What was there before the restore is a version itself.
    await page.getByRole("button", { name: "History" }).click();
    await dlg.getByRole("option").first().click();
    await dlg.locator(".diff-row pre", { hasText: "print('oops, all gone')" }).waitFor();
    await dlg.getByRole("button", { name: "Close" }).click();

    // Delete, then the trash gives it back with its content.
    await page.getByRole("treeitem", { name: "essay.py" }).click();
    await page.getByRole("button", { name: "Delete (Del)" }).click();
    const confirm = page.getByRole("dialog");
    await confirm.getByText(/moves the file "essay\.py" to the trash/).waitFor();
    await confirm.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("treeitem", { name: "essay.py" }).waitFor({ state: "detached" });
    await page.getByRole("button", { name: /Deleted files and folders/ }).click();
    const trash = page.getByRole("dialog", { name: "Trash" });
    await trash.getByText("Local/ken/essay.py").waitFor();
    await shot(page, "trash");
    await trash.getByRole("button", { name: "Restore Local/ken/essay.py" }).click();
    await page.getByText("Restored to Local/ken/essay.py.").waitFor();
    await trash.getByRole("button", { name: "Close" }).click();
    await page.getByRole("treeitem", { name: "essay.py" }).waitFor();
    const back = await page.evaluate(async () => (await fetch("/api/files/content?path=Local/ken/essay.py")).text());
    assert.equal(back, "print('first draft')\n");
  }));
