// A student's first minute: log in, make a file, type, autosave, run, answer
// input(), see the output in order, use the script's variables in the REPL.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, USERS, WAIT, session, newPage, login, newFile, typeCode, saved, out, shot, api, run } from "./helpers.mjs";

test("a student logs in, writes a program, runs it, answers input() and uses the REPL", () =>
  session("student", async (ctx) => {
    const page = await newPage(ctx);
    const t0 = Date.now();
    await page.goto(BASE + "/");
    await page.getByLabel("Username").waitFor();
    console.log(`first screen (login form) after ${Date.now() - t0} ms`);

    // A wrong password says so, in words.
    await page.getByLabel("Username").fill("alice");
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.locator(".login-error").getByText(/wrong username or password/i).waitFor();
    await shot(page, "login-wrong");

    await login(page, "alice");
    // Course folders show, marked read-only; the home is "My files".
    await page.getByRole("treeitem", { name: /Lecture Notes folder, read-only/ }).waitFor();
    await page.getByRole("treeitem", { name: "My files folder" }).waitFor();

    await newFile(page, "ask.py");
    const program = [
      "print('first')",
      "import sys",
      "print('to stderr', file=sys.stderr)",
      "name = input('Your name? ')",
      "print('hello', name)",
      "secret = 21",
      "",
    ].join("\n");
    await typeCode(page, program);
    await page.locator(".save-state[data-state=unsaved], .save-state[data-state=saving], .save-state[data-state=saved]").waitFor();
    await saved(page);
    const disk = await api(page, "GET", "/api/files/content?path=Local/alice/ask.py");
    assert.equal(disk.text, program, "autosave wrote exactly what was typed");

    await run(page);
    const input = page.locator(".stdin-row[data-kind=input] textarea");
    await input.waitFor();
    assert.equal(await input.evaluate((el) => el === document.activeElement), true, "the input box has the focus");
    await shot(page, "console-input");
    await input.fill("Ada");
    await page.keyboard.press("Enter");
    await page.locator(".stdin-row[data-kind=repl]").waitFor();
    const text = await out(page).innerText();
    assert.match(text, /^first\n(to stderr\n)?Your name\? Ada\n(to stderr\n)?hello Ada\n/);
    assert.equal(await out(page).locator(".stderr").innerText(), "to stderr\n");
    const color = await out(page).locator(".stderr").evaluate((el) => getComputedStyle(el).color);
    assert.notEqual(color, await out(page).locator(".stdout").first().evaluate((el) => getComputedStyle(el).color), "stderr has its own colour");

    // The REPL keeps the script's variables; history with ↑; a block.
    const repl = page.locator(".stdin-row[data-kind=repl] textarea");
    await repl.fill("secret * 2");
    await page.keyboard.press("Enter");
    await out(page).getByText(/^42$/m).waitFor();
    await repl.waitFor();
    await repl.press("ArrowUp");
    assert.equal(await repl.inputValue(), "secret * 2", "↑ brings back the last line");
    await repl.fill("for i in range(3):\n    print('row', i)");
    await page.keyboard.press("Enter");
    await out(page).getByText("row 2").waitFor();

    // A figure shows inline.
    await newFile(page, "plot.py");
    await typeCode(page, "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2, 4])\nplt.title('My first plot')\nplt.show()\nprint('done')\n");
    await run(page, () => page.getByRole("button", { name: /Run plot\.py/ }).click());
    await out(page).locator("img.figure").waitFor({ timeout: WAIT * 2 });
    await out(page).getByText("done").waitFor();
    const size = await out(page).locator("img.figure").evaluate((img) => img.naturalWidth);
    assert.ok(size > 100, `figure decoded (${size}px wide)`);
    await shot(page, "console-figure");
    assert.deepEqual(page.errors, []);
  }));

test("a student cannot see another student's folder", () =>
  session("isolation", async (ctx) => {
    const page = await newPage(ctx);
    await login(page, "bob");
    await page.getByRole("treeitem", { name: "My files folder" }).waitFor();
    const tree = await page.locator(".tree").innerText();
    assert.doesNotMatch(tree, /alice/);
    for (const path of ["/api/files?path=Local/alice", "/api/files/content?path=Local/alice/ask.py"]) {
      const r = await api(page, "GET", path);
      assert.equal(r.status, 404, path);
    }
    const r = await api(page, "GET", "/api/files?path=Local");
    assert.deepEqual(JSON.parse(r.text).entries.map((e) => e.name), ["bob"]);
  }));

test("too many wrong passwords shows how long to wait", () =>
  session("throttle", async (ctx) => {
    const page = await newPage(ctx);
    await page.goto(BASE + "/");
    for (let i = 0; i < 12; i++) {
      const r = await api(page, "POST", "/api/login", { username: "carol", password: "wrong" });
      if (r.status === 429) break;
    }
    await page.getByLabel("Username").fill("carol");
    await page.getByLabel("Password").fill(USERS.carol);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.locator(".login-error").getByText(/Too many tries.*wait \d+ seconds?/).waitFor();
    assert.equal(await page.getByRole("button", { name: "Log in" }).isDisabled(), true);
  }));
