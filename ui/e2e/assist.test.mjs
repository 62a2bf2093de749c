// The editor helps as the student types: Python's own syntax error
// underlined (and cleared when fixed), completions for a module and the
// student's own file, a call's signature; a hostile file stalls nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WAIT, USERS, browser, session, newPage, login, newFile, typeCode, saved, shot } from "./helpers.mjs";

const pane = ".editor-pane:not([hidden])";
const SMALL = process.env.PYTHONIDE_E2E_SMALL_URL;

test("a syntax error is underlined with Python's message as the student types, and clears when fixed", () =>
  session("assist-check", async (ctx) => {
    const page = await newPage(ctx);
    await login(page, "nina");
    await newFile(page, "unclosed.py");
    await typeCode(page, 'print("hi"\nfor i in range(3):\n    print(i)\n');
    const mark = page.locator(`${pane} .cm-lintRange-error`);
    await mark.first().waitFor({ timeout: WAIT });
    await page.locator(`${pane} .cm-lint-marker-error`).first().waitFor();
    await page.locator(`${pane} .cm-lint-marker-error`).first().hover();
    const tip = page.locator(".cm-tooltip-lint");
    await tip.waitFor();
    assert.match(await tip.innerText(), /'\(' was never closed \(line 1, column 6\)/, await tip.innerText());
    await shot(page, "syntax-underline");
    await typeCode(page, 'print("hi")\nfor i in range(3):\n    print(i)\n');
    await mark.first().waitFor({ state: "detached", timeout: WAIT });

    // A hostile file (deep brackets) does not stall the checker: the next
    // mistake is still found.
    await typeCode(page, "x = " + "(".repeat(100000) + "\n");
    await page.waitForTimeout(1500);
    await typeCode(page, "if True\n    pass\n");
    await mark.first().waitFor({ timeout: WAIT });
    assert.match(await page.locator(`${pane} .cm-line`).first().innerText(), /^if True$/);
  }));

test("completions come from the module and the student's own file, and a call shows its signature", () =>
  session("assist-complete", async (ctx) => {
    const page = await newPage(ctx);
    await login(page, "nina");
    await newFile(page, "helpers.py");
    await typeCode(page, "def greet(name):\n    return 'Hello ' + name\n");
    await saved(page);
    await newFile(page, "main.py");
    await typeCode(page, "import math\nimport helpers\n");
    await page.keyboard.type("math.sq");
    const list = page.locator(".cm-tooltip-autocomplete");
    await list.locator(".cm-completionLabel", { hasText: /^sqrt$/ }).waitFor({ timeout: WAIT });
    await shot(page, "completions");
    await page.keyboard.press("Escape");
    await page.keyboard.press("Enter");
    await page.keyboard.type("helpers.gr");
    await list.locator(".cm-completionLabel", { hasText: /^greet$/ }).waitFor({ timeout: WAIT });
    await page.keyboard.press("Escape");
    await page.keyboard.press("Enter");
    await page.keyboard.type("print(");
    const sig = page.locator(".cm-signature");
    await sig.waitFor({ timeout: WAIT });
    assert.match(await sig.innerText(), /^print\(/);
    await shot(page, "signature");
  }));

test("a completion answered without the student's files says so above its names, and still knows the modules the file imports", { skip: !SMALL && "no small server (run through cmd/pythonide TestBrowserUI)" }, () =>
  session("assist-limited", async (ctx) => {
    // The small server has one completer that reads a home: alice's, once she asks.
    const alice = await newPage(ctx);
    await login(alice, "alice", USERS.alice, SMALL);
    await newFile(alice, "mine.py");
    await typeCode(alice, "def own_function():\n    pass\n");
    await saved(alice);
    await newFile(alice, "main.py");
    await typeCode(alice, "import mine\n");
    const list = (page) => page.locator(".cm-tooltip-autocomplete");
    const note = (page) => list(page).locator("completion-section");
    const ask = async () => {
      await alice.keyboard.type("mine.own_f");
      await list(alice).locator(".cm-completionLabel", { hasText: /^own_function$/ }).waitFor({ timeout: WAIT });
      assert.equal(await note(alice).count(), 0, "a full answer has no note");
      await alice.keyboard.press("Escape");
      await alice.keyboard.press("Enter");
    };
    await ask();

    const { ctx: other, close } = await browser();
    try {
      const bob = await newPage(other);
      await login(bob, "bob", USERS.bob, SMALL);
      await newFile(bob, "bobmod.py");
      await typeCode(bob, "def bob_function():\n    pass\n");
      await saved(bob);
      await newFile(bob, "b.py");
      await typeCode(bob, "import math\n");
      await ask(); // alice's completer was used a moment ago: it is not taken from her
      await bob.keyboard.type("math.sq");
      await list(bob).locator(".cm-completionLabel", { hasText: /^sqrt$/ }).waitFor({ timeout: WAIT });
      await note(bob).waitFor();
      assert.match(await note(bob).innerText(), /names from your other files are not offered just now/);
      await shot(bob, "completion-limited");
      // A module the file imports from its folder is sent along, and named in the note.
      await bob.keyboard.press("Escape");
      await bob.keyboard.press("Enter");
      await bob.keyboard.insertText("import bobmod\n");
      await bob.keyboard.type("bobmod.bob_f");
      await list(bob).locator(".cm-completionLabel", { hasText: /^bob_function$/ }).waitFor({ timeout: WAIT });
      assert.match(await note(bob).innerText(), /only the modules this file imports from its folder/);
      assert.deepEqual(bob.errors, []);
    } finally {
      await close();
    }
    assert.deepEqual(alice.errors, []);
  }));
