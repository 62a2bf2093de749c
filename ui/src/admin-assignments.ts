// The teacher's homework views (docs/api.md, "Assignments"): the list of
// assignments, one assignment (details, tests, publish, regrade, the
// submissions), one submission (per-test results, the snapshot's files
// read-only, comment, "use this submission"), and the gradebook.
import { getJSON, request, sendJSON } from "./api";
import { clear, formatBytes, h, toast } from "./dom";
import { confirmDialog } from "./dialog";
import {
  dueText, errorText, gradeState, grading, num, passedText, relative, resultsTable, scoreText, when,
  type Assignment, type Grade, type Submission,
} from "./assignments";

interface AdminAssignment extends Assignment {
  submitted?: number;
}

interface DistributeReport {
  copied: number;
  skipped: number;
  failed: number;
  users?: { username: string; status: string; path: string; reason?: string }[] | null;
}

interface GradebookCell {
  submission: string;
  score: number;
  max_score: number;
  late: boolean;
  submitted_at: string;
  state: string;
}

interface Gradebook {
  assignments: { id: string; title: string; due_at: string; max_score: number }[] | null;
  students: { username: string; full_name: string; cells: Record<string, GradebookCell> | null }[] | null;
}

type View = { kind: "list" } | { kind: "assignment"; id: string | null } | { kind: "submission"; sid: string };

const q = encodeURIComponent;

const field = (id: string, label: string, input: HTMLElement, hint?: string) =>
  h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("span", { class: "muted hint", id: `${id}-hint` }, hint) : null);

/** browserZone is the IANA time zone this browser is in (the default for a new assignment). */
function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** inAWeek is a datetime-local value a week from now at 23:59. */
function inAWeek(): string {
  const d = new Date(Date.now() + 7 * 86400_000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T23:59`;
}

export class AssignmentAdmin {
  private view: View = { kind: "list" };
  private timer = 0;
  private generation = 0;
  private sec: HTMLElement | null = null;
  private titles = new Map<string, string>();

  constructor(private me: string) {}

  /** stop ends polling (the section was left). */
  stop(): void {
    clearTimeout(this.timer);
    this.generation++;
  }

  /** render shows the current view (the list at first) in sec. */
  async render(sec: HTMLElement): Promise<void> {
    this.sec = sec;
    this.stop();
    const v = this.view;
    if (v.kind === "assignment") return this.assignment(v.id);
    if (v.kind === "submission") return this.submission(v.sid);
    return this.list();
  }

  private go(v: View): Promise<void> {
    this.view = v;
    return this.sec ? this.render(this.sec) : Promise.resolve();
  }

  /** openSubmission is the gradebook's way in. */
  openSubmission(sid: string): void {
    this.view = { kind: "submission", sid };
  }

  private fail(e: unknown): void {
    if (!this.sec) return;
    clear(this.sec);
    this.sec.append(h("p", { class: "error", role: "alert" }, errorText(e)),
      h("button", { type: "button", onclick: () => void this.go({ kind: "list" }) }, "All assignments"));
  }

  private async list(): Promise<void> {
    const sec = this.sec!;
    const gen = this.generation;
    let items: AdminAssignment[];
    try {
      items = (await getJSON<{ assignments: AdminAssignment[] | null }>("/api/admin/assignments")).assignments ?? [];
    } catch (e) {
      return this.fail(e);
    }
    if (gen !== this.generation) return;
    for (const a of items) this.titles.set(a.id, a.title);
    const table = h("table", { class: "grid", "aria-label": "Assignments" },
      h("thead", {}, h("tr", {}, ...["Assignment", "Folder name", "Due", "Published", "Students who handed in"].map((t) => h("th", { scope: "col" }, t)))));
    const tb = h("tbody");
    for (const a of items) {
      tb.append(h("tr", { "data-id": a.id },
        h("td", {}, h("button", { type: "button", class: "link", "aria-label": `Open ${a.title}`, onclick: () => void this.go({ kind: "assignment", id: a.id }) }, a.title)),
        h("td", { class: "path" }, a.id),
        h("td", {}, dueText(a), h("span", { class: "muted" }, ` · ${relative(a.due_at)}`)),
        h("td", {}, a.published_at ? when(a.published_at) : h("span", { class: "badge" }, "not published")),
        h("td", { class: "num" }, String(a.submitted ?? 0)),
      ));
    }
    if (items.length === 0) tb.append(h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No assignments yet. Make one with New assignment.")));
    table.append(tb);
    clear(sec);
    sec.append(
      h("h2", {}, "Assignments"),
      h("p", {}, h("button", { type: "button", class: "primary", onclick: () => void this.go({ kind: "assignment", id: null }) }, "New assignment")),
      table,
    );
  }

  private async assignment(id: string | null): Promise<void> {
    const sec = this.sec!;
    const gen = this.generation;
    let a: AdminAssignment | null = null;
    if (id) {
      try {
        a = await getJSON<AdminAssignment>(`/api/admin/assignments/${q(id)}`);
      } catch (e) {
        return this.fail(e);
      }
      if (gen !== this.generation) return;
      this.titles.set(a.id, a.title);
    }
    const back = h("p", {}, h("button", { type: "button", class: "link", onclick: () => void this.go({ kind: "list" }) }, "← All assignments"));
    clear(sec);
    sec.append(back, h("h2", {}, a ? a.title : "New assignment"));
    const forms = h("div", { class: "admin-forms" }, this.detailsForm(a));
    sec.append(forms);
    if (!a) return;
    forms.append(this.testsCard(a), this.publishCard(a));
    const preview = h("div", { class: "instructions", "aria-label": "Instructions as students see them" });
    preview.innerHTML = a.instructions_html; // sanitised on the server
    sec.append(
      h("h3", {}, "Instructions as students see them"),
      a.instructions ? preview : h("p", { class: "muted" }, "No instructions."),
      h("h3", {}, "Submissions"),
    );
    const subs = h("div", { class: "submissions-table" });
    sec.append(subs);
    await this.submissions(a, subs, gen);
  }

  private detailsForm(a: AdminAssignment | null): HTMLElement {
    const id = h("input", { id: "as-id", required: true, autocomplete: "off", spellcheck: "false", pattern: "[a-z0-9][a-z0-9_\\-]{0,63}", value: a?.id ?? "", disabled: !!a, "aria-describedby": "as-id-hint" });
    const title = h("input", { id: "as-title", required: true, autocomplete: "off", value: a?.title ?? "" });
    const instructions = h("textarea", { id: "as-instructions", rows: 8, spellcheck: "true" });
    instructions.value = a?.instructions ?? "";
    const starter = h("input", { id: "as-starter", autocomplete: "off", spellcheck: "false", placeholder: `e.g. Local/${this.me}/loops`, value: a?.starter ?? "", "aria-describedby": "as-starter-hint" });
    const due = h("input", { id: "as-due", type: "datetime-local", required: true, value: (a?.due_local ?? inAWeek()).slice(0, 16) });
    const zone = h("input", { id: "as-zone", autocomplete: "off", spellcheck: "false", value: a?.time_zone || browserZone(), "aria-describedby": "as-zone-hint" });
    const late = h("input", { id: "as-late", type: "number", min: 0, max: 10080, step: 1, value: String(a?.late_minutes ?? 0) });
    const feedback = h("select", { id: "as-feedback" },
      h("option", { value: "all", selected: (a?.feedback ?? "all") === "all" }, "every test's result and message"),
      h("option", { value: "summary", selected: a?.feedback === "summary" }, "only the score and how many tests passed"));
    const seconds = h("input", { id: "as-seconds", type: "number", min: 1, max: 120, step: 1, value: String(a?.test_seconds ?? 10) });
    const form = h("form", { class: "card assignment-form", "aria-label": "Assignment details" },
      h("h3", {}, "Details"),
      field("as-id", "ID (the folder name)", id, a ? "Fixed once created." : "Lower-case letters, digits, - and _; each student gets the folder Local/<name>/<ID>."),
      field("as-title", "Title", title),
      field("as-instructions", "Instructions (Markdown)", instructions),
      field("as-starter", "Starter folder", starter, "A workspace folder whose files each student gets on publish. Empty for none."),
      h("div", { class: "field-row" },
        field("as-due", "Due date", due),
        field("as-zone", "Time zone", zone, "An IANA name, e.g. Europe/Berlin.")),
      h("div", { class: "field-row" },
        field("as-late", "Late submissions taken for (minutes)", late),
        field("as-seconds", "Time limit per test (seconds)", seconds)),
      field("as-feedback", "Students see", feedback),
      h("button", { type: "submit", class: "primary" }, a ? "Save changes" : "Create assignment"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body: Record<string, unknown> = {
        title: title.value.trim(),
        instructions: instructions.value,
        starter: starter.value.trim().replace(/^\/+|\/+$/g, ""),
        due_at: due.value,
        time_zone: zone.value.trim() || "UTC",
        late_minutes: Number(late.value) || 0,
        feedback: feedback.value,
        test_seconds: Number(seconds.value) || 10,
      };
      try {
        if (a) {
          await sendJSON("PATCH", `/api/admin/assignments/${q(a.id)}`, body);
          toast(`Saved ${body.title}.`);
          await this.go({ kind: "assignment", id: a.id });
        } else {
          body.id = id.value.trim();
          const made = await sendJSON<AdminAssignment>("POST", "/api/admin/assignments", body);
          toast(`Created ${body.title}. Add tests, then publish it.`);
          await this.go({ kind: "assignment", id: made?.id ?? String(body.id) });
        }
      } catch (err) {
        toast(errorText(err), "error");
      }
    });
    return form;
  }

  private testsCard(a: AdminAssignment): HTMLElement {
    const name = h("input", { id: "as-test-name", autocomplete: "off", spellcheck: "false", placeholder: "test_solution.py", "aria-describedby": "as-test-name-hint" });
    const content = h("textarea", { id: "as-test-content", rows: 12, spellcheck: "false", class: "code" });
    const table = h("table", { class: "grid", "aria-label": "Tests" },
      h("thead", {}, h("tr", {}, ...["Test file", "Size", ""].map((t) => h("th", { scope: "col" }, t)))));
    const tb = h("tbody");
    const tests = a.tests ?? [];
    for (const t of tests) {
      tb.append(h("tr", {},
        h("td", { class: "path" }, t.name),
        h("td", { class: "num" }, formatBytes(t.bytes)),
        h("td", { class: "actions" },
          h("button", { type: "button", "aria-label": `Edit ${t.name}`, onclick: () => void this.loadTest(a, t.name, name, content) }, "Edit"),
          h("button", { type: "button", class: "danger", "aria-label": `Delete ${t.name}`, onclick: () => void this.deleteTest(a, t.name) }, "Delete"))));
    }
    if (tests.length === 0) tb.append(h("tr", {}, h("td", { colspan: 3, class: "muted" }, "No tests yet: every submission would score 0 of 0.")));
    table.append(tb);
    const form = h("form", { "aria-label": "Add or replace a test file" },
      field("as-test-name", "Test file name", name, "test_*.py or *_test.py; the same name replaces that file."),
      field("as-test-content", "Test code", content),
      h("button", { type: "submit", class: "primary" }, "Save test"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const n = name.value.trim();
      if (!n) return toast("Give the test file a name, e.g. test_solution.py.", "error");
      try {
        await sendJSON("PUT", `/api/admin/assignments/${q(a.id)}/tests/${q(n)}`, { content: content.value });
        toast(`Saved ${n}.${a.published_at ? " Regrade to apply it to earlier submissions." : ""}`);
        await this.go({ kind: "assignment", id: a.id });
      } catch (err) {
        toast(errorText(err), "error");
      }
    });
    return h("div", { class: "card tests-card" },
      h("h3", {}, "Tests"),
      h("p", { class: "muted" }, "unittest or pytest-style tests, run against each submission's folder. Students never see these files."),
      table, form);
  }

  private async loadTest(a: AdminAssignment, n: string, name: HTMLInputElement, content: HTMLTextAreaElement): Promise<void> {
    try {
      const t = await getJSON<{ name: string; content: string }>(`/api/admin/assignments/${q(a.id)}/tests/${q(n)}`);
      name.value = t.name;
      content.value = t.content;
      content.focus();
    } catch (e) {
      toast(errorText(e), "error");
    }
  }

  private async deleteTest(a: AdminAssignment, n: string): Promise<void> {
    if (!(await confirmDialog("Delete the test?", `This deletes ${n} from ${a.title}. Grades stay as they are until you regrade.`, "Delete", true))) return;
    try {
      await request(`/api/admin/assignments/${q(a.id)}/tests/${q(n)}`, { method: "DELETE" });
      toast(`Deleted ${n}.`);
      await this.go({ kind: "assignment", id: a.id });
    } catch (e) {
      toast(errorText(e), "error");
    }
  }

  private publishCard(a: AdminAssignment): HTMLElement {
    const report = h("div", { class: "publish-report", role: "status", "aria-live": "polite" });
    const publish = h("button", { type: "button", class: "primary" }, a.published_at ? "Publish again" : "Publish");
    publish.addEventListener("click", async () => {
      publish.disabled = true;
      try {
        const out = await sendJSON<{ assignment: AdminAssignment; distribute?: DistributeReport | null }>("POST", `/api/admin/assignments/${q(a.id)}/publish`, { users: "all" });
        clear(report);
        report.append(h("p", {}, h("strong", {}, "Published. "), this.reportText(out?.distribute)));
        const d = out?.distribute;
        const odd = (d?.users ?? []).filter((u) => u.status !== "copied");
        if (odd.length) {
          const ul = h("ul", { class: "kv-list" });
          for (const u of odd) ul.append(h("li", {}, `${u.username}: ${u.status}${u.reason ? ` — ${u.reason}` : ""}`));
          report.append(ul);
        }
        state.textContent = `Published ${when(out?.assignment?.published_at ?? new Date().toISOString())}.`;
        publish.textContent = "Publish again";
      } catch (e) {
        toast(errorText(e), "error");
      } finally {
        publish.disabled = false;
      }
    });
    const regrade = h("button", { type: "button" }, "Regrade all");
    regrade.addEventListener("click", async () => {
      try {
        const out = await sendJSON<{ queued: number }>("POST", `/api/admin/assignments/${q(a.id)}/regrade`, {});
        toast(`${out?.queued ?? 0} submission${out?.queued === 1 ? "" : "s"} queued for grading with the current tests.`);
        await this.go({ kind: "assignment", id: a.id });
      } catch (e) {
        toast(errorText(e), "error");
      }
    });
    const del = h("button", { type: "button", class: "danger" }, "Delete assignment");
    del.addEventListener("click", async () => {
      if (!(await confirmDialog("Delete the assignment?", `This deletes ${a.title} and its tests. Files in students' folders stay. An assignment with submissions cannot be deleted.`, "Delete", true))) return;
      try {
        await request(`/api/admin/assignments/${q(a.id)}`, { method: "DELETE" });
        toast(`Deleted ${a.title}.`);
        await this.go({ kind: "list" });
      } catch (e) {
        toast(errorText(e), "error");
      }
    });
    const state = h("p", {}, a.published_at ? `Published ${when(a.published_at)}.` : "Not published: students do not see it yet.");
    return h("div", { class: "card publish-card" },
      h("h3", {}, "Publish"),
      state,
      h("p", { class: "muted" }, "Publishing shows the assignment to every active student and copies the starter files into ", h("code", {}, `Local/<student>/${a.id}/`), ", never over files already there. Publishing again reaches students added since."),
      h("div", { class: "button-row" }, publish, regrade, del),
      report);
  }

  private reportText(d: DistributeReport | null | undefined): string {
    if (!d) return "No starter files to copy.";
    return `Starter files copied to ${d.copied} student${d.copied === 1 ? "" : "s"}, ${d.skipped} skipped, ${d.failed} failed.`;
  }

  private async submissions(a: AdminAssignment, box: HTMLElement, gen: number): Promise<void> {
    let subs: Submission[];
    try {
      subs = (await getJSON<{ submissions: Submission[] | null }>(`/api/admin/assignments/${q(a.id)}/submissions`)).submissions ?? [];
    } catch (e) {
      clear(box);
      box.append(h("p", { class: "error", role: "alert" }, errorText(e)));
      return;
    }
    if (gen !== this.generation) return;
    subs.sort((x, y) => x.username.localeCompare(y.username) || y.seq - x.seq);
    const table = h("table", { class: "grid", "aria-label": "Submissions" },
      h("thead", {}, h("tr", {}, ...["Student", "#", "Submitted", "Late", "Grade", "Score", "Counts", ""].map((t) => h("th", { scope: "col" }, t)))));
    const tb = h("tbody");
    for (const s of subs) {
      tb.append(h("tr", { "data-id": s.id, class: s.counts ? "counts" : "" },
        h("td", {}, s.username),
        h("td", { class: "num" }, String(s.seq)),
        h("td", {}, when(s.submitted_at)),
        h("td", {}, s.late ? h("span", { class: "badge late" }, "late") : ""),
        h("td", {}, gradeState(s.grade)),
        h("td", { class: "num" }, scoreText(s.grade)),
        h("td", {}, s.counts ? (s.chosen ? "counts (chosen)" : "counts") : ""),
        h("td", {}, h("button", { type: "button", "aria-label": `Open ${s.username}'s submission ${s.seq}`, onclick: () => void this.go({ kind: "submission", sid: s.id }) }, "Open")),
      ));
    }
    if (subs.length === 0) tb.append(h("tr", {}, h("td", { colspan: 8, class: "muted" }, "Nothing handed in yet.")));
    table.append(tb);
    clear(box);
    box.append(h("p", { class: "muted" }, `${subs.length} submission${subs.length === 1 ? "" : "s"} from ${new Set(subs.map((s) => s.username)).size} student${new Set(subs.map((s) => s.username)).size === 1 ? "" : "s"}.`), table);
    if (subs.some((s) => grading(s.grade))) {
      this.timer = window.setTimeout(() => {
        if (gen === this.generation && this.sec && !this.sec.hidden) void this.submissions(a, box, gen);
      }, 2500);
    }
  }

  private async submission(sid: string): Promise<void> {
    const sec = this.sec!;
    const gen = this.generation;
    let s: Submission;
    try {
      s = await getJSON<Submission>(`/api/admin/submissions/${q(sid)}`);
    } catch (e) {
      return this.fail(e);
    }
    if (gen !== this.generation) return;
    const title = this.titles.get(s.assignment) ?? s.assignment;
    const g = s.grade;
    const viewer = h("div", { class: "file-viewer", role: "region", "aria-label": "File of the submission" },
      h("p", { class: "muted" }, "Choose a file to see it."));
    const files = h("ul", { class: "snapshot-files", "aria-label": "Files of the submission" });
    for (const p of s.paths ?? []) {
      files.append(h("li", {}, h("button", { type: "button", class: "link path", "aria-label": `View ${p}`, onclick: () => void this.showFile(s, p, viewer) }, p)));
    }
    if (!(s.paths ?? []).length) files.append(h("li", { class: "muted" }, "No files."));
    const comment = h("textarea", { id: "sub-comment", rows: 4, maxlength: 10000 });
    comment.value = s.comment ?? "";
    const saveComment = h("button", { type: "button", class: "primary" }, "Save comment");
    saveComment.addEventListener("click", async () => {
      try {
        await sendJSON("POST", `/api/admin/submissions/${q(s.id)}/comment`, { comment: comment.value });
        toast(`Comment saved; ${s.username} sees it with the submission.`);
      } catch (e) {
        toast(errorText(e), "error");
      }
    });
    const choose = h("button", { type: "button", disabled: s.chosen }, s.chosen ? "This submission was chosen" : "Use this submission");
    choose.addEventListener("click", async () => {
      try {
        await sendJSON("POST", `/api/admin/submissions/${q(s.id)}/choose`, {});
        toast(`Submission ${s.seq} now counts for ${s.username}.`);
        await this.go({ kind: "submission", sid: s.id });
      } catch (e) {
        toast(errorText(e), "error");
      }
    });
    clear(sec);
    sec.append(
      h("p", {}, h("button", { type: "button", class: "link", onclick: () => void this.go({ kind: "assignment", id: s.assignment }) }, `← Back to ${title}`)),
      h("h2", {}, `${s.username}: submission ${s.seq} of ${title}`),
      h("dl", { class: "kv" },
        h("dt", {}, "Submitted"), h("dd", {}, when(s.submitted_at), s.late ? h("span", { class: "badge late" }, "late") : null),
        h("dt", {}, "Files"), h("dd", {}, `${s.files} (${formatBytes(s.bytes)})`),
        h("dt", {}, "Grade"), h("dd", { class: "grade-state" }, gradeState(g), scoreText(g) ? ` · score ${scoreText(g)}` : "", passedText(g) ? ` · ${passedText(g)}` : ""),
        h("dt", {}, "Counts"), h("dd", {}, s.counts ? (s.chosen ? "yes, chosen by a teacher" : "yes, the last one") : "no")),
      h("div", { class: "button-row" }, choose),
      resultsTable(g?.results, "Test results") ?? h("p", { class: "muted" }, grading(g) ? "Being graded…" : "No test results."),
      h("div", { class: "snapshot" }, h("div", {}, h("h3", {}, "Files handed in"), files), viewer),
      h("div", { class: "card comment-card" },
        h("div", { class: "field" }, h("label", { for: "sub-comment" }, "Comment for the student"), comment),
        saveComment),
    );
    // While it is being graded, look again, unless a comment is being written.
    const poll = () => {
      if (gen !== this.generation) return;
      if (!sec.hidden && comment.value === (s.comment ?? "") && document.activeElement !== comment) void this.submission(sid);
      else this.timer = window.setTimeout(poll, 2500);
    };
    if (grading(g)) this.timer = window.setTimeout(poll, 2500);
  }

  private async showFile(s: Submission, p: string, viewer: HTMLElement): Promise<void> {
    try {
      const f = await getJSON<{ path: string; content: string }>(`/api/admin/submissions/${q(s.id)}/file?path=${q(p)}`);
      clear(viewer);
      viewer.append(h("h3", {}, f.path, h("span", { class: "badge" }, "read-only")),
        h("pre", { class: "file-content", tabindex: "0", "aria-label": `Content of ${f.path}` }, f.content));
    } catch (e) {
      toast(errorText(e), "error");
    }
  }

  async gradebook(sec: HTMLElement): Promise<void> {
    this.sec = null;
    this.stop();
    let gb: Gradebook;
    try {
      gb = await getJSON<Gradebook>("/api/admin/gradebook");
    } catch (e) {
      clear(sec);
      sec.append(h("p", { class: "error", role: "alert" }, errorText(e)));
      return;
    }
    const as = gb.assignments ?? [];
    for (const a of as) this.titles.set(a.id, a.title);
    const table = h("table", { class: "grid gradebook", "aria-label": "Gradebook" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Student"),
        ...as.map((a) => h("th", { scope: "col", title: `Due ${when(a.due_at)}` }, a.title, a.max_score > 0 ? h("span", { class: "muted" }, ` (max ${num(a.max_score)})`) : null)))));
    const tb = h("tbody");
    for (const st of gb.students ?? []) {
      const row = h("tr", {}, h("th", { scope: "row" }, st.username, st.full_name ? h("span", { class: "muted" }, ` ${st.full_name}`) : null));
      for (const a of as) {
        const c = st.cells?.[a.id];
        if (!c) {
          row.append(h("td", { class: "muted" }, "–"));
          continue;
        }
        const text = c.state === "done" ? `${num(c.score)}/${num(c.max_score)}` : gradeState({ state: c.state } as Grade);
        row.append(h("td", {},
          h("button", { type: "button", class: "link", "aria-label": `${st.username}, ${a.title}: ${text}${c.late ? ", late" : ""}`, title: `Handed in ${when(c.submitted_at)}`, onclick: () => this.onOpenSubmission(c.submission) }, text),
          c.late ? h("span", { class: "badge late" }, "late") : null));
      }
      tb.append(row);
    }
    if (!(gb.students ?? []).length) tb.append(h("tr", {}, h("td", { colspan: as.length + 1, class: "muted" }, "No students.")));
    table.append(tb);
    clear(sec);
    sec.append(
      h("h2", {}, "Gradebook"),
      h("p", {}, "The submission that counts for each student and published assignment: the one a teacher chose, else the last. ",
        h("a", { href: "/api/admin/gradebook.csv", download: "gradebook.csv", class: "button" }, "Download CSV")),
      as.length ? table : h("p", { class: "muted" }, "No published assignments yet."),
    );
  }

  /** onOpenSubmission is set by the class view to switch to the Assignments tab. */
  onOpenSubmission: (sid: string) => void = () => {};
}
