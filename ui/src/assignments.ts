// Homework (docs/api.md, "Assignments"): the student's list of published
// assignments, one assignment's instructions, folder, Submit and the
// submissions with their grades and the teacher's comments; and the pieces
// the teacher's views share (types, dates, grades, per-test results).
//
// Only instructions_html, which the server renders from Markdown and
// sanitises, is ever inserted as HTML; everything else is text.
import { ApiError, getJSON, request } from "./api";
import { clear, h, toast } from "./dom";

export interface TestResult {
  test: string;
  status: string;
  message?: string;
  points?: number;
  max_points?: number;
  output?: string;
}

export interface Grade {
  state: string;
  score: number;
  max_score: number;
  passed: number;
  total: number;
  graded_at: string | null;
  results?: TestResult[] | null;
}

export interface Submission {
  id: string;
  assignment: string;
  username: string;
  seq: number;
  submitted_at: string;
  late: boolean;
  files: number;
  bytes: number;
  chosen: boolean;
  counts: boolean;
  comment: string;
  grade?: Grade | null;
  paths?: string[];
}

export interface Assignment {
  id: string;
  title: string;
  instructions: string;
  instructions_html: string;
  starter: string;
  due_at: string;
  due_local: string;
  time_zone: string;
  late_minutes: number;
  feedback: string;
  test_seconds: number;
  points?: Record<string, number> | null;
  published_at: string | null;
  created_by: string;
  created_at: string;
  tests?: { name: string; bytes: number }[] | null;
}

export interface StudentAssignment extends Assignment {
  folder: string;
  state: "open" | "late" | "closed";
  submissions: Submission[] | number | null;
  counted?: Submission | null;
}

const q = encodeURIComponent;

/** dueText is the due date as the teacher set it: the wall time in the assignment's zone. */
export function dueText(a: { due_local?: string; due_at: string; time_zone?: string }): string {
  const local = (a.due_local || a.due_at).replace("T", " ").replace(/(\d\d:\d\d):00$/, "$1");
  return `${local} (${a.time_zone || "UTC"})`;
}

/** relative says "in 3 days" or "2 hours ago" for an RFC 3339 time. */
export function relative(iso: string): string {
  const ms = new Date(iso).getTime() - Date.now();
  if (!isFinite(ms)) return "";
  const m = Math.round(Math.abs(ms) / 60000);
  const unit = m < 60 ? [m, "minute"] : m < 48 * 60 ? [Math.round(m / 60), "hour"] : [Math.round(m / 1440), "day"];
  const text = `${unit[0]} ${unit[1]}${unit[0] === 1 ? "" : "s"}`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function num(x: number | undefined | null): string {
  if (x === undefined || x === null || !isFinite(x)) return "–";
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

const gradeWords: Record<string, string> = {
  queued: "waiting to be graded",
  running: "being graded",
  done: "graded",
  error: "could not be graded",
  "": "not graded",
};

export function gradeState(g: Grade | null | undefined): string {
  return g ? (gradeWords[g.state] ?? g.state) : "not graded";
}

export function grading(g: Grade | null | undefined): boolean {
  return !!g && (g.state === "queued" || g.state === "running");
}

/** scoreText is "3/4" for a graded submission, else "". */
export function scoreText(g: Grade | null | undefined): string {
  if (!g || g.state !== "done") return "";
  return `${num(g.score)}/${num(g.max_score)}`;
}

export function passedText(g: Grade | null | undefined): string {
  if (!g || g.state !== "done" || !g.total) return "";
  return `${g.passed} of ${g.total} test${g.total === 1 ? "" : "s"} passed`;
}

const statusWords: Record<string, string> = { passed: "passed", failed: "failed", error: "error", timeout: "took too long" };

/** resultsTable shows each test's result; null when there are none to show. */
export function resultsTable(results: TestResult[] | null | undefined, label: string): HTMLElement | null {
  if (!results?.length) return null;
  const table = h("table", { class: "grid results", "aria-label": label },
    h("thead", {}, h("tr", {}, ...["Test", "Result", "Points", "Message"].map((t) => h("th", { scope: "col", class: t === "Points" ? "num" : null }, t)))));
  const tb = h("tbody");
  for (const r of results) {
    const msg = h("td", { class: "message" });
    if (r.message) msg.append(h("pre", {}, r.message));
    if (r.output) msg.append(h("details", {}, h("summary", {}, "What it printed"), h("pre", {}, r.output)));
    tb.append(h("tr", { class: `result ${r.status}` },
      h("td", { class: "path" }, r.test),
      h("td", { class: `status ${r.status}` }, statusWords[r.status] ?? r.status),
      h("td", { class: "num" }, r.max_points !== undefined ? `${num(r.points)}/${num(r.max_points)}` : ""),
      msg));
  }
  table.append(tb);
  return table;
}

export function errorText(e: unknown): string {
  return e instanceof ApiError ? e.message : e instanceof Error ? e.message : String(e);
}

const stateWords: Record<string, string> = { open: "open", late: "late (marked late)", closed: "closed" };

export interface AssignmentEvents {
  /** openFolder shows the assignment's folder in the file list. */
  openFolder(path: string): void;
  /** beforeSubmit saves the open files; false when something is not saved. */
  beforeSubmit(folder: string): Promise<boolean>;
}

/** AssignmentsView is the student's: the list, and one assignment at a time. */
export class AssignmentsView {
  readonly el: HTMLElement;
  private body: HTMLElement;
  private openId: string | null = null;
  private timer = 0;
  private generation = 0;

  constructor(private ev: AssignmentEvents) {
    this.body = h("div", { class: "assignments-body" });
    this.el = h("main", { class: "assignments", hidden: true, "aria-label": "Assignments" }, this.body);
  }

  show(): void {
    this.el.hidden = false;
    void (this.openId ? this.detail(this.openId) : this.list());
  }

  hide(): void {
    this.el.hidden = true;
    this.stopPolling();
  }

  private stopPolling(): void {
    clearTimeout(this.timer);
    this.generation++;
  }

  async list(): Promise<void> {
    this.stopPolling();
    this.openId = null;
    const gen = this.generation;
    let items: StudentAssignment[];
    try {
      items = (await getJSON<{ assignments: StudentAssignment[] | null }>("/api/assignments")).assignments ?? [];
    } catch (e) {
      return this.fail(e);
    }
    if (gen !== this.generation) return;
    const table = h("table", { class: "grid", "aria-label": "Assignments" },
      h("thead", {}, h("tr", {}, ...["Assignment", "Due", "State", "Handed in", "Score"].map((t) => h("th", { scope: "col" }, t)))));
    const tb = h("tbody");
    for (const a of items) {
      const n = typeof a.submissions === "number" ? a.submissions : (a.submissions?.length ?? 0);
      const g = a.counted?.grade;
      tb.append(h("tr", { "data-id": a.id },
        h("td", {}, h("button", { type: "button", class: "link", "aria-label": `Open ${a.title}`, onclick: () => void this.detail(a.id) }, a.title)),
        h("td", {}, dueText(a), h("span", { class: "muted" }, ` · ${relative(a.due_at)}`)),
        h("td", {}, h("span", { class: `state ${a.state}` }, stateWords[a.state] ?? a.state)),
        h("td", { class: "num" }, n === 0 ? "not yet" : `${n} time${n === 1 ? "" : "s"}`),
        h("td", {}, scoreText(g) || (g ? gradeState(g) : "")),
      ));
    }
    if (items.length === 0) tb.append(h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No assignments yet.")));
    table.append(tb);
    clear(this.body);
    this.body.append(h("h2", {}, "Assignments"), table);
  }

  async detail(id: string): Promise<void> {
    this.stopPolling();
    this.openId = id;
    const gen = this.generation;
    let a: StudentAssignment;
    try {
      a = await getJSON<StudentAssignment>(`/api/assignments/${q(id)}`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        toast("That assignment is not available.", "error");
        return this.list();
      }
      return this.fail(e);
    }
    if (gen !== this.generation) return;
    const subs = Array.isArray(a.submissions) ? a.submissions : [];
    const keep = this.body.querySelector<HTMLElement>(".submit-status");
    this.render(a, subs, keep?.dataset.id === id ? keep : null);
    if (subs.some((s) => grading(s.grade))) {
      this.timer = window.setTimeout(() => {
        if (gen === this.generation && !this.el.hidden) void this.detail(id);
      }, 2500);
    }
  }

  private render(a: StudentAssignment, subs: Submission[], status: HTMLElement | null): void {
    const instructions = h("div", { class: "instructions", "aria-label": "Instructions" });
    // Sanitised on the server (docs/api.md): the one place HTML from the API is used.
    instructions.innerHTML = a.instructions_html;
    const deadline = a.late_minutes > 0
      ? `Late submissions are taken for ${a.late_minutes} minutes after that, marked late.`
      : "No submissions are taken after that.";
    const statusEl = status ?? h("div", { class: "submit-status", role: "status", "aria-live": "polite", "data-id": a.id });
    const submit = h("button", { type: "button", class: "primary", onclick: () => void this.submit(a, submit, statusEl) }, "Submit");
    const list = h("div", { class: "submissions", role: "region", "aria-label": "My submissions" });
    if (subs.length === 0) list.append(h("p", { class: "muted" }, "Nothing handed in yet."));
    for (const s of subs) list.append(this.submissionCard(s, a.feedback));
    clear(this.body);
    this.body.append(
      h("p", {}, h("button", { type: "button", class: "link", onclick: () => void this.list() }, "← All assignments")),
      h("h2", {}, a.title),
      h("p", { class: "due" },
        h("strong", {}, "Due "), dueText(a), h("span", { class: "muted" }, ` · ${relative(a.due_at)}`), " · ",
        h("span", { class: `state ${a.state}` }, stateWords[a.state] ?? a.state)),
      h("p", { class: "muted" }, deadline, a.feedback === "summary" ? " You will see your score and how many tests passed." : " You will see the result of each test."),
      instructions,
      h("div", { class: "card hand-in" },
        h("h3", {}, "Hand in"),
        h("p", {}, "Your files are in the folder ",
          h("button", { type: "button", class: "link path", "aria-label": `Open folder ${a.folder}`, onclick: () => this.ev.openFolder(a.folder) }, a.folder),
          ". Submit hands in a copy of the folder as it is now; you can keep working and submit again."),
        h("div", { class: "hand-in-row" }, submit, statusEl)),
      h("h3", {}, "My submissions"),
      list,
    );
  }

  private submissionCard(s: Submission, feedback: string): HTMLElement {
    const g = s.grade;
    const head = h("p", { class: "sub-head" },
      h("strong", {}, `Submission ${s.seq}`), ` · ${when(s.submitted_at)}`,
      s.late ? h("span", { class: "badge late" }, "late") : null,
      s.counts ? h("span", { class: "badge", title: "This is the submission your grade is taken from" }, "counts") : null);
    const grade = h("p", { class: `grade ${g?.state ?? "none"}` },
      "Grade: ", h("span", { class: "grade-state" }, gradeState(g)),
      scoreText(g) ? h("span", { class: "score" }, ` · score ${scoreText(g)}`) : null,
      passedText(g) ? ` · ${passedText(g)}` : null);
    const card = h("div", { class: "card submission", "data-seq": String(s.seq), role: "group", "aria-label": `Submission ${s.seq}` }, head, grade);
    const results = feedback === "summary" && g?.state !== "error" ? null : resultsTable(g?.results, `Test results of submission ${s.seq}`);
    if (results) card.append(results);
    if (s.comment) card.append(h("div", { class: "comment" }, h("strong", {}, "Teacher's comment:"), h("p", {}, s.comment)));
    return card;
  }

  private async submit(a: StudentAssignment, btn: HTMLButtonElement, status: HTMLElement): Promise<void> {
    btn.disabled = true;
    clear(status);
    status.className = "submit-status";
    status.setAttribute("role", "status");
    try {
      if (!(await this.ev.beforeSubmit(a.folder))) {
        status.classList.add("error");
        status.textContent = "A file in this folder could not be saved, so nothing was handed in. Check the editor, then submit again.";
        return;
      }
      const res = await request(`/api/assignments/${q(a.id)}/submit`, { method: "POST" });
      const s = (await res.json()) as Submission;
      status.textContent = `Handed in as submission ${s.seq}${s.late ? " (late)" : ""} at ${new Date(s.submitted_at).toLocaleTimeString()}.`;
      toast(`Submitted ${a.title}.`);
      await this.detail(a.id);
    } catch (e) {
      status.classList.add("error");
      status.setAttribute("role", "alert");
      status.textContent = errorText(e);
    } finally {
      btn.disabled = false;
    }
  }

  private fail(e: unknown): void {
    clear(this.body);
    this.body.append(h("p", { class: "error", role: "alert" }, errorText(e)), h("button", { type: "button", onclick: () => void this.list() }, "Try again"));
  }
}
