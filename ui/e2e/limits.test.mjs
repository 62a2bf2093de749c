// Programs that never end or eat memory are stopped, and the student is told
// why in plain words.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WAIT, session, newPage, login, newFile, typeCode, saved, out, shot, run } from "./helpers.mjs";

test("Stop (Shift+F5) ends an infinite loop and says so", () =>
  session("stop", async (ctx) => {
    const page = await newPage(ctx);
    await login(page, "bob");
    await newFile(page, "forever.py");
    await typeCode(page, "print('spinning', flush=True)\nwhile True:\n    pass\n");
    await saved(page);
    await run(page);
    await out(page).getByText("spinning").waitFor();
    await page.locator(".console-pane:not([hidden])").waitFor();
    await page.keyboard.press("Shift+F5");
    await out(page).locator(".end").getByText("You stopped the program.").waitFor({ timeout: 5000 });
    assert.equal(await page.locator(".consoles .bar-actions button", { hasText: "Stop" }).isDisabled(), true, "Stop is off once the program has ended");
  }));

test("a program over the memory limit is stopped with a message naming the limit", () =>
  session("memory", async (ctx) => {
    const page = await newPage(ctx);
    await login(page, "bob");
    await newFile(page, "hungry.py");
    await typeCode(page, "print('allocating', flush=True)\nx = bytearray(200 * 1024 * 1024)\nprint('survived')\n");
    await saved(page);
    await run(page, () => page.getByRole("button", { name: /Run hungry\.py/ }).click());
    const end = out(page).locator(".end");
    await end.waitFor({ timeout: WAIT });
    const text = await out(page).innerText();
    // With a memory cgroup the kernel stops it (memory_limit); without one,
    // the address-space limit makes Python raise MemoryError instead.
    assert.match(text, /more than 50 MB of memory|MemoryError/, text);
    assert.doesNotMatch(text, /survived/);
    await shot(page, "memory-limit");
  }));
