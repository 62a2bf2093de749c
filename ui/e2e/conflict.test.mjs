// Two tabs editing one file: the second save is shown as a conflict, never
// silently overwriting the first, and the student chooses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { session, newPage, login, newFile, typeCode, saved, shot, api } from "./helpers.mjs";

test("two tabs editing one file produce a visible conflict that the student resolves", () =>
  session("conflict", async (ctx) => {
    const a = await newPage(ctx);
    await login(a, "dave");
    await newFile(a, "shared.py");
    await typeCode(a, "print('first version')\n");
    await saved(a);

    const b = await newPage(ctx); // same browser, same session: a second tab
    await b.goto(a.url());
    await b.locator(".conn[data-state=open]").waitFor();
    await b.getByRole("treeitem", { name: "shared.py" }).click();
    await b.locator(".cm-content").getByText("first version").waitFor();

    await a.bringToFront();
    await typeCode(a, "print('from tab A')\n");
    await saved(a);

    await b.bringToFront();
    await typeCode(b, "print('from tab B')\n");
    await b.locator(".save-state[data-state=conflict]").waitFor();
    await b.getByText("This file was changed somewhere else").waitFor();
    await shot(b, "conflict");
    let disk = await api(b, "GET", "/api/files/content?path=Local/dave/shared.py");
    assert.equal(disk.text, "print('from tab A')\n", "tab A's save was not overwritten");

    await b.getByRole("button", { name: "Compare" }).click();
    const dlg = b.getByRole("dialog");
    await dlg.getByText("print('from tab A')").waitFor();
    await dlg.getByText("print('from tab B')").waitFor();
    await dlg.getByRole("button", { name: "Keep mine" }).click();
    await saved(b);
    disk = await api(b, "GET", "/api/files/content?path=Local/dave/shared.py");
    assert.equal(disk.text, "print('from tab B')\n", "keep mine, chosen knowingly, wins");

    // Tab A is now behind: its next edit conflicts, and it can load theirs.
    await a.bringToFront();
    await typeCode(a, "print('A again')\n");
    await a.locator(".save-state[data-state=conflict]").waitFor();
    await a.getByRole("button", { name: "Load theirs" }).click();
    await saved(a);
    await a.locator(".cm-content").getByText("from tab B").waitFor();
  }));
