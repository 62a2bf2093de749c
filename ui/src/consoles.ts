// The console side: one tab per file run (running it again reuses its tab)
// and per empty REPL, with Run (F5), Stop (Shift+F5) and New REPL.
import { RunConsole, type OpenAt } from "./console";
import { baseName, h, newId, toast } from "./dom";
import type { ServerMsg, Socket } from "./socket";
import type { ConsoleState } from "./state";

export class Consoles {
  readonly el: HTMLElement;
  private tabBar: HTMLElement;
  private panes: HTMLElement;
  private list: RunConsole[] = [];
  private active: RunConsole | null = null;
  private replCount = 0;
  readonly stopBtn: HTMLButtonElement;
  private empty: HTMLElement;

  constructor(private sock: Socket, private openAt: OpenAt) {
    this.tabBar = h("div", { class: "tabs", role: "tablist", "aria-label": "Consoles" });
    this.stopBtn = h("button", { type: "button", class: "danger", title: "Stop the program (Shift+F5)", disabled: true, onclick: () => this.stopActive() }, "■ Stop");
    const replBtn = h("button", { type: "button", title: "Open a Python REPL in your folder", onclick: () => this.repl() }, "New REPL");
    const clearBtn = h("button", { type: "button", title: "Close this console (stops its program)", onclick: () => this.closeActive() }, "Close");
    this.empty = h("div", { class: "console-empty muted" }, "Output appears here when you run a program (F5). ", "Use New REPL to try Python line by line.");
    this.panes = h("div", { class: "console-panes" }, this.empty);
    this.el = h("section", { class: "consoles", "aria-label": "Console" },
      h("div", { class: "bar" }, this.tabBar, h("div", { class: "bar-actions" }, this.stopBtn, replBtn, clearBtn)),
      this.panes);
  }

  private add(key: string, title: string): RunConsole {
    const c = new RunConsole(key, title, this.sock, this.openAt);
    c.sourceOf = (p) => this.sourceOf(p);
    c.onChange = () => this.refresh();
    c.tabEl.addEventListener("click", () => this.show(c));
    this.list.push(c);
    this.tabBar.append(c.tabEl);
    this.panes.append(c.el);
    return c;
  }

  show(c: RunConsole): void {
    this.active = c;
    this.empty.hidden = true;
    for (const x of this.list) {
      x.el.hidden = x !== c;
      x.tabEl.setAttribute("aria-selected", String(x === c));
      x.tabEl.tabIndex = x === c ? 0 : -1;
    }
    this.refresh();
  }

  /** sourceOf gives the text the editor holds of a file (set by the app). */
  sourceOf: (path: string) => string = () => "";

  /** onChange is told when a console's program starts or ends. */
  onChange: () => void = () => {};

  private refresh(): void {
    const live = !!this.active && this.active.live();
    this.stopBtn.disabled = !live;
    this.stopBtn.title = live ? `Stop ${this.active!.title} (Shift+F5)` : "Nothing is running here";
    this.onChange();
  }

  /** run starts path in its console; the caller has saved it first. */
  run(path: string): void {
    let c = this.list.find((x) => x.key === path);
    if (!c) c = this.add(path, baseName(path));
    c.retry = () => this.run(path);
    const id = newId("run-");
    c.begin(id, "script");
    this.show(c);
    if (!this.sock.send({ type: "run", id, path })) {
      c.onMessage({ type: "error", id, message: "Not connected to the server; reconnecting. Try Run again in a moment." });
    }
  }

  repl(): void {
    const c = this.add(`repl:${++this.replCount}`, `REPL ${this.replCount}`);
    c.retry = () => {
      this.remove(c);
      this.repl();
    };
    const id = newId("repl-");
    c.begin(id, "repl");
    this.show(c);
    if (!this.sock.send({ type: "repl", id })) {
      c.onMessage({ type: "error", id, message: "Not connected to the server; reconnecting. Try again in a moment." });
    }
  }

  stopActive(): void {
    if (this.active?.live()) this.active.stop();
  }

  closeActive(): void {
    if (this.active) this.remove(this.active);
  }

  private remove(c: RunConsole): void {
    c.stop();
    this.sock.forget(c.id);
    c.el.remove();
    c.tabEl.remove();
    const i = this.list.indexOf(c);
    this.list.splice(i, 1);
    if (this.active !== c) return this.refresh();
    this.active = null;
    const next = this.list[Math.min(i, this.list.length - 1)];
    if (next) this.show(next);
    else {
      this.empty.hidden = false;
      this.refresh();
    }
  }

  /** snapshot lists the consoles whose program may still run. */
  snapshot(): ConsoleState[] {
    return this.list.filter((c) => c.live()).map((c) => ({ id: c.id, key: c.key, title: c.title, kind: c.kind }));
  }

  activeId(): string | null {
    return this.active?.live() ? this.active.id : null;
  }

  /** restore re-opens the consoles of programs that were running; the
   * socket re-attaches each when it connects and the server replays its
   * output so far (or says it has ended). */
  restore(list: ConsoleState[], active: string | null): void {
    for (const s of list) {
      if (this.list.some((c) => c.id === s.id)) continue;
      const c = this.add(s.key, s.title);
      c.resume(s.id, s.kind === "repl" ? "repl" : "script");
      if (s.key.startsWith("repl:")) this.replCount = Math.max(this.replCount, Number(s.key.slice(5)) || 0);
    }
    const want = this.list.find((c) => c.id === active) ?? this.list[this.list.length - 1];
    if (want) this.show(want);
  }

  /** follow shows the console of path's program, if it has one: the
   * console beside the editor is always the current file's. */
  follow(path: string | null): void {
    const c = path ? this.list.find((x) => x.key === path) : undefined;
    if (c && c !== this.active) this.show(c);
    else this.refresh();
  }

  /** runningFor says whether path's program is running. */
  runningFor(path: string | null): boolean {
    return !!path && !!this.list.find((x) => x.key === path && x.live());
  }

  /** focusInput puts the caret in the active console's input box, if it shows one. */
  focusInput(): void {
    this.active?.focusInput();
  }

  /** orphan handles messages for no console: refusals that name no run. */
  orphan(m: ServerMsg): void {
    if (m.type === "error" && m.message) toast(m.message, "error");
  }
}
