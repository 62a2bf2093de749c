// Exam mode: a teacher starts an exam for one student; during it the
// student's IDE shows only the exam folder, the file API and the sandbox
// refuse everything else, the teacher's live view follows saves and runs;
// ending it hands the folder in and leaves it read-only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WAIT, BASE, session, newPage, login, newFile, typeCode, saved, out, shot, run, waitOut, api } from "./helpers.mjs";

test("an exam shows only its folder, refuses the rest, is followed live, and is handed in at the end", () =>
  session("exam", async (ctx) => {
    const teacher = await newPage(ctx);
    await login(teacher, "prof");
    // lena has work of her own that the exam must hide.
    await session("exam-before", async (c0) => {
      const p0 = await newPage(c0);
      await login(p0, "lena");
      await newFile(p0, "private.py");
      await typeCode(p0, "secret = 'homework answers'\n");
      await saved(p0);
    });

    await teacher.getByRole("button", { name: "Class" }).click();
    await teacher.getByRole("tab", { name: "Exams" }).click();
    await teacher.getByLabel("ID (the folder's name)").fill("quiz1");
    await teacher.getByLabel("Title").fill("Quiz 1");
    await teacher.getByLabel("Minutes").fill("30");
    await teacher.getByLabel("Students").fill("lena");
    await teacher.getByRole("button", { name: "Start exam" }).click();
    await teacher.getByRole("table", { name: "Live view" }).waitFor();

    await session("exam-student", async (c1) => {
      const page = await newPage(c1);
      // Unsaved text of a file from before the exam, left in this browser.
      await page.goto(BASE + "/");
      await page.evaluate(() => localStorage.setItem("pythonide.draft:lena:Local/lena/private.py", JSON.stringify({ text: "secret = 'changed'\n", etag: null, at: Date.now() })));
      await login(page, "lena");
      await page.locator(".exam-banner", { hasText: "Exam: Quiz 1" }).waitFor();
      const roots = await page.locator(".tree > li > .row .name").allInnerTexts();
      assert.deepEqual(roots, ["Exam: Quiz 1"], "only the exam folder is in the tree");
      assert.equal(await page.locator("#view-assignments").isVisible(), false, "no other views during the exam");
      // History and the trash are closed during the exam: not offered.
      assert.equal(await page.getByRole("button", { name: "History" }).isVisible(), false, "no History during the exam");
      assert.equal(await page.getByRole("button", { name: /Deleted files/ }).isVisible(), false, "no Trash during the exam");
      // The file API refuses the rest.
      for (const path of ["/api/files/content?path=Local/lena/private.py", "/api/files?path=Local/lena", "/api/files/content?path=Lecture%20Notes/week1.py", "/api/files?path="]) {
        const r = await api(page, "GET", path);
        assert.equal(r.status, 403, `${path}: ${r.status} ${r.text}`);
      }
      // The exam folder works; a program there sees nothing else.
      await page.locator(".tree li[data-path='Local/lena/quiz1'] > .row").click();
      await newFile(page, "answer.py");
      await typeCode(page, "import os\nprint(sorted(os.listdir('.')))\nprint(os.path.exists('private.py'), os.path.exists('../private.py'))\n");
      await saved(page);
      await run(page);
      await waitOut(page, "['answer.py']");
      await waitOut(page, "False False");
      await shot(page, "exam-student");
      assert.equal(await page.locator(".drafts").count(), 0, "a draft of a file outside the exam folder is not offered");

      // The teacher's live view follows.
      await teacher.waitForFunction(() => {
        const row = document.querySelector("tr[data-user=lena]");
        return row && row.children[1].textContent.includes("yes") && row.children[3].textContent !== "–" && row.children[4].textContent !== "–";
      }, null, { timeout: WAIT });
      await teacher.getByRole("list", { name: "Exam log" }).getByText(/lena save/).first().waitFor();
      // The editor does not ask for the checks and completions the exam closes:
      // the refusals in the log are the four the test made, none of the IDE's own.
      await page.locator(".editor-pane:not([hidden]) .cm-content").click();
      await page.keyboard.press("Control+End");
      await page.keyboard.type("x = (");
      await page.waitForTimeout(800); // past the editor's 300 ms pause before a check
      const log = JSON.parse((await api(teacher, "GET", "/api/admin/exams/quiz1/events")).text).events;
      const denied = log.filter((e) => e.kind === "denied").map((e) => e.detail);
      assert.equal(denied.length, 4, `refusals logged: ${JSON.stringify(denied)}`);
      await shot(teacher, "exam-live");

      // The end: handed in, then read-only.
      await teacher.getByRole("button", { name: "End now" }).click();
      await teacher.getByRole("dialog").getByRole("button", { name: "End now" }).click();
      await page.getByRole("dialog", { name: /Time is up/ }).waitFor({ timeout: WAIT });
      // Closing the notice reloads into the normal IDE; wait for the new page,
      // not the old one's connection state.
      await Promise.all([page.waitForEvent("load", { timeout: WAIT }), page.getByRole("dialog").getByRole("button").first().click()]);
      await page.locator(".conn[data-state=open]").waitFor();
      assert.equal(await page.locator(".exam-banner").count(), 0, "the exam banner is gone after the end");
      const w = await page.evaluate(async () => (await fetch("/api/files/content?path=Local/lena/quiz1/answer.py", { method: "PUT", body: "print('late')\n" })).status);
      assert.ok(w >= 400, `writing after the end: ${w}`);
      await teacher.waitForFunction(() => document.querySelector("tr[data-user=lena]")?.children[8].textContent.includes("final"), null, { timeout: WAIT });
    });
  }));
