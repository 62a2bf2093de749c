// The console side: one tab per file run (running it again reuses its tab)
// and per empty REPL, with Run (F5), Stop (Shift+F5) and New REPL.
import { RunConsole, type OpenAt } from "./console";
import { baseName, h, newId, toast } from "./dom";
import type { ServerMsg, Socket } from "./socket";

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

  private refresh(): void {
    this.stopBtn.disabled = !this.active || !this.active.live();
  }

  /** run starts path in its console; the caller has saved it first. */
  run(path: string): void {
    let c = this.list.find((x) => x.key === path);
    if (!c) c = this.add(path, baseName(path));
    const id = newId("run-");
    c.begin(id, "script");
    this.show(c);
    if (!this.sock.send({ type: "run", id, path })) {
      c.onMessage({ type: "error", id, message: "Not connected to the server; reconnecting. Try Run again in a moment." });
    }
  }

  repl(): void {
    const c = this.add(`repl:${++this.replCount}`, `REPL ${this.replCount}`);
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
    const c = this.active;
    if (!c) return;
    c.stop();
    this.sock.forget(c.id);
    c.el.remove();
    c.tabEl.remove();
    const i = this.list.indexOf(c);
    this.list.splice(i, 1);
    this.active = null;
    const next = this.list[Math.min(i, this.list.length - 1)];
    if (next) this.show(next);
    else {
      this.empty.hidden = false;
      this.refresh();
    }
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
