// The file tree: create, rename, move by drag and drop, duplicate, delete
// with a confirmation naming what goes, upload, download.
import { test } from "node:test";
import assert from "node:assert/strict";
import { session, newPage, login, newFile, api, shot } from "./helpers.mjs";

const listing = async (page, path) => JSON.parse((await api(page, "GET", `/api/files?path=${encodeURIComponent(path)}`)).text).entries.map((e) => e.name);

test("files can be created, moved by drag and drop, renamed, duplicated, uploaded, downloaded and deleted", () =>
  session("files", async (ctx) => {
    const page = await newPage(ctx);
    await login(page, "alice");
    const home = page.getByRole("treeitem", { name: "My files folder" });
    await home.click({ position: { x: 60, y: 8 } }); // collapse…
    await home.click({ position: { x: 60, y: 8 } }); // …and open, selected
    await page.getByRole("button", { name: "New folder" }).click();
    await page.getByLabel(/Name of the new folder/).fill("week1");
    await page.getByRole("button", { name: "Create" }).click();
    await page.getByRole("treeitem", { name: "week1 folder" }).waitFor();

    await home.locator(".row").first().click();
    await newFile(page, "loose.py");
    await page.getByRole("treeitem", { name: "loose.py" }).dragTo(page.getByRole("treeitem", { name: "week1 folder" }));
    await page.getByRole("treeitem", { name: "week1 folder" }).getByRole("treeitem", { name: "loose.py" }).waitFor();
    assert.deepEqual(await listing(page, "Local/alice/week1"), ["loose.py"]);
    // The open tab followed the move.
    assert.equal(await page.locator(".editor .tab[aria-selected=true]").getAttribute("title"), "Local/alice/week1/loose.py");

    await page.getByRole("treeitem", { name: "loose.py" }).click();
    await page.getByRole("button", { name: "Rename (F2)" }).click();
    await page.getByLabel("New name:").fill("first.py");
    await page.getByRole("button", { name: "Rename", exact: true }).click();
    await page.getByRole("treeitem", { name: "first.py" }).waitFor();
    await page.getByRole("button", { name: "Duplicate" }).click();
    await page.getByRole("treeitem", { name: "first copy.py" }).waitFor();

    await page.getByRole("treeitem", { name: "week1 folder" }).locator(".row").first().click({ position: { x: 80, y: 8 } });
    await page.locator("input[type=file]").first().setInputFiles({ name: "data.txt", mimeType: "text/plain", buffer: Buffer.from("1 2 3\n") });
    await page.getByRole("treeitem", { name: "data.txt" }).waitFor();
    assert.deepEqual((await listing(page, "Local/alice/week1")).sort(), ["data.txt", "first copy.py", "first.py"]);

    const zip = await page.evaluate(async () => {
      const r = await fetch("/api/files/download?path=Local/alice/week1");
      return { type: r.headers.get("Content-Type"), disp: r.headers.get("Content-Disposition") };
    });
    assert.match(zip.disp ?? "", /week1\.zip/);

    // Course files are read-only: they open, but cannot be changed or deleted.
    await page.getByRole("treeitem", { name: /Lecture Notes folder/ }).click();
    await page.getByRole("treeitem", { name: "week1.py" }).click();
    await page.locator(".editor .tab[aria-selected=true] .badge").getByText("read-only").waitFor();
    assert.equal(await page.getByRole("button", { name: "Delete (Del)" }).isDisabled(), true);

    await page.getByRole("treeitem", { name: "week1 folder" }).locator(".row").first().click({ position: { x: 80, y: 8 } });
    await page.getByRole("button", { name: "Delete (Del)" }).click();
    const dlg = page.getByRole("dialog");
    await dlg.getByText(/the folder "week1" and everything in it: data\.txt, first copy\.py, first\.py/).waitFor();
    await shot(page, "delete-confirm");
    await dlg.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("treeitem", { name: "week1 folder" }).waitFor({ state: "detached" });
    assert.ok(!(await listing(page, "Local/alice")).includes("week1"));
    assert.equal(await page.locator(".editor .tab[title^='Local/alice/week1/']").count(), 0, "tabs of deleted files closed");
  }));
