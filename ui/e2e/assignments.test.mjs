// Homework: a teacher makes an assignment in the Class view (starter folder,
// due date in a time zone, late allowance, a test file) and publishes it; a
// student finds it, works in the folder the starter files were copied to,
// submits, and sees the grade; the teacher sees the submission, reads the
// handed-in file, comments, picks which submission counts and reads the
// gradebook; the student sees the comment. A closed assignment refuses a
// submission and the page shows the server's reason.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WAIT, session, browser, newPage, login, typeCode, saved, shot, api } from "./helpers.mjs";

const TESTS = `import unittest
from solution import add


class TestAdd(unittest.TestCase):
    def test_small(self):
        self.assertEqual(add(2, 3), 5)

    def test_negative(self):
        self.assertEqual(add(-1, 1), 0)
`;

const INSTRUCTIONS = `Write the function \`add(a, b)\` in **solution.py**: it returns the sum.

<img src="x" onerror="window.pwned = 1">

- it must work for negative numbers too
`;

/** put writes a file through the files API (raw body). */
async function put(page, path, text) {
  const status = await page.evaluate(async ([p, t]) =>
    (await fetch(`/api/files/content?path=${encodeURIComponent(p)}`, { method: "PUT", body: t })).status, [path, text]);
  assert.equal(status, 200, `PUT ${path}`);
}

/** wallTime is a datetime-local value days from now, at 18:00. */
function wallTime(days) {
  const d = new Date(Date.now() + days * 86400_000);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T18:00`;
}

const json = (r) => JSON.parse(r.text);

/** quiet takes the toasts away before a screenshot. */
const quiet = (page) => page.evaluate(() => document.querySelectorAll("#toasts .toast").forEach((t) => t.remove()));

test("a teacher sets homework, a student hands it in, it is graded, commented and in the gradebook", () =>
  session("assignments", async (ctx) => {
    const prof = await newPage(ctx);
    await login(prof, "prof");
    // The starter folder, made through the files API.
    const mk = await api(prof, "POST", "/api/files/mkdir", { path: "Local/prof/sum-starter" });
    assert.ok(mk.status === 201 || mk.status === 409, `mkdir: ${mk.status} ${mk.text}`);
    await put(prof, "Local/prof/sum-starter/solution.py", "def add(a, b):\n    # your code here\n    pass\n");

    // Create it in the Class view.
    await prof.getByRole("button", { name: "Class" }).click();
    await prof.getByRole("tab", { name: "Assignments" }).click();
    await prof.getByRole("button", { name: "New assignment" }).click();
    await prof.getByLabel("ID (the folder name)").fill("sum");
    await prof.getByLabel("Title").fill("Add two numbers");
    await prof.getByLabel("Instructions (Markdown)").fill(INSTRUCTIONS);
    await prof.getByLabel("Starter folder").fill("Local/prof/sum-starter");
    assert.ok((await prof.getByLabel("Time zone").inputValue()).length > 0, "the time zone defaults to the browser's");
    const due = wallTime(7);
    await prof.getByLabel("Due date").fill(due);
    await prof.getByLabel("Time zone").fill("Europe/Berlin");
    await prof.getByLabel(/Late submissions taken for/).fill("60");
    await prof.getByRole("button", { name: "Create assignment" }).click();
    await prof.getByRole("heading", { name: "Add two numbers" }).waitFor();
    await prof.getByRole("button", { name: "Save changes" }).waitFor();
    assert.equal(await prof.getByLabel("ID (the folder name)").isDisabled(), true, "the id is fixed once created");

    // A test file, then publish.
    await prof.getByLabel("Test file name").fill("test_sum.py");
    await prof.getByLabel("Test code").fill(TESTS);
    await prof.getByRole("button", { name: "Save test" }).click();
    await prof.getByRole("table", { name: "Tests" }).getByRole("cell", { name: "test_sum.py", exact: true }).waitFor();
    await prof.getByRole("button", { name: "Publish", exact: true }).click();
    const report = prof.locator(".publish-report");
    await report.getByText(/Published\. Starter files copied to \d+ students?, \d+ skipped, 0 failed\./).waitFor();
    console.log("publish:", await report.innerText());
    // The instructions as rendered by the server: Markdown, no raw HTML.
    const preview = prof.getByLabel("Instructions as students see them");
    await preview.locator("strong", { hasText: "solution.py" }).waitFor();
    assert.equal(await preview.locator("img").count(), 0, "raw HTML in the Markdown is left out");

    // Two more, made through the API: one past its due date but within the
    // allowance, one closed for good.
    const hour = 3600_000;
    for (const [id, title, dueAt, late] of [["late-hw", "Late homework", Date.now() - hour, 180], ["closed-hw", "Closed homework", Date.now() - 2 * hour, 0]]) {
      const r = await api(prof, "POST", "/api/admin/assignments", { id, title, due_at: new Date(dueAt).toISOString(), late_minutes: late, starter: "Local/prof/sum-starter", instructions: `This is *${title}*.` });
      assert.equal(r.status, 201, `create ${id}: ${r.text}`);
      const p = await api(prof, "POST", `/api/admin/assignments/${id}/publish`, { users: "all" });
      assert.equal(p.status, 200, `publish ${id}: ${p.text}`);
    }

    const t = await browser();
    try {
      const st = await newPage(t.ctx);
      await login(st, "carol");
      await st.getByRole("button", { name: "Assignments", exact: true }).click();
      const list = st.getByRole("table", { name: "Assignments" });
      const row = list.locator("tr", { hasText: "Add two numbers" });
      await row.waitFor();
      assert.match(await row.innerText(), new RegExp(`${due.replace("T", " ")} \\(Europe/Berlin\\)`), "the due date in the assignment's time zone");
      assert.match(await row.innerText(), /\bopen\b/);
      assert.match(await list.locator("tr", { hasText: "Late homework" }).innerText(), /\blate\b/);
      assert.match(await list.locator("tr", { hasText: "Closed homework" }).innerText(), /\bclosed\b/);

      await st.getByRole("button", { name: "Open Add two numbers" }).click();
      await st.getByRole("heading", { name: "Add two numbers" }).waitFor();
      const instr = st.getByLabel("Instructions", { exact: true });
      await instr.locator("strong", { hasText: "solution.py" }).waitFor();
      assert.equal(await instr.locator("img").count(), 0);
      assert.equal(await st.evaluate(() => window.pwned), undefined);

      // The folder opens in the file list, with the starter file in it.
      await st.getByRole("button", { name: "Open folder Local/carol/sum" }).click();
      const folder = st.getByRole("treeitem", { name: "sum folder", expanded: true, selected: true });
      await folder.waitFor();
      await folder.getByRole("treeitem", { name: "solution.py" }).click();
      await st.locator(".editor .tab[aria-selected=true][title='Local/carol/sum/solution.py']").waitFor();

      // A wrong solution first: both tests fail, with the assertion's message.
      await typeCode(st, "def add(a, b):\n    return a - b\n");
      await saved(st);
      await st.getByRole("button", { name: "Assignments", exact: true }).click();
      await st.getByRole("button", { name: "Submit", exact: true }).click();
      await st.locator(".submit-status").getByText(/Handed in as submission 1/).waitFor();
      const first = st.getByRole("group", { name: "Submission 1" });
      await first.locator(".grade-state", { hasText: /^graded$/ }).waitFor({ timeout: WAIT * 3 });
      assert.match(await first.innerText(), /score 0\/2/);
      const failed = first.getByRole("table", { name: "Test results of submission 1" });
      assert.match(await failed.innerText(), /test_sum\.py::TestAdd\.test_small\s+failed/);
      assert.match(await failed.innerText(), /-1 != 5/);

      // Fixed in the editor (Submit saves open files first), handed in again.
      await st.getByRole("button", { name: "Code", exact: true }).click();
      await typeCode(st, "def add(a, b):\n    return a + b\n");
      await st.getByRole("button", { name: "Assignments", exact: true }).click();
      await st.getByRole("button", { name: "Submit", exact: true }).click();
      await st.locator(".submit-status").getByText(/Handed in as submission 2/).waitFor();
      const second = st.getByRole("group", { name: "Submission 2" });
      await second.locator(".grade-state", { hasText: /^graded$/ }).waitFor({ timeout: WAIT * 3 });
      assert.match(await second.innerText(), /score 2\/2/);
      assert.match(await second.innerText(), /2 of 2 tests passed/);
      assert.match(await second.innerText(), /counts/);
      const snap = json(await api(st, "GET", "/api/assignments/sum")).submissions;
      assert.deepEqual(snap.map((s) => s.seq), [2, 1], "newest first");
      await quiet(st);
      await shot(st, "assignments-student");

      // The teacher: the submissions, one of them read, commented, chosen.
      await prof.getByRole("button", { name: "← All assignments" }).click();
      await prof.getByRole("button", { name: "Open Add two numbers" }).click();
      const subs = prof.getByRole("table", { name: "Submissions" });
      const latest = subs.locator("tr", { hasText: "carol" }).filter({ has: prof.getByRole("button", { name: "Open carol's submission 2" }) });
      await latest.getByText("graded").waitFor();
      assert.match(await latest.innerText(), /2\/2/);
      assert.match(await latest.innerText(), /counts/);
      await quiet(prof);
      await shot(prof, "assignments-teacher-list");
      await prof.getByRole("button", { name: "Open carol's submission 1" }).click();
      await prof.getByRole("heading", { name: /carol: submission 1 of Add two numbers/ }).waitFor();
      await prof.getByRole("button", { name: "Use this submission" }).click();
      await prof.getByRole("button", { name: "This submission was chosen" }).waitFor();
      await prof.getByRole("button", { name: "← Back to Add two numbers" }).click();
      await subs.locator("tr", { hasText: "counts (chosen)" }).getByRole("button", { name: "Open carol's submission 1" }).waitFor();
      const book1 = json(await api(prof, "GET", "/api/admin/gradebook"));
      assert.equal(book1.students.find((s) => s.username === "carol").cells.sum.score, 0, "the chosen submission counts");

      await prof.getByRole("button", { name: "Open carol's submission 2" }).click();
      await prof.getByRole("heading", { name: /carol: submission 2 of Add two numbers/ }).waitFor();
      assert.match(await prof.getByRole("table", { name: "Test results" }).innerText(), /test_small\s+passed/);
      await prof.getByRole("button", { name: "Use this submission" }).click();
      await prof.getByRole("button", { name: "This submission was chosen" }).waitFor();
      await prof.getByRole("button", { name: "View solution.py" }).click();
      const file = prof.getByLabel("Content of solution.py");
      await file.waitFor();
      assert.equal(await file.innerText(), "def add(a, b):\n    return a + b\n");
      assert.equal(await prof.locator(".file-viewer textarea, .file-viewer [contenteditable=true]").count(), 0, "read-only");
      await prof.getByLabel("Comment for the student").fill("Well done: both cases work.");
      await prof.getByRole("button", { name: "Save comment" }).click();
      await prof.getByText(/Comment saved/).waitFor();
      await quiet(prof);
      await shot(prof, "assignments-teacher");

      // The gradebook, and its CSV.
      await prof.getByRole("tab", { name: "Gradebook" }).click();
      const book = prof.getByRole("table", { name: "Gradebook" });
      await book.waitFor();
      const carolRow = book.locator("tr", { has: prof.getByRole("rowheader", { name: /carol/ }) });
      await carolRow.getByRole("button", { name: "carol, Add two numbers: 2/2" }).waitFor();
      assert.equal(await prof.getByRole("link", { name: "Download CSV" }).getAttribute("href"), "/api/admin/gradebook.csv");
      const csv = await api(prof, "GET", "/api/admin/gradebook.csv");
      assert.equal(csv.status, 200);
      assert.match(csv.text.split("\n")[0], /username,full_name,.*sum score/);
      assert.match(csv.text, /^carol,/m);
      // A cell opens that submission.
      await carolRow.getByRole("button", { name: "carol, Add two numbers: 2/2" }).click();
      await prof.getByRole("heading", { name: /carol: submission 2 of Add two numbers/ }).waitFor();

      // The student sees the comment.
      await st.getByRole("button", { name: "← All assignments" }).click();
      await st.getByRole("button", { name: "Open Add two numbers" }).click();
      await st.getByRole("group", { name: "Submission 2" }).getByText("Well done: both cases work.").waitFor();

      // A closed assignment refuses, and the page says why in the server's words.
      await st.getByRole("button", { name: "← All assignments" }).click();
      await st.getByRole("button", { name: "Open Closed homework" }).click();
      await st.getByRole("heading", { name: "Closed homework" }).waitFor();
      await st.getByRole("button", { name: "Submit", exact: true }).click();
      const refused = st.locator(".submit-status[role=alert]");
      await refused.waitFor();
      const direct = await api(st, "POST", "/api/assignments/closed-hw/submit");
      assert.equal(direct.status, 409, direct.text);
      assert.equal(await refused.innerText(), json(direct).error.message);
      console.log("closed:", json(direct).error.message);
      await quiet(st);
      await shot(st, "assignments-closed");
      assert.equal(await st.getByRole("group", { name: /Submission/ }).count(), 0, "nothing was handed in");

      // Past due but within the allowance: taken, marked late, in the gradebook too.
      await st.getByRole("button", { name: "← All assignments" }).click();
      await st.getByRole("button", { name: "Open Late homework" }).click();
      await st.getByRole("heading", { name: "Late homework" }).waitFor();
      await st.getByRole("button", { name: "Submit", exact: true }).click();
      await st.locator(".submit-status").getByText(/Handed in as submission 1 \(late\)/).waitFor();
      const lateSub = st.getByRole("group", { name: "Submission 1" });
      await lateSub.locator(".badge", { hasText: "late" }).waitFor();
      await lateSub.locator(".grade-state", { hasText: /^(graded|could not be graded)$/ }).waitFor({ timeout: WAIT * 3 });
      console.log("late, no tests:", (await lateSub.innerText()).replace(/\s+/g, " "));
      await prof.getByRole("tab", { name: "Users" }).click();
      await prof.getByRole("tab", { name: "Gradebook" }).click();
      await book.getByRole("button", { name: /^carol, Late homework: .*, late$/ }).waitFor();
      await quiet(prof);
      await shot(prof, "gradebook");

      assert.deepEqual(st.errors, []);
      assert.deepEqual(prof.errors, []);
    } finally {
      await t.close();
    }
  }));
