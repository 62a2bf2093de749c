// A student's exam (GET /api/exam): while one runs the IDE shows only its
// folder (and the course notes, when the teacher opened them), a countdown
// in the header, and at the end says that the folder was handed in.
import { ApiError, getJSON } from "./api";
import { h } from "./dom";
import { info } from "./dialog";

export interface MyExam {
  id: string;
  title: string;
  starts_at: string;
  ends_at: string;
  remaining_seconds: number;
  folder: string;
  course_notes: boolean;
  courses: string[];
}

/** currentExam is the exam the student sits now, null when none, or
 * undefined when the server could not say (the IDE works without the
 * banner: the server enforces the exam anyway). */
export async function currentExam(): Promise<MyExam | null | undefined> {
  try {
    const { exam } = await getJSON<{ exam: MyExam | null }>("/api/exam");
    return exam && exam.id ? exam : null;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    return undefined;
  }
}

/** inExam says whether path is open during x. */
export function inExam(x: MyExam, path: string): boolean {
  return [x.folder, ...x.courses].some((p) => path === p || path.startsWith(p + "/"));
}

/** examBanner is the header's countdown; at zero it tells the student and
 * reloads into the normal IDE (the folder is read-only then). */
export function examBanner(x: MyExam, beforeEnd: () => Promise<void>): HTMLElement {
  const el = h("span", { class: "exam-banner", role: "timer", "aria-live": "off" });
  let ends = Date.now() + x.remaining_seconds * 1000;
  let done = false;
  let checks = 0;
  const tick = () => {
    // Every 10 s ask again: the teacher may end it early (or extend it).
    if (++checks % 10 === 0) {
      void currentExam().then((now) => {
        if (now === undefined) return; // unknown: keep counting
        if (!now || now.id !== x.id) ends = Date.now();
        else ends = Date.now() + now.remaining_seconds * 1000;
      });
    }
    const left = Math.max(0, Math.round((ends - Date.now()) / 1000));
    el.textContent = `Exam: ${x.title} · ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} left`;
    el.classList.toggle("ending", left <= 300);
    if (left === 0 && !done) {
      done = true;
      clearInterval(timer);
      void beforeEnd().then(() => info("Time is up", h("p", {}, "Your exam folder was handed in as it was at the end. It can be read, but not changed any more.")))
        .then(() => location.reload());
    }
  };
  const timer = window.setInterval(tick, 1000);
  tick();
  return el;
}
