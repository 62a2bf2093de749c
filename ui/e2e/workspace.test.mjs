// A student's day: the first run of a new server, a workspace that survives
// a reload and another browser, and one Stop that is always true.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WAIT, BASE, session, newPage, login, newFile, typeCode, saved, out, shot, run, waitOut } from "./helpers.mjs";

const FRESH = process.env.PYTHONIDE_E2E_FRESH_URL;
const FRESH_PW = process.env.PYTHONIDE_E2E_FRESH_PASSWORD;

test("a new server's login page says where the first account is, and it logs in", { skip: !FRESH && "no fresh server (run through cmd/pythonide TestBrowserUI)" }, () =>
  session("first-run", async (ctx) => {
    const page = await newPage(ctx);
    await page.goto(FRESH + "/");
    const hint = page.getByRole("region", { name: "First run" });
    await hint.getByText("Setting up this server?").waitFor();
    assert.match(await hint.innerText(), /made a teacher account, admin, and printed its password/);
    assert.match(await hint.innerText(), /pythonide user passwd admin/);
    await page.screenshot({ path: `${process.env.PYTHONIDE_E2E_SHOTS ?? "/tmp"}/ui-first-run.png` });
    await page.getByLabel("Username").fill("admin");
    await page.getByLabel("Password").fill(FRESH_PW);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.locator(".conn[data-state=open]").waitFor();
    assert.match(await page.locator(".who").innerText(), /\(teacher\)/);
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByRole("button", { name: "Log in" }).waitFor();
    // Once the teacher has logged in, the page is for students again.
    await page.reload();
    await page.getByRole("button", { name: "Log in" }).waitFor();
    await page.waitForTimeout(500);
    assert.equal(await hint.count() === 0 || await hint.isHidden(), true, "the first-run hint is gone after the teacher's first login");
  }));

const lines = Array.from({ length: 80 }, (_, i) => `# line ${i + 1}`).join("\n") + "\nprint('a')\n";
const ticker = "import time\nfor i in range(1, 400):\n    print('tick', i, flush=True)\n    time.sleep(0.1)\n";

/** openState waits for the IDE to come back: tabs, active tab, the tree. */
async function openTabs(page) {
  return page.locator(".editor .tabs .tab .tab-label").allInnerTexts();
}

test("the workspace survives a reload and another browser: tabs, cursor, folders, a running program's console", () =>
  session("workspace", async (ctx) => {
    const page = await newPage(ctx);
    await login(page, "heidi");

    // One Stop, and it is off with nothing running.
    assert.equal(await page.locator("header .danger", { hasText: "Stop" }).count(), 0, "no Stop in the header");
    const stop = page.locator(".consoles .bar-actions button", { hasText: "Stop" });
    assert.equal(await stop.count(), 1);
    assert.equal(await stop.isDisabled(), true, "Stop is off with nothing running");
    const danger = await page.evaluate(() => getComputedStyle(document.querySelector("button.danger:not(:disabled)") ?? document.body).getPropertyValue("--danger").trim());
    const stopColor = () => stop.evaluate((b) => getComputedStyle(b).color);
    const red = await page.evaluate((c) => { const d = document.createElement("i"); d.style.color = c; document.body.append(d); const v = getComputedStyle(d).color; d.remove(); return v; }, danger);
    assert.notEqual(await stopColor(), red, "an off Stop is not drawn red");

    await page.getByRole("button", { name: "New folder" }).click();
    await page.getByLabel(/Name of the new folder/).fill("proj");
    await page.getByRole("button", { name: "Create" }).click();
    await page.locator(".tree li[data-path='Local/heidi/proj']").click();
    await newFile(page, "long.py");
    await typeCode(page, lines);
    await saved(page);
    await newFile(page, "ticker.py");
    await typeCode(page, ticker);
    await saved(page);
    await run(page);
    await waitOut(page, "tick 3");
    assert.equal(await stop.isDisabled(), false, "Stop is on while the program runs");
    assert.equal(await stopColor(), red, "a Stop that can stop something is red");
    assert.match(await page.locator("header button.run").innerText(), /Run ticker\.py again/);

    // The cursor at line 40 of long.py, scrolled there; then back to ticker.py.
    await page.getByRole("tab", { name: /long\.py/ }).click();
    await page.evaluate(() => {
      const ed = document.querySelector(".editor-pane:not([hidden]) .cm-content");
      ed.focus();
    });
    await page.keyboard.press("Control+Home");
    for (let i = 0; i < 39; i++) await page.keyboard.press("ArrowDown");
    await page.locator(".editor-pane:not([hidden]) .cm-activeLine", { hasText: "# line 40" }).waitFor();
    // The current file has no program: Run says so, and the console still
    // shows (and Stop still stops) the one that runs, named in its title.
    assert.match(await page.locator("header button.run").innerText(), /^▶ Run long\.py$/);
    assert.match(await stop.getAttribute("title"), /Stop ticker\.py/);
    await page.getByRole("tab", { name: /ticker\.py/ }).first().click();
    await page.waitForTimeout(1500); // the state is kept within a second

    await page.reload();
    await page.locator(".conn[data-state=open]").waitFor();
    await page.getByRole("tab", { name: /long\.py/ }).waitFor();
    assert.deepEqual(await openTabs(page), ["long.py", "ticker.py"], "the same tabs, in order");
    assert.equal(await page.locator(".editor .tabs .tab[aria-selected=true] .tab-label").innerText(), "ticker.py", "the same active tab");
    await page.locator(".tree li[data-path='Local/heidi/proj'][aria-expanded=true]").waitFor();
    // The running program's console is back with its output so far, and goes on.
    await waitOut(page, "tick 1\n");
    const now = await out(page).innerText();
    const last = Math.max(...[...now.matchAll(/tick (\d+)/g)].map((m) => Number(m[1])));
    await waitOut(page, `tick ${last + 3}`);
    assert.equal(await stop.isDisabled(), false, "Stop is on for the re-attached program");
    await page.getByRole("tab", { name: /long\.py/ }).click();
    const active = page.locator(".editor-pane:not([hidden]) .cm-activeLine", { hasText: "# line 40" });
    await active.waitFor();
    // Scrolled as it was: line 40 on screen, line 1 not.
    await page.waitForFunction(() => {
      const pane = document.querySelector(".editor-pane:not([hidden]) .cm-scroller").getBoundingClientRect();
      const line = document.querySelector(".editor-pane:not([hidden]) .cm-activeLine").getBoundingClientRect();
      const first = [...document.querySelectorAll(".editor-pane:not([hidden]) .cm-line")].find((l) => l.textContent === "# line 1");
      return line.top >= pane.top && line.bottom <= pane.bottom && (!first || first.getBoundingClientRect().bottom <= pane.top);
    });
    await shot(page, "workspace-restored");

    // Another browser (the first session ends: one session per student).
    await session("workspace-other", async (ctx2) => {
      const other = await newPage(ctx2);
      await login(other, "heidi");
      await other.getByRole("tab", { name: /long\.py/ }).waitFor();
      assert.deepEqual(await openTabs(other), ["long.py", "ticker.py"]);
      await waitOut(other, "tick");
      const stop2 = other.locator(".consoles .bar-actions button", { hasText: "Stop" });
      await stop2.click();
      await out(other).locator(".end").getByText("You stopped the program.").waitFor({ timeout: 5000 });
      assert.equal(await stop2.isDisabled(), true, "Stop is off once it ended");
      assert.match(await other.locator("header button.run").innerText(), /^▶ Run/);
    });
  }));

test("a refused start says whether trying again helps, and Try again does once it can", () =>
  session("refused", async (ctx) => {
    const page = await newPage(ctx);
    await login(page, "judy");
    // Three programs are a student's limit; the fourth is refused with the
    // limit's sentence and Try again (a limit passes).
    for (let i = 0; i < 3; i++) {
      await page.getByRole("button", { name: "New REPL" }).click();
      await page.locator(".consoles .tab[aria-selected=true][data-state=repl]").waitFor({ timeout: WAIT });
    }
    await page.getByRole("button", { name: "New REPL" }).click();
    const end = out(page).locator(".end");
    await end.waitFor();
    assert.match(await end.innerText(), /3/);
    const again = end.getByRole("button", { name: "Try again" });
    await again.waitFor();
    await shot(page, "start-refused");
    // One REPL closed, Try again starts it.
    await page.locator(".consoles .tab", { hasText: "REPL 1" }).click();
    await page.locator(".consoles .bar-actions button", { hasText: "Close" }).click();
    await page.locator(".consoles .tab", { hasText: "REPL 4" }).click();
    await out(page).locator(".end").getByRole("button", { name: "Try again" }).click();
    await page.locator(".consoles .tab[aria-selected=true][data-state=repl]", { hasText: "REPL 5" }).waitFor({ timeout: WAIT });
    assert.equal(await page.locator(".consoles .tab", { hasText: "REPL 4" }).count(), 0, "the refused console made way for the new one");
    assert.equal(BASE.length > 0, true);
  }));
