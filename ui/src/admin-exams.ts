// The teacher's exams: start one (a new assignment sat in a time window by
// some students or the whole class, course notes allowed or not), the list,
// and one exam's live view — who is connected, last save, last run, the
// log — with End now. Routes: /api/admin/exams… (docs/api.md, "Exams").
import { ApiError, getJSON, sendJSON } from "./api";
import { clear, h, toast } from "./dom";
import { confirmDialog } from "./dialog";

interface Live {
  username: string;
  full_name: string;
  connected: boolean;
  last_login: string | null;
  last_save: string | null;
  last_run: string | null;
  saves: number;
  runs: number;
  denied: number;
  submitted: boolean;
  final: string;
}

interface Exam {
  id: string;
  title: string;
  starts_at: string;
  ends_at: string;
  minutes: number;
  course_notes: boolean;
  state: string;
  students: string[];
  live?: Live[];
}

interface Event {
  id: number;
  username: string;
  at: string;
  kind: string;
  detail: string;
}

const time = (t: string | null) => (t ? new Date(t).toLocaleTimeString() : "–");
const message = (e: unknown) => (e instanceof ApiError ? e.message : String(e));

export class ExamAdmin {
  private timer = 0;
  private open: string | null = null;

  stop(): void {
    clearInterval(this.timer);
  }

  async render(sec: HTMLElement): Promise<void> {
    this.stop();
    if (this.open) return this.detail(sec, this.open);
    let exams: Exam[] = [];
    try {
      exams = (await getJSON<{ exams: Exam[] }>("/api/admin/exams")).exams;
    } catch (e) {
      clear(sec);
      sec.append(h("p", { class: "search-error", role: "alert" }, message(e)));
      return;
    }
    clear(sec);
    sec.append(h("h2", {}, "Exams"), this.form(sec));
    const list = h("table", { class: "grid", "aria-label": "Exams" },
      h("thead", {}, h("tr", {}, ...["Exam", "State", "From", "Until", "Students", ""].map((t) => h("th", { scope: "col" }, t)))));
    const body = h("tbody");
    for (const x of exams) {
      body.append(h("tr", {},
        h("td", {}, x.title, h("span", { class: "muted" }, ` (${x.id})`)),
        h("td", {}, x.state),
        h("td", {}, new Date(x.starts_at).toLocaleString()),
        h("td", {}, new Date(x.ends_at).toLocaleString()),
        h("td", { class: "num" }, String(x.students.length)),
        h("td", {}, h("button", { type: "button", onclick: () => { this.open = x.id; void this.render(sec); } }, "Live view"))));
    }
    list.append(body);
    if (exams.length) sec.append(list);
    else sec.append(h("p", { class: "muted" }, "No exams yet."));
  }

  private form(sec: HTMLElement): HTMLElement {
    const field = (id: string, label: string, input: HTMLElement) => h("div", { class: "field" }, h("label", { for: id }, label), input);
    const id = h("input", { id: "exam-id", required: true, pattern: "[a-z0-9][a-z0-9_\\-]{0,63}", placeholder: "quiz1" });
    const title = h("input", { id: "exam-title", required: true, placeholder: "Quiz 1" });
    const minutes = h("input", { id: "exam-minutes", type: "number", min: 1, max: 600, value: "45", required: true });
    const starter = h("input", { id: "exam-starter", placeholder: "optional: a folder of yours, e.g. Local/teacher/quiz1" });
    const users = h("input", { id: "exam-users", placeholder: "all (or: alice, bob)" });
    const notes = h("input", { id: "exam-notes", type: "checkbox" });
    const form = h("form", { class: "exam-form", "aria-label": "Start an exam" },
      h("h3", {}, "Start an exam now"),
      field("exam-id", "ID (the folder's name)", id), field("exam-title", "Title", title),
      field("exam-minutes", "Minutes", minutes), field("exam-starter", "Starter folder", starter),
      field("exam-users", "Students", users),
      h("div", { class: "field check" }, notes, h("label", { for: "exam-notes" }, "Course notes open (read-only) during the exam")),
      h("button", { type: "submit", class: "primary" }, "Start exam"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const who = users.value.trim();
      const body: Record<string, unknown> = {
        id: id.value.trim(), title: title.value.trim(), minutes: Number(minutes.value), course_notes: notes.checked,
        due_at: new Date(Date.now() + Number(minutes.value) * 60_000).toISOString(),
        users: !who || who === "all" ? "all" : who.split(/[\s,]+/).filter(Boolean),
      };
      if (starter.value.trim()) body.starter = starter.value.trim();
      try {
        const r = await sendJSON<{ exam: Exam }>("POST", "/api/admin/exams", body);
        toast(`The exam “${r?.exam?.title ?? body.title}” has started.`);
        this.open = r?.exam?.id ?? (body.id as string);
        void this.render(sec);
      } catch (err) {
        toast(message(err), "error");
      }
    });
    return form;
  }

  private async detail(sec: HTMLElement, id: string): Promise<void> {
    const draw = async () => {
      let x: Exam;
      let events: Event[] = [];
      try {
        x = await getJSON<Exam>(`/api/admin/exams/${encodeURIComponent(id)}`);
        events = (await getJSON<{ events: Event[] }>(`/api/admin/exams/${encodeURIComponent(id)}/events?limit=5000`)).events;
      } catch (e) {
        clear(sec);
        sec.append(h("p", { class: "search-error", role: "alert" }, message(e)));
        return;
      }
      const left = Math.max(0, Math.round((new Date(x.ends_at).getTime() - Date.now()) / 1000));
      clear(sec);
      sec.append(
        h("p", {}, h("button", { type: "button", class: "link", onclick: () => { this.open = null; void this.render(sec); } }, "← All exams")),
        h("h2", {}, `${x.title} `, h("span", { class: "badge" }, x.state)),
        h("p", { class: "muted" }, x.state === "open" ? `${Math.floor(left / 60)} min ${left % 60} s left · until ${new Date(x.ends_at).toLocaleTimeString()}` : `until ${new Date(x.ends_at).toLocaleString()}`,
          x.course_notes ? " · course notes open" : " · course notes closed"));
      if (x.state === "open" || x.state === "scheduled") {
        sec.append(h("p", {}, h("button", { type: "button", class: "danger", onclick: async () => {
          if (!(await confirmDialog("End the exam now?", "Every student's exam folder is handed in as it is now and becomes read-only.", "End now", true))) return;
          try {
            await sendJSON("POST", `/api/admin/exams/${encodeURIComponent(id)}/end`, {});
            toast("The exam has ended; the folders are being handed in.");
          } catch (e) {
            toast(message(e), "error");
          }
          void draw();
        } }, "End now")));
      }
      const table = h("table", { class: "grid", "aria-label": "Live view" },
        h("thead", {}, h("tr", {}, ...["Student", "Connected", "Last login", "Last save", "Last run", "Saves", "Runs", "Refused", "Handed in"].map((t) => h("th", { scope: "col" }, t)))));
      const tb = h("tbody");
      for (const l of x.live ?? []) {
        tb.append(h("tr", { "data-user": l.username },
          h("td", {}, l.full_name || l.username),
          h("td", {}, l.connected ? "● yes" : "○ no"),
          h("td", {}, time(l.last_login)), h("td", {}, time(l.last_save)), h("td", {}, time(l.last_run)),
          h("td", { class: "num" }, String(l.saves)), h("td", { class: "num" }, String(l.runs)), h("td", { class: "num" }, String(l.denied)),
          h("td", {}, l.final ? "final ✓" : l.submitted ? "yes" : "–")));
      }
      table.append(tb);
      sec.append(table, h("h3", {}, "Log"));
      const log = h("ol", { class: "exam-log", "aria-label": "Exam log" });
      for (const ev of events.slice(-200).reverse()) {
        log.append(h("li", {}, h("span", { class: "muted" }, time(ev.at) + " "), h("strong", {}, ev.username), ` ${ev.kind}`, ev.detail ? ` ${ev.detail}` : ""));
      }
      sec.append(log);
    };
    await draw();
    this.timer = window.setInterval(() => void draw(), 3000);
  }
}
