// Network drops and expired sessions lose nothing: the page re-attaches to a
// program still running, and a new login keeps the unsaved text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { USERS, session, browser, newPage, login, newFile, typeCode, saved, out, waitOut, run } from "./helpers.mjs";

test("after a network drop the page re-attaches to the running program", () =>
  session("reconnect", async (ctx) => {
    const page = await newPage(ctx);
    await login(page, "frank");
    await newFile(page, "count.py");
    await typeCode(page, "import time\nfor i in range(1, 16):\n    print('line', i, flush=True)\n    time.sleep(0.2)\nprint('end')\n");
    await saved(page);
    await run(page);
    await waitOut(page, "line 3\n");
    await page.evaluate(() => window.pythonide.dropConnection());
    await page.locator(".conn:not([data-state=open])").waitFor();
    await page.locator(".conn[data-state=open]").waitFor();
    await page.locator(".stdin-row[data-kind=repl]").waitFor(); // the script ended; its REPL waits
    const lines = (await out(page).innerText()).split("\n").filter((l) => l.startsWith("line "));
    assert.deepEqual(lines, Array.from({ length: 15 }, (_, i) => `line ${i + 1}`), "every line once, in order");
  }));

test("an expired session asks to log in again and keeps the unsaved text", () =>
  session("expired", async (ctx) => {
    const page = await newPage(ctx);
    await login(page, "frank");
    await page.getByRole("treeitem", { name: "welcome.py" }).click();
    await saved(page);

    // Logging in elsewhere ends this session (single session per user).
    const other = await browser();
    try {
      await login(await newPage(other.ctx), "frank");
    } finally {
      await other.close();
    }
    await page.bringToFront();
    await typeCode(page, "print('typed while logged out')\n");
    const dlg = page.getByRole("dialog", { name: "Log in again" });
    await dlg.waitFor();
    assert.equal(await dlg.getByLabel("Username").inputValue(), "frank");
    const draft = await page.evaluate(() => localStorage.getItem("pythonide.draft:frank:Local/frank/welcome.py"));
    assert.match(draft ?? "", /typed while logged out/, "the text is kept in the browser meanwhile");
    await dlg.getByLabel("Password").fill(USERS.frank);
    await dlg.getByRole("button", { name: "Log in" }).click();
    await saved(page);
    const disk = await page.evaluate(async () => (await fetch("/api/files/content?path=Local/frank/welcome.py")).text());
    assert.equal(disk, "print('typed while logged out')\n");

    // A reload with unsaved text of a file no longer open offers it back
    // (an open one is reopened by the workspace, its draft restored).
    await page.getByRole("button", { name: "Close welcome.py" }).click();
    await page.locator(".editor .tabs .tab[title='Local/frank/welcome.py']").waitFor({ state: "detached" });
    await page.waitForTimeout(1500); // the workspace state is kept within a second
    await page.evaluate(() => localStorage.setItem("pythonide.draft:frank:Local/frank/welcome.py", JSON.stringify({ text: "print('draft')\n", etag: null, at: Date.now() })));
    await page.reload();
    await page.getByText("Unsaved work from before").waitFor();
    await page.locator(".drafts").getByRole("button", { name: "welcome.py", exact: true }).click();
    await page.getByText("Your unsaved changes were restored").waitFor();
    await page.locator(".cm-content").getByText("print('draft')").waitFor();
  }));
