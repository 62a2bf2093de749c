// What a program sees and how its errors lead back to the code: the home at
// the neutral /home/student, traceback frames that open the file at the
// line, and a link a program made shown as a link in the tree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { session, newPage, login, newFile, typeCode, saved, out, run, waitOut, shot } from "./helpers.mjs";

test("a traceback names /home/student and its frames open the file at the line", () =>
  session("traceback", async (ctx) => {
    const page = await newPage(ctx);
    await login(page, "grace");
    await newFile(page, "helper.py");
    await typeCode(page, "def half(n):\n    return n / 0\n");
    await saved(page);
    await newFile(page, "main.py");
    await typeCode(page, [
      "import os",
      "from helper import half",
      "if not os.path.lexists('alias.py'):",
      "    os.symlink('helper.py', 'alias.py')",
      "print('cwd', os.getcwd())",
      "half(4)",
      "",
    ].join("\n"));
    await saved(page);
    await run(page);
    await waitOut(page, "ZeroDivisionError");
    const text = await out(page).innerText();
    assert.match(text, /^cwd \/home\/student$/m, "the program runs in the neutral home");
    assert.doesNotMatch(text, /Local\/grace|\/ide\//, "no host path in the output");

    // Each frame of the student's files is a link.
    const links = out(page).locator("a.tb-link");
    await links.first().waitFor();
    const names = await links.allInnerTexts();
    assert.deepEqual(names, ['File "/home/student/main.py", line 6', 'File "/home/student/helper.py", line 2']);
    await shot(page, "traceback-links");
    await links.nth(1).click();
    await page.locator(".editor .tab[aria-selected=true][title='Local/grace/helper.py']").waitFor();
    const line = await page.locator(".editor-pane:not([hidden]) .cm-activeLine").innerText();
    assert.equal(line, "    return n / 0", "the link selects the line that failed");

    // The link the program made is listed as a link, not as an empty file.
    await page.reload();
    await page.locator(".tree li[aria-selected=true]").first().waitFor();
    await page.getByRole("treeitem", { name: "alias.py, link" }).waitFor();
    assert.deepEqual(page.errors, []);
  }));
