// Shared set-up for the end-to-end tests: Debian's Chromium driven by
// playwright-core against a real pythonide server. The Go test
// (cmd/pythonide/ui_e2e_test.go) starts the server and sets:
//   PYTHONIDE_E2E_URL         http://127.0.0.1:PORT
//   PYTHONIDE_E2E_USERS       JSON {"alice": "pw", ...}
//   PYTHONIDE_E2E_SHOTS       folder for screenshots (default /tmp)
//   PYTHONIDE_E2E_FRESH_URL   a server on an empty data folder (its first account:
//                             PYTHONIDE_E2E_FRESH_PASSWORD)
//   PYTHONIDE_E2E_SMALL_URL   a server with one home completer (--assist-completers 1),
//                             alice and bob its students
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const BASE = process.env.PYTHONIDE_E2E_URL ?? "http://127.0.0.1:8080";
export const USERS = JSON.parse(process.env.PYTHONIDE_E2E_USERS ?? "{}");
export const SHOTS = process.env.PYTHONIDE_E2E_SHOTS ?? "/tmp";
const executablePath = process.env.PYTHONIDE_E2E_CHROMIUM ?? "/usr/bin/chromium";

// Generous: a loaded 2-core CI machine starting confined Python.
export const WAIT = 30_000;

/** browser starts a fresh Chromium profile (its own cookies) at 1280×720. */
export async function browser() {
  const dir = mkdtempSync(join(tmpdir(), "pythonide-e2e-"));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 720 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    ],
  });
  ctx.setDefaultTimeout(WAIT);
  const close = async () => {
    await ctx.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  return { ctx, close };
}

/** page opens a new tab that fails the test on any uncaught page error. */
export async function newPage(ctx) {
  const page = await ctx.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && !/status of (401|404|409|412|429)/.test(m.text())) page.errors.push(m.text());
  });
  return page;
}

export async function login(page, user, password = USERS[user], base = BASE) {
  await page.goto(base + "/");
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.locator(".conn[data-state=open]").waitFor();
  await page.locator(".tree li[aria-selected=true]").first().waitFor(); // the file tree has loaded
}

/** newFile makes a file in the selected folder (My files by default) and opens it. */
export async function newFile(page, name) {
  await page.getByRole("button", { name: "New file" }).click();
  const input = page.getByLabel(/Name of the new file/);
  await input.fill(name);
  await page.getByRole("button", { name: "Create" }).click();
  await page.getByRole("tab", { name: new RegExp(name.replace(/\./g, "\\.")) }).waitFor();
}

/** typeCode replaces the editor's text as a student's typing would. */
export async function typeCode(page, code) {
  const ed = page.locator(".editor-pane:not([hidden]) .cm-content");
  await ed.click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  // insertText: auto-indent and bracket closing would otherwise double what we type
  await page.keyboard.insertText(code);
}

export async function saved(page) {
  await page.locator(".save-state[data-state=saved]").waitFor();
}

/** out is the text of the visible console. */
export function out(page) {
  return page.locator(".console-pane:not([hidden]) .out");
}

export async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `ui-${name}.png`) });
}

export async function api(page, method, path, body) {
  return page.evaluate(async ([method, path, body]) => {
    const res = await fetch(path, { method, headers: body === undefined ? {} : { "Content-Type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, text: await res.text() };
  }, [method, path, body]);
}

/** session runs fn with a fresh browser; on failure it saves a screenshot of
 * every open page (ui-fail-NAME-i.png) and prints their errors. */
export async function session(name, fn) {
  const { ctx, close } = await browser();
  try {
    await fn(ctx);
  } catch (e) {
    let i = 0;
    for (const p of ctx.pages()) {
      await p.screenshot({ path: join(SHOTS, `ui-fail-${name}-${i++}.png`) }).catch(() => {});
      if (p.errors?.length) console.log(`page errors (${name}):`, p.errors);
    }
    throw e;
  } finally {
    await close();
  }
}

/** waitOut waits until the visible console's text contains text. */
export async function waitOut(page, text, timeout = WAIT) {
  await page.waitForFunction((t) => document.querySelector(".console-pane:not([hidden]) .out")?.textContent.includes(t), text, { timeout });
}

/** run starts the open file (F5, or trigger) and waits until the server has
 * answered. A spawn the server itself reports as failed ("could not be
 * started", seen when this machine is overloaded) is tried once more, and
 * said so in the log: these tests are about the page, not spawn load. */
export async function run(page, trigger = () => page.keyboard.press("F5")) {
  for (let i = 0; ; i++) {
    await trigger();
    await page.waitForFunction(() => {
      const t = document.querySelector(".consoles .tab[aria-selected=true]");
      return t && t.dataset.state && t.dataset.state !== "starting";
    }, null, { timeout: WAIT });
    const refused = await out(page).locator(".end", { hasText: "could not be started" }).count();
    if (!refused || i === 1) return;
    console.log("note: the server could not start the program (overloaded machine?); running it again once");
  }
}
