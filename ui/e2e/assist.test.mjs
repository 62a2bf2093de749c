// The editor helps as the student types: Python's own syntax error
// underlined (and cleared when fixed), completions for a module and the
// student's own file, a call's signature; a hostile file stalls nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WAIT, session, newPage, login, newFile, typeCode, saved, shot } from "./helpers.mjs";

const pane = ".editor-pane:not([hidden])";

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
