// The editor helps a beginner: errors explained in plain words under
// Python's own message, and the keyboard (Ctrl+Enter runs, Ctrl+S saves,
// Esc or Ctrl+C stops, F1 lists it all).
import { test } from "node:test";
import assert from "node:assert/strict";
import { WAIT, session, newPage, login, newFile, typeCode, saved, out, shot, waitOut } from "./helpers.mjs";

/** runKeys runs the open file with Ctrl+Enter and waits for its end line. */
async function runKeys(page) {
  await page.locator(".editor-pane:not([hidden]) .cm-content").click();
  await page.keyboard.press("Control+Enter");
  await page.waitForFunction(() => {
    const t = document.querySelector(".consoles .tab[aria-selected=true]");
    return t && t.dataset.state && t.dataset.state !== "starting";
  }, null, { timeout: WAIT });
}

test("errors get a plain-words explanation below Python's message, and the traceback links to the line", () =>
  session("explain", async (ctx) => {
    const page = await newPage(ctx);
    await login(page, "max");
    const cases = [
      { file: "typo.py", code: "name = 'Ann'\nprint(nmae)\n", python: "NameError: name 'nmae' is not defined", words: /nothing called nmae was made before this line — did you mean name\?/ },
      { file: "divide.py", code: "print(10 / 0)\n", python: "ZeroDivisionError: division by zero", words: /divided by zero/ },
      { file: "age.py", code: "age = '7'  # as input() gives it\nprint(age + 1)\n", python: 'TypeError: can only concatenate str (not "int") to str', words: /input\(\) always gives text/ },
      { file: "brackets.py", code: "print('hi'\nfor i in range(3):\n    print(i)\n", python: "SyntaxError", words: /bracket was opened and not closed/ },
      { file: "indent.py", code: "if True:\nprint('x')\n", python: "IndentationError", words: /spaces at the start of a line do not line up/ },
      { file: "items.py", code: "xs = [1, 2, 3]\nprint(xs[3])\n", python: "IndexError: list index out of range", words: /Positions start at 0/ },
      { file: "keys.py", code: "d = {'a': 1}\nprint(d['b'])\n", python: "KeyError: 'b'", words: /no key 'b'/ },
    ];
    for (const c of cases) {
      await newFile(page, c.file);
      await typeCode(page, c.code);
      await saved(page);
      await runKeys(page);
      await waitOut(page, c.python);
      const note = out(page).locator(".explain");
      await note.waitFor();
      assert.match(await note.innerText(), c.words, `${c.file}: ${await note.innerText()}`);
      assert.match(await out(page).innerText(), new RegExp(c.python.replace(/[()[\]"]/g, "\\$&")), "Python's own message stays");
      if (c.file === "typo.py") await shot(page, "explain");
    }
    // The traceback's frame opens the file at its line.
    await out(page).locator(".tb-link").first().click();
    await page.locator(".editor-pane:not([hidden]) .cm-activeLine", { hasText: "print(d['b'])" }).waitFor();
  }));

test("Ctrl+S saves now, Ctrl+Enter runs, Esc and Ctrl+C stop, F1 lists the keys", () =>
  session("keys", async (ctx) => {
    const page = await newPage(ctx);
    await login(page, "max");
    await newFile(page, "keys_demo.py");
    await typeCode(page, "print('saved by keys')\n");
    await page.keyboard.press("Control+s");
    await page.getByText("Saved keys_demo.py.").waitFor();
    const disk = await page.evaluate(async () => (await fetch("/api/files/content?path=Local/max/keys_demo.py")).text());
    assert.equal(disk, "print('saved by keys')\n");
    assert.equal(await page.locator(".editor-pane:not([hidden]) .cm-line").count(), 2, "Ctrl+S added nothing to the text");

    await typeCode(page, "print('spinning', flush=True)\nwhile True:\n    pass\n");
    await saved(page);
    await runKeys(page);
    await waitOut(page, "spinning");
    assert.equal(await page.locator(".editor-pane:not([hidden]) .cm-line").count(), 4, "Ctrl+Enter added no line");
    await out(page).click();
    await page.keyboard.press("Escape");
    await out(page).locator(".end").getByText("You stopped the program.").waitFor({ timeout: 5000 });

    await typeCode(page, "x = input('Name? ')\nprint('never', x)\n");
    await saved(page);
    await runKeys(page);
    const box = page.locator(".console-pane:not([hidden]) textarea.stdin");
    await box.waitFor();
    await box.press("Control+c");
    await out(page).locator(".end").getByText("You stopped the program.").waitFor({ timeout: 5000 });

    await page.keyboard.press("F1");
    const help = page.getByRole("dialog", { name: "Keyboard shortcuts" });
    await help.getByText("Ctrl+Enter or F5").waitFor();
    await help.getByText("Esc or Ctrl+C in the console, or Shift+F5").waitFor();
    await shot(page, "keys");
    await help.getByRole("button", { name: "Close" }).click();
  }));
