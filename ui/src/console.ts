// One console per run: the program's output in order (errors in red), an
// input box while it waits in input(), the REPL after the script, inline
// figures, and a plain-words line saying how the run ended.
import { h, toast } from "./dom";
import { explain } from "./explain";
import type { RunHandler, ServerMsg, Socket } from "./socket";

export type RunState = "starting" | "running" | "input" | "repl" | "ended";

/** OpenAt opens a workspace file in the editor at a line (a traceback link). */
export type OpenAt = (path: string, line: number) => void;

// A traceback frame: File "/home/student/hw.py", line 3
const frameRe = /File "([^"\n]+)", line (\d+)/g;

const maxChars = 400_000; // older output is trimmed so a long run never slows the page

const endClass: Record<string, string> = {
  exited: "ok",
  error: "bad",
  stopped: "info",
  admin: "warn",
};

export class RunConsole implements RunHandler {
  readonly el: HTMLElement;
  readonly out: HTMLElement;
  readonly tabEl: HTMLElement;
  private inputRow: HTMLElement;
  private inputLabel: HTMLLabelElement;
  private input: HTMLTextAreaElement;
  private statusEl: HTMLElement;
  private seq = 0;
  private chars = 0;
  private lastStream: "" | "stdout" | "stderr" | "echo" = "";
  private lastNode: Text | null = null;
  private history: string[] = [];
  private histPos = 0;
  private draftLine = "";
  private waitFor: "input" | "repl" | null = null;
  private prompt = "";
  private paths: { at: string; path: string }[] = [];
  state: RunState = "starting";
  id = "";
  kind: "script" | "repl" = "script";
  onChange: () => void = () => {};
  private resumed = false;

  constructor(
    readonly key: string, // the file path, or "repl:<n>" for an empty REPL
    readonly title: string,
    private sock: Socket,
    private openAt: OpenAt,
  ) {
    this.out = h("div", { class: "out", role: "log", "aria-live": "polite", "aria-label": `Output of ${title}`, tabindex: "0" });
    this.input = h("textarea", { class: "stdin", rows: 1, id: `stdin-${Math.random().toString(36).slice(2)}`, autocomplete: "off", spellcheck: "false", "aria-describedby": "" });
    this.inputLabel = h("label", { class: "prompt", for: this.input.id });
    this.inputRow = h("div", { class: "stdin-row", hidden: true }, this.inputLabel, this.input);
    this.statusEl = h("span", { class: "run-state" });
    this.el = h("div", { class: "console-pane", hidden: true }, this.out, this.inputRow);
    this.tabEl = h("div", { class: "tab", role: "tab", tabindex: "-1", title }, h("span", { class: "tab-label" }, title), this.statusEl);
    this.input.addEventListener("keydown", (e) => this.onKey(e));
    this.out.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.live()) this.stop();
    });
    this.input.addEventListener("input", () => this.autoGrow());
    this.out.addEventListener("click", () => {
      if (!this.inputRow.hidden && !window.getSelection()?.toString()) this.input.focus();
    });
  }

  lastSeq(): number {
    return this.seq;
  }

  live(): boolean {
    return this.state !== "ended" && this.id !== "";
  }

  /** begin starts a new process in this console (the old one's output is cleared). */
  begin(id: string, kind: "script" | "repl"): void {
    if (this.id) this.sock.forget(this.id);
    this.resumed = false;
    this.id = id;
    this.kind = kind;
    this.seq = 0;
    this.out.textContent = "";
    this.chars = 0;
    this.lastStream = "";
    this.lastNode = null;
    this.hideInput();
    this.setState("starting");
    this.sock.register(id, this);
  }

  /** resume takes over a program that was running before the page was
   * reloaded: the socket re-attaches it from the start of its output. */
  resume(id: string, kind: "script" | "repl"): void {
    this.begin(id, kind);
    this.resumed = true;
    this.setState("running");
  }

  private setState(s: RunState): void {
    this.state = s;
    const words: Record<RunState, string> = { starting: "starting", running: "running", input: "waiting for input", repl: "REPL", ended: "" };
    this.statusEl.textContent = words[s];
    this.tabEl.dataset.state = s;
    this.onChange();
  }

  onMessage(m: ServerMsg): void {
    if (m.seq) this.seq = m.seq;
    if (m.type !== "stdout" && m.type !== "stderr") this.linkify();
    switch (m.type) {
      case "started":
        // Longest first, so a folder inside another maps to itself.
        this.paths = (m.paths ?? []).slice().sort((a, b) => b.at.length - a.at.length);
        this.setState("running");
        break;
      case "stdout":
      case "stderr":
        this.write(m.data ?? "", m.type);
        if (this.state === "input" || this.state === "repl") {
          // output while waiting: the program moved on (a thread, or a REPL line)
        }
        break;
      case "input_request":
        this.askInput("input", m.prompt ?? "");
        this.setState("input");
        break;
      case "repl_ready":
        this.askInput("repl", m.prompt ?? ">>> ");
        this.setState("repl");
        break;
      case "figure":
        this.figure(m.mime ?? "image/png", m.data ?? "");
        break;
      case "exit":
        this.hideInput();
        this.end(m.message || `The program ended (${m.reason ?? "exited"}).`, endClass[m.reason ?? ""] ?? "warn");
        this.refused(m); // a start that timed out on the server carries its reference and a retry
        break;
      case "error":
        if (m.code === "not_found" && this.state !== "starting") {
          this.hideInput();
          this.end(this.resumed && this.seq === 0 ? "This program ended while the page was closed." : "This program ended while the connection was down.", "info");
        } else if (this.state === "starting") {
          this.end(m.message ?? "The program could not start.", "bad");
          this.refused(m);
        } else {
          this.note(m.message ?? "The request was refused.", "bad");
        }
        break;
    }
  }

  private end(text: string, cls: string): void {
    this.note(text, cls);
    this.setState("ended");
    this.sock.forget(this.id);
  }

  /** sourceOf gives the text of a file the editor holds ("" if none): close names for explanations. */
  sourceOf: (path: string) => string = () => "";

  /** retry starts this console's program again (set by its owner). */
  retry: (() => void) | null = null;

  /** refused adds what a start that failed on the server's side carries
   * (refused, or timed out): the reference for the teacher, and Try again
   * only where trying again can help. */
  private refused(m: ServerMsg): void {
    const last = this.out.lastElementChild;
    if (!last) return;
    if (m.ref && !(m.message ?? "").includes(m.ref)) last.append(" ", h("span", { class: "ref" }, `Reference: ${m.ref}`));
    if (m.retry && this.retry) {
      const again = this.retry;
      last.append(" ", h("button", { type: "button", class: "link try-again", onclick: () => again() }, "Try again"));
    }
  }

  private note(text: string, cls: string): void {
    this.lastStream = "";
    this.out.append(h("div", { class: `end ${cls}`, role: "status" }, text));
    this.scroll(true);
  }

  private write(text: string, stream: "stdout" | "stderr" | "echo"): void {
    if (!text) return;
    const stick = this.nearBottom();
    if (this.lastStream === stream && this.lastNode) {
      this.lastNode.appendData(text);
    } else {
      this.linkify();
      const span = h("span", { class: stream });
      this.lastNode = document.createTextNode(text);
      span.append(this.lastNode);
      this.out.append(span);
      this.lastStream = stream;
    }
    this.chars += text.length;
    if (this.chars > maxChars) this.trim();
    this.scroll(stick);
  }

  private trim(): void {
    while (this.chars > maxChars * 0.75 && this.out.firstChild) {
      const n = this.out.firstChild;
      this.chars -= n.textContent?.length ?? 0;
      n.remove();
    }
    if (!this.out.querySelector(".trimmed")) this.out.prepend(h("div", { class: "trimmed muted" }, "(earlier output hidden)"));
    const last = this.out.lastChild?.lastChild;
    this.lastNode = last instanceof Text ? last : null;
  }

  /** workspacePath is the workspace file a program's path names, if any. */
  private workspacePath(file: string): string | null {
    for (const p of this.paths) {
      if (file === p.at || file.startsWith(p.at + "/")) return p.path + file.slice(p.at.length);
    }
    return null;
  }

  /**
   * linkify turns the traceback frames of the stderr text written last into
   * links that open the file at the line. It runs once that text is
   * complete: when other output follows, or the program waits or ends.
   */
  private linkify(): void {
    if (this.lastStream !== "stderr" || !this.lastNode) return;
    const node = this.lastNode;
    const text = node.data;
    this.lastNode = null;
    this.lastStream = "";
    // A traceback's last line, in plain words, below Python's own.
    const words = /Traceback \(most recent call last\)|^\s*File "/m.test(text) || /^(SyntaxError|IndentationError|TabError):/m.test(text) ? explain(text, this.sourceOf(this.key)) : null;
    if (words) node.after(h("div", { class: "explain", role: "note" }, h("strong", {}, "What this means: "), words));
    const parts: (string | HTMLElement)[] = [];
    let at = 0;
    for (const m of text.matchAll(frameRe)) {
      const path = this.workspacePath(m[1]);
      if (!path) continue;
      const line = Number(m[2]);
      parts.push(text.slice(at, m.index));
      parts.push(h("a", {
        href: "#", class: "tb-link", title: `Open ${path} at line ${line}`,
        onclick: (e: Event) => { e.preventDefault(); this.openAt(path, line); },
      }, m[0]));
      at = m.index + m[0].length;
    }
    if (parts.length === 0) return;
    parts.push(text.slice(at));
    node.replaceWith(...parts);
  }

  private figure(mime: string, data: string): void {
    const stick = this.nearBottom();
    const img = h("img", { class: "figure", alt: "A figure drawn by the program", src: `data:${mime};base64,${data}` });
    this.out.append(h("div", { class: "figure-box" }, img));
    this.lastStream = "";
    img.addEventListener("load", () => this.scroll(stick));
  }

  private nearBottom(): boolean {
    return this.out.scrollHeight - this.out.scrollTop - this.out.clientHeight < 40;
  }

  private scroll(stick: boolean): void {
    if (stick) this.out.scrollTop = this.out.scrollHeight;
  }

  private askInput(kind: "input" | "repl", prompt: string): void {
    this.waitFor = kind;
    this.prompt = prompt;
    if (kind === "input" && prompt) this.write(prompt, "stdout");
    this.inputLabel.textContent = kind === "repl" ? prompt : prompt.trim() || "Input:";
    this.inputLabel.title = kind === "repl" ? "Python REPL: Enter runs, Shift+Enter adds a line, ↑/↓ history" : "Your program is waiting: type an answer and press Enter";
    this.input.setAttribute("aria-label", kind === "repl" ? "Python command (Enter runs, Shift+Enter adds a line, arrow keys for history)" : `Answer for the program: ${prompt.trim() || "input"}`);
    this.input.placeholder = kind === "repl" ? "Type Python here, Enter runs it" : "Type your answer, then press Enter";
    this.inputRow.hidden = false;
    this.inputRow.dataset.kind = kind;
    const focusInEditor = document.activeElement?.closest(".cm-editor");
    if (!focusInEditor || kind === "input") this.input.focus();
    this.scroll(true);
  }

  private hideInput(): void {
    this.waitFor = null;
    this.inputRow.hidden = true;
  }

  focusInput(): void {
    if (!this.inputRow.hidden) this.input.focus();
  }

  private autoGrow(): void {
    this.input.rows = Math.min(8, Math.max(1, this.input.value.split("\n").length));
  }

  private onKey(e: KeyboardEvent): void {
    // Esc, or Ctrl+C with nothing selected (as in a terminal), stops the program.
    const noSelection = this.input.selectionStart === this.input.selectionEnd;
    if (e.key === "Escape" || (e.ctrlKey && !e.metaKey && (e.key === "c" || e.key === "C") && noSelection)) {
      if (this.live()) {
        e.preventDefault();
        this.stop();
      }
      return;
    }
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      this.submit();
      return;
    }
    if (this.waitFor !== "repl") return;
    const v = this.input.value;
    const caret = this.input.selectionStart;
    if (e.key === "ArrowUp" && !v.slice(0, caret).includes("\n") && this.histPos > 0) {
      e.preventDefault();
      if (this.histPos === this.history.length) this.draftLine = v;
      this.input.value = this.history[--this.histPos];
      this.autoGrow();
    } else if (e.key === "ArrowDown" && !v.slice(caret).includes("\n") && this.histPos < this.history.length) {
      e.preventDefault();
      this.histPos++;
      this.input.value = this.histPos === this.history.length ? this.draftLine : this.history[this.histPos];
      this.autoGrow();
    }
  }

  private submit(): void {
    if (!this.waitFor) return;
    let text = this.input.value;
    let data = text + "\n";
    if (this.waitFor === "repl") {
      if (text.trim()) {
        this.history.push(text);
        if (this.history.length > 200) this.history.shift();
      }
      this.histPos = this.history.length;
      this.draftLine = "";
      // A pasted block whose last line is indented needs a blank line to end it.
      const lines = text.split("\n");
      if (lines.length > 1 && /^\s/.test(lines[lines.length - 1])) data += "\n";
      this.write(this.prompt + lines.join("\n... ") + "\n", "echo");
    } else {
      this.write(text + "\n", "echo");
    }
    if (!this.sock.send({ type: "stdin", id: this.id, data })) {
      toast("Not connected to the server right now; your input was not sent. Reconnecting…", "error");
      return;
    }
    this.input.value = "";
    this.autoGrow();
    this.hideInput();
    this.setState("running");
    text = "";
  }

  stop(): void {
    if (this.live()) this.sock.send({ type: "stop", id: this.id });
  }
}
