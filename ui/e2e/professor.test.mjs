// The teacher's views: every student's folder, the live process table with
// Stop (the student sees why), users, distribution and health.
import { test } from "node:test";
import assert from "node:assert/strict";
import { session, browser, newPage, login, newFile, typeCode, saved, out, shot, api, run } from "./helpers.mjs";

test("a professor sees a student's program, stops it, and the student is told", () =>
  session("professor", async (ctx) => {
    const student = await newPage(ctx);
    await login(student, "erin");
    await newFile(student, "loop.py");
    await typeCode(student, "import time\nn = 0\nwhile True:\n    n += 1\n    time.sleep(0.2)\n");
    await saved(student);
    await run(student);
    await student.locator(".consoles .tab[data-state=running]").waitFor();

    const t = await browser();
    try {
      const prof = await newPage(t.ctx);
      await login(prof, "prof");
      // Every student's folder is in the teacher's tree.
      await prof.getByRole("treeitem", { name: "Local folder" }).waitFor();
      await prof.getByRole("treeitem", { name: "erin folder" }).waitFor();
      await prof.getByRole("button", { name: "Class" }).click();
      const row = prof.locator("tr", { hasText: "Local/erin/loop.py" });
      await row.waitFor();
      assert.match(await row.innerText(), /erin/);
      await shot(prof, "professor-processes");
      await row.getByRole("button", { name: /Stop erin/ }).click();
      await student.bringToFront();
      await out(student).locator(".end").getByText("Stopped by your teacher.").waitFor();

      // Users: add one (generated password shown once), then deactivate.
      await prof.getByRole("tab", { name: "Users" }).click();
      await prof.getByLabel("Username").fill("gina");
      await prof.getByLabel("Full name").fill("Gina Example");
      await prof.getByRole("button", { name: "Add user" }).click();
      await prof.getByRole("dialog").getByText(/Password for gina/).waitFor();
      await prof.getByRole("dialog").getByRole("button", { name: "Close" }).click();
      await prof.getByRole("button", { name: "Deactivate gina" }).click();
      await prof.getByRole("dialog").getByRole("button", { name: "Deactivate" }).click();
      await prof.locator("tr", { hasText: "gina" }).getByText("deactivated").waitFor();
      await shot(prof, "professor-users");

      // Distribute a course file into every home.
      await prof.getByRole("tab", { name: "Distribute" }).click();
      await prof.getByLabel(/File or folder to copy/).fill("Lecture Notes/week1.py");
      await prof.getByRole("button", { name: "Distribute" }).click();
      await prof.getByRole("heading", { name: "Result" }).waitFor();
      const copy = await api(student, "GET", "/api/files/content?path=Local/erin/week1.py");
      assert.equal(copy.text, "print('week 1')\n");

      await prof.getByRole("tab", { name: "Health" }).click();
      await prof.locator(".health-status").getByText(/Server: (ok|ready|degraded)/).waitFor();
      await shot(prof, "professor-health");
      assert.deepEqual(prof.errors, []);
    } finally {
      await t.close();
    }
  }));
