// Script injection through what students control: file and folder names,
// program output on stdout and stderr, input() prompts and tracebacks. The
// server sends them as JSON data; the IDE must put them on the page as text.
// An injected element is looked for directly (the CSP would also stop an
// inline handler from running, so "nothing ran" alone would prove less).
import { test } from "node:test";
import assert from "node:assert/strict";
import { WAIT, session, newPage, login, run, waitOut, out, shot } from "./helpers.mjs";

const payload = (n) => `<img src=x onerror="window.__pwned=${n}">`;

async function put(page, path, content) {
  const status = await page.evaluate(async ([path, content]) =>
    (await fetch("/api/files/content?path=" + encodeURIComponent(path), { method: "PUT", body: content })).status, [path, content]);
  assert.equal(status, 200, `saving ${path}`);
}

async function injected(page) {
  return page.evaluate(() => ({
    pwned: window.__pwned ?? null,
    elements: document.querySelectorAll('img[src="x"], svg[onload], [onerror], [onload], script:not([src])').length,
  }));
}

test("names, output, prompts and tracebacks with markup are shown as text", () =>
  session("injection", async (ctx) => {
    const page = await newPage(ctx);
    const dialogs = [];
    page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
    await login(page, "mallory");

    const name = `${payload(1)}.py`;
    const folder = `<svg onload="window.__pwned=7">`;
    const program = [
      "import sys",
      `print('${payload(2)}')`,
      "print('<script>window.__pwned=3</script>')",
      `print('${payload(4)}', file=sys.stderr)`,
      `x = input('${payload(5)}')`,
      `raise ValueError('${payload(6)}')`,
      "",
    ].join("\n");
    await put(page, `Local/mallory/${name}`, program);
    const mk = await page.evaluate(async (p) => (await fetch("/api/files/mkdir", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ path: p }) })).status, `Local/mallory/${folder}`);
    assert.equal(mk, 201);

    // The tree shows both names, literally.
    await page.reload();
    await page.locator(".tree li[aria-selected=true]").first().waitFor();
    await page.getByRole("treeitem", { name: `${folder} folder` }).waitFor();
    const file = page.getByRole("treeitem", { name });
    await file.waitFor();
    await file.click();
    await page.getByRole("tab", { name: new RegExp("onerror") }).first().waitFor();

    await run(page);
    const input = page.locator(".stdin-row[data-kind=input] textarea");
    await input.waitFor();
    await input.fill("x");
    await page.keyboard.press("Enter");
    await waitOut(page, "ValueError", WAIT);
    const text = await out(page).textContent();
    for (const want of [payload(2), "<script>window.__pwned=3</script>", payload(4), payload(5), payload(6)]) {
      assert.ok(text.includes(want), `the console shows ${want} as text`);
    }
    await shot(page, "injection");

    assert.deepEqual(await injected(page), { pwned: null, elements: 0 }, "no markup from a name or from output became an element");
    assert.deepEqual(dialogs, []);
    assert.deepEqual(page.errors, []);
  }));
