// The teacher's views: running programs (live, with Stop), users (create,
// CSV import, reset password, deactivate), assignments and the gradebook
// (admin-assignments.ts), distributing a file or folder into every
// student's home, and the server's health.
import { ApiError, getJSON, request, sendJSON } from "./api";
import { clear, formatAge, formatBytes, h, toast } from "./dom";
import { ask, confirmDialog, info } from "./dialog";
import { AssignmentAdmin } from "./admin-assignments";
import { ExamAdmin } from "./admin-exams";

interface Proc {
  id: string;
  user: string;
  path: string;
  kind: string;
  state: string;
  age_seconds: number;
  idle_seconds: number;
  memory_bytes: number;
  cpu_seconds: number;
  owner_connected: boolean;
}

interface User {
  username: string;
  role: string;
  full_name: string;
  active: boolean;
  created_at: string;
  last_login_at: string | null;
}

const stateWords: Record<string, string> = {
  running: "running",
  waiting_input: "waiting for input",
  idle: "idle",
  starting: "starting",
};

export class AdminView {
  readonly el: HTMLElement;
  private sections: Record<string, HTMLElement> = {};
  private tabButtons: Record<string, HTMLButtonElement> = {};
  private timer = 0;
  private current = "processes";
  private homework: AssignmentAdmin;
  private exams = new ExamAdmin();

  constructor(private me: string) {
    this.homework = new AssignmentAdmin(me);
    this.homework.onOpenSubmission = (sid) => {
      this.homework.openSubmission(sid);
      this.showSection("assignments");
    };
    const nav = h("div", { class: "admin-nav", role: "tablist", "aria-label": "Class" });
    const body = h("div", { class: "admin-body" });
    const sections: [string, string][] = [["processes", "Running programs"], ["users", "Users"], ["assignments", "Assignments"], ["gradebook", "Gradebook"], ["exams", "Exams"], ["distribute", "Distribute"], ["health", "Health"]];
    for (const [key, label] of sections) {
      const btn = h("button", { type: "button", role: "tab", id: `admin-tab-${key}`, "aria-controls": `admin-${key}`, onclick: () => this.showSection(key) }, label);
      this.tabButtons[key] = btn;
      nav.append(btn);
      const sec = h("section", { id: `admin-${key}`, role: "tabpanel", "aria-labelledby": `admin-tab-${key}`, hidden: true });
      this.sections[key] = sec;
      body.append(sec);
    }
    this.el = h("div", { class: "admin", hidden: true }, nav, body);
  }

  show(): void {
    this.el.hidden = false;
    this.showSection(this.current);
  }

  hide(): void {
    this.el.hidden = true;
    clearInterval(this.timer);
    this.homework.stop();
    this.exams.stop();
  }

  private showSection(key: string): void {
    this.current = key;
    clearInterval(this.timer);
    this.homework.stop();
    this.exams.stop();
    for (const [k, sec] of Object.entries(this.sections)) {
      sec.hidden = k !== key;
      this.tabButtons[k].setAttribute("aria-selected", String(k === key));
    }
    const render: Record<string, () => Promise<void>> = {
      processes: () => this.processes(),
      users: () => this.users(),
      assignments: () => this.homework.render(this.sections.assignments),
      gradebook: () => this.homework.gradebook(this.sections.gradebook),
      exams: () => this.exams.render(this.sections.exams),
      distribute: () => this.distribute(),
      health: () => this.health(),
    };
    void render[key]();
    if (key === "processes" || key === "health") {
      this.timer = window.setInterval(() => void render[key](), 2000);
    }
  }

  private async processes(): Promise<void> {
    const sec = this.sections.processes;
    let procs: Proc[];
    try {
      procs = (await getJSON<{ processes: Proc[] }>("/api/admin/processes")).processes;
    } catch (e) {
      return this.fail(sec, e);
    }
    procs.sort((a, b) => a.user.localeCompare(b.user) || a.path.localeCompare(b.path));
    const totalMem = procs.reduce((s, p) => s + p.memory_bytes, 0);
    const table = h("table", { class: "grid", "aria-label": "Running programs" },
      h("thead", {}, h("tr", {}, ...["Student", "File", "Kind", "State", "Age", "Idle", "Memory", "CPU", ""].map((t) => h("th", { scope: "col" }, t)))),
    );
    const tbody = h("tbody");
    for (const p of procs) {
      tbody.append(h("tr", { "data-id": p.id },
        h("td", {}, p.user, p.owner_connected ? "" : h("span", { class: "badge", title: "The student's page is not connected" }, "away")),
        h("td", { class: "path" }, p.path || "(REPL)"),
        h("td", {}, p.kind),
        h("td", {}, stateWords[p.state] ?? p.state),
        h("td", { class: "num" }, formatAge(p.age_seconds)),
        h("td", { class: "num" }, formatAge(p.idle_seconds)),
        h("td", { class: "num" }, formatBytes(p.memory_bytes)),
        h("td", { class: "num" }, `${p.cpu_seconds.toFixed(1)} s`),
        h("td", {}, h("button", { type: "button", class: "danger", "aria-label": `Stop ${p.user}'s ${p.path || "REPL"}`, onclick: () => void this.stop(p) }, "Stop")),
      ));
    }
    if (procs.length === 0) tbody.append(h("tr", {}, h("td", { colspan: 9, class: "muted" }, "No programs are running.")));
    table.append(tbody);
    const hadFocus = sec.contains(document.activeElement) ? (document.activeElement as HTMLElement).getAttribute("aria-label") : null;
    clear(sec);
    sec.append(
      h("h2", {}, "Running programs"),
      h("p", { class: "muted" }, `${procs.length} running, ${formatBytes(totalMem)} of memory in all. Updates every 2 seconds.`),
      table,
    );
    if (hadFocus) sec.querySelector<HTMLElement>(`[aria-label="${CSS.escape(hadFocus)}"]`)?.focus();
  }

  private async stop(p: Proc): Promise<void> {
    try {
      await request(`/api/admin/processes/${encodeURIComponent(p.id)}`, { method: "DELETE" });
      toast(`Stopped ${p.user}'s ${p.path || "REPL"}.`);
    } catch (e) {
      toast(e instanceof Error ? e.message : String(e), "error");
    }
    await this.processes();
  }

  private async users(): Promise<void> {
    const sec = this.sections.users;
    let users: User[];
    try {
      users = (await getJSON<{ users: User[] }>("/api/admin/users")).users;
    } catch (e) {
      return this.fail(sec, e);
    }
    const form = this.createUserForm();
    const csv = h("input", { type: "file", accept: ".csv,text/csv", id: "csv-file" });
    const importBtn = h("button", { type: "button", onclick: () => void this.importCSV(csv) }, "Import");
    const table = h("table", { class: "grid", "aria-label": "Users" },
      h("thead", {}, h("tr", {}, ...["User", "Name", "Role", "Status", "Last login", ""].map((t) => h("th", { scope: "col" }, t)))));
    const tbody = h("tbody");
    for (const u of users) {
      const self = u.username === this.me;
      tbody.append(h("tr", { class: u.active ? "" : "inactive" },
        h("td", {}, u.username),
        h("td", {}, u.full_name),
        h("td", {}, u.role === "professor" ? "teacher" : "student"),
        h("td", {}, u.active ? "active" : "deactivated"),
        h("td", {}, u.last_login_at ? new Date(u.last_login_at).toLocaleString() : "never"),
        h("td", { class: "actions" },
          h("button", { type: "button", "aria-label": `Reset password of ${u.username}`, onclick: () => void this.resetPassword(u) }, "Reset password"),
          self ? null : h("button", { type: "button", class: u.active ? "danger" : "", "aria-label": `${u.active ? "Deactivate" : "Reactivate"} ${u.username}`, onclick: () => void this.setActive(u, !u.active) }, u.active ? "Deactivate" : "Reactivate"),
        ),
      ));
    }
    table.append(tbody);
    clear(sec);
    sec.append(
      h("h2", {}, "Users"),
      h("div", { class: "admin-forms" },
        form,
        h("div", { class: "card" },
          h("h3", {}, "Import a class list (CSV)"),
          h("p", { class: "muted" }, "A header row naming username, and optionally password, full_name, role. Empty passwords are generated and shown once. Existing users are left alone."),
          h("div", { class: "field" }, h("label", { for: "csv-file" }, "CSV file"), csv),
          importBtn),
      ),
      table,
    );
  }

  private createUserForm(): HTMLElement {
    const f = (id: string, label: string, input: HTMLElement) => h("div", { class: "field" }, h("label", { for: id }, label), input);
    const username = h("input", { id: "nu-username", required: true, autocomplete: "off", pattern: "[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}" });
    const fullName = h("input", { id: "nu-name", autocomplete: "off" });
    const password = h("input", { id: "nu-password", type: "text", autocomplete: "new-password", placeholder: "leave empty to generate" });
    const role = h("select", { id: "nu-role" }, h("option", { value: "student" }, "student"), h("option", { value: "professor" }, "teacher"));
    const form = h("form", { class: "card" },
      h("h3", {}, "Add a user"),
      f("nu-username", "Username", username), f("nu-name", "Full name", fullName), f("nu-password", "Password", password), f("nu-role", "Role", role),
      h("button", { type: "submit", class: "primary" }, "Add user"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const out = await sendJSON<{ username: string; password?: string }>("POST", "/api/admin/users", {
          username: username.value.trim(), full_name: fullName.value.trim(), password: password.value, role: role.value,
        });
        if (out?.password) await info("User added", h("p", {}, `Password for ${out.username}: `, h("code", {}, out.password), ". Write it down: it is shown only once."));
        else toast(`Added ${username.value}.`);
        await this.users();
      } catch (err) {
        toast(err instanceof Error ? err.message : String(err), "error");
      }
    });
    return form;
  }

  private async importCSV(input: HTMLInputElement): Promise<void> {
    const file = input.files?.[0];
    if (!file) return toast("Choose a CSV file first.", "error");
    try {
      const res = await request("/api/admin/users/import", { method: "POST", body: await file.text(), headers: { "Content-Type": "text/csv" } });
      const out = (await res.json()) as { created: number; skipped: number; failed: number; rows: { line: number; username: string; status: string; message: string; password?: string }[] };
      const table = h("table", { class: "grid" }, h("thead", {}, h("tr", {}, ...["Line", "User", "Result", "Password"].map((t) => h("th", { scope: "col" }, t)))));
      const tb = h("tbody");
      for (const r of out.rows) tb.append(h("tr", {}, h("td", {}, String(r.line)), h("td", {}, r.username), h("td", {}, r.message || r.status), h("td", {}, r.password ? h("code", {}, r.password) : "")));
      table.append(tb);
      await info("Import finished", h("div", {}, h("p", {}, `${out.created} created, ${out.skipped} skipped, ${out.failed} failed. Generated passwords are shown only now.`), table));
      await this.users();
    } catch (e) {
      toast(e instanceof Error ? e.message : String(e), "error");
    }
  }

  private async resetPassword(u: User): Promise<void> {
    const pw = await ask(`Reset password of ${u.username}`, "New password (at least 6 characters):", "", "Set password");
    if (!pw) return;
    try {
      await sendJSON("POST", `/api/admin/users/${encodeURIComponent(u.username)}/password`, { password: pw });
      toast(`New password set for ${u.username}; they must log in again.`);
    } catch (e) {
      toast(e instanceof Error ? e.message : String(e), "error");
    }
  }

  private async setActive(u: User, active: boolean): Promise<void> {
    if (!active || (await confirmDialog("Reactivate?", `Let ${u.username} log in again?`, "Reactivate"))) {
      if (!active && !(await confirmDialog("Deactivate?", `${u.username} will be logged out and cannot log in until reactivated. Their files stay.`, "Deactivate", true))) return;
      try {
        await sendJSON("PATCH", `/api/admin/users/${encodeURIComponent(u.username)}`, { active });
        await this.users();
      } catch (e) {
        toast(e instanceof Error ? e.message : String(e), "error");
      }
    }
  }

  private async distribute(): Promise<void> {
    const sec = this.sections.distribute;
    const source = h("input", { id: "dist-source", required: true, placeholder: "e.g. Lecture Notes/week1.py or Local/" + this.me + "/hw2" });
    const target = h("input", { id: "dist-target", placeholder: "empty: the top of each home", value: "" });
    const result = h("div", { role: "status", "aria-live": "polite" });
    const form = h("form", { class: "card" },
      h("h3", {}, "Give every student a copy"),
      h("p", { class: "muted" }, "Copies a file or folder into the home of every active student. A student who already has a file of that name keeps theirs (reported as skipped)."),
      h("div", { class: "field" }, h("label", { for: "dist-source" }, "File or folder to copy (workspace path)"), source),
      h("div", { class: "field" }, h("label", { for: "dist-target" }, "Folder inside each home"), target),
      h("button", { type: "submit", class: "primary" }, "Distribute"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const out = await sendJSON<Record<string, unknown>>("POST", "/api/admin/distribute", { source: source.value.trim(), target: target.value.trim(), users: "all" });
        clear(result);
        result.append(h("h3", {}, "Result"), this.renderValue(out));
      } catch (err) {
        toast(err instanceof Error ? err.message : String(err), "error");
      }
    });
    clear(sec);
    sec.append(h("h2", {}, "Distribute"), form, result);
  }

  /** health uses /health when it answers JSON, else /readyz. */
  private async health(): Promise<void> {
    const sec = this.sections.health;
    let body: unknown = null;
    let status = 0;
    let from = "/health";
    for (const path of ["/health", "/readyz"]) {
      try {
        const res = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
        status = res.status;
        if ((res.status === 200 || res.status === 503) && (res.headers.get("Content-Type") ?? "").includes("json")) {
          body = await res.json();
          from = path;
          break;
        }
      } catch {
        status = 0;
      }
    }
    let procs: Proc[] = [];
    try {
      procs = (await getJSON<{ processes: Proc[] }>("/api/admin/processes")).processes;
    } catch {
      /* shown as unknown */
    }
    clear(sec);
    const st = (body as { status?: string } | null)?.status ?? (status === 0 ? "unreachable" : `HTTP ${status}`);
    const good = st === "ok" || st === "ready";
    sec.append(
      h("h2", {}, "Health"),
      h("p", { class: `health-status ${good ? "ok" : st === "degraded" ? "warn" : "bad"}` }, `Server: ${st}`),
      h("p", { class: "muted" }, `${procs.length} programs running, ${new Set(procs.map((p) => p.user)).size} students with programs, ${formatBytes(procs.reduce((s, p) => s + p.memory_bytes, 0))} in use by programs. From ${from}, updates every 2 seconds.`),
      body ? this.renderValue(body) : h("p", {}, "No health information."),
    );
  }

  private renderValue(v: unknown): HTMLElement {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const dl = h("dl", { class: "kv" });
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        dl.append(h("dt", {}, k.replace(/_/g, " ")), h("dd", {}, typeof x === "object" && x !== null ? this.renderValue(x) : String(x)));
      }
      return dl;
    }
    if (Array.isArray(v)) {
      const ul = h("ul", { class: "kv-list" });
      for (const x of v) ul.append(h("li", {}, typeof x === "object" && x !== null ? this.renderValue(x) : String(x)));
      return ul;
    }
    return h("span", {}, String(v));
  }

  private fail(sec: HTMLElement, e: unknown): void {
    clear(sec);
    sec.append(h("p", { class: "error", role: "alert" }, e instanceof ApiError ? e.message : String(e)));
    clearInterval(this.timer);
  }
}

