// Open files as tabs, each with autosave: about a second after typing stops,
// and on demand before a run. A save carries the version it was based on
// (If-Match), so a newer version saved elsewhere is shown as a conflict and
// never overwritten without the student choosing to.
import type { EditorView } from "@codemirror/view";
import { api, ApiError } from "./api";
import { baseName, clear, h, toast } from "./dom";
import { createEditor, replaceText } from "./codemirror";
import { dropDraft, getDraft, moveDraft, putDraft } from "./drafts";
import { open as openDialog } from "./dialog";
import { lineDiff } from "./diff";
import type { TabState } from "./state";
import { showHistory } from "./history";
import { assist } from "./assist";

export type SaveState = "saved" | "saving" | "unsaved" | "failed" | "conflict" | "readonly";

const stateText: Record<SaveState, string> = {
  saved: "Saved",
  saving: "Saving…",
  unsaved: "Unsaved changes",
  failed: "Not saved — retrying",
  conflict: "Conflict: changed elsewhere",
  readonly: "Read-only",
};

const autosaveDelay = 1000;
const retryDelay = 5000;

class FileTab {
  view!: EditorView;
  etag: string | null = null;
  savedText = "";
  state: SaveState = "saved";
  detail = "";
  timer = 0;
  pendingTop: number | null = null;
  lastTop = 0;
  saving: Promise<void> | null = null;
  readonly tabEl: HTMLElement;
  readonly pane: HTMLElement;
  readonly banner: HTMLElement;

  constructor(
    public path: string,
    readonly readOnly: boolean,
    readonly owner: Editors,
  ) {
    this.banner = h("div", { class: "banner", hidden: true, role: "region", "aria-label": "Save conflict" });
    this.pane = h("div", { class: "editor-pane", hidden: true }, this.banner);
    this.tabEl = h("div", { class: "tab", role: "tab", "aria-selected": "false", tabindex: "-1", title: path });
  }

  text(): string {
    return this.view.state.doc.toString();
  }

  setState(s: SaveState, detail = ""): void {
    this.state = s;
    this.detail = detail;
    this.tabEl.dataset.state = s;
    this.owner.renderStatus();
  }

  changed(text: string): void {
    if (this.readOnly) return;
    putDraft(this.owner.user, this.path, { text, etag: this.etag, at: Date.now() });
    if (this.state === "conflict") return; // wait for the student's choice
    this.setState(text === this.savedText ? "saved" : "unsaved");
    this.schedule(autosaveDelay);
  }

  schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.save(), ms);
  }

  /** save writes the text if it changed; resolves when the server has it or the attempt failed. */
  async save(force = false): Promise<void> {
    clearTimeout(this.timer);
    if (this.readOnly || this.state === "conflict") return;
    while (this.saving) await this.saving;
    const text = this.text();
    if (text === this.savedText && !force) {
      if (this.state !== "saved") this.setState("saved");
      return;
    }
    this.setState("saving");
    this.saving = (async () => {
      try {
        this.etag = await api.save(this.path, text, this.etag);
        this.savedText = text;
        if (this.text() === text) {
          dropDraft(this.owner.user, this.path);
          this.setState("saved");
        } else {
          this.setState("unsaved");
          this.schedule(autosaveDelay);
        }
      } catch (e) {
        if (e instanceof ApiError && e.status === 412) {
          this.setState("conflict");
          this.showConflict();
        } else {
          const msg = e instanceof ApiError ? e.message : String(e);
          this.setState("failed", msg);
          // Limits (quota, size) will not pass by retrying soon; a network error may.
          if (!(e instanceof ApiError) || e.status === 0 || e.status >= 500 && e.status !== 507) this.schedule(retryDelay);
        }
      } finally {
        this.saving = null;
      }
    })();
    await this.saving;
  }

  showConflict(): void {
    clear(this.banner);
    this.banner.hidden = false;
    this.banner.append(
      h("p", {}, h("strong", {}, "This file was changed somewhere else"), " (in another tab or on another computer). Your text here is not saved yet. What should happen?"),
      h("div", { class: "banner-buttons" },
        h("button", { type: "button", class: "primary", onclick: () => void this.keepMine() }, "Keep mine"),
        h("button", { type: "button", onclick: () => void this.loadTheirs() }, "Load theirs"),
        h("button", { type: "button", onclick: () => void this.compare() }, "Compare"),
      ),
    );
  }

  hideBanner(): void {
    this.banner.hidden = true;
    clear(this.banner);
  }

  /** keepMine overwrites the other version, knowingly: based on its etag. */
  async keepMine(): Promise<void> {
    try {
      const theirs = await api.read(this.path);
      this.etag = theirs.etag;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) return toast(e instanceof Error ? e.message : String(e), "error");
      this.etag = null; // deleted elsewhere: write it back
    }
    this.hideBanner();
    this.state = "unsaved";
    await this.save(true);
  }

  async loadTheirs(): Promise<void> {
    try {
      const theirs = await api.read(this.path);
      this.hideBanner();
      this.state = "saved";
      this.etag = theirs.etag;
      this.savedText = theirs.text;
      replaceText(this.view, theirs.text);
      dropDraft(this.owner.user, this.path);
      this.setState("saved");
    } catch (e) {
      toast(e instanceof Error ? e.message : String(e), "error");
    }
  }

  async compare(): Promise<void> {
    let theirs = "";
    try {
      theirs = (await api.read(this.path)).text;
    } catch (e) {
      theirs = e instanceof ApiError && e.status === 404 ? "" : `(could not load: ${e instanceof Error ? e.message : e})`;
    }
    const table = h("div", { class: "diff", role: "table", "aria-label": "Differences" });
    table.append(h("div", { class: "diff-head", role: "row" }, h("span", { role: "columnheader" }, "Yours (this tab)"), h("span", { role: "columnheader" }, "Theirs (saved)")));
    for (const row of lineDiff(this.text(), theirs)) {
      table.append(
        h("div", { class: `diff-row ${row.kind}`, role: "row" },
          h("pre", { role: "cell" }, row.left ?? ""),
          h("pre", { role: "cell" }, row.right ?? ""),
        ),
      );
    }
    const v = await openDialog(`Compare ${baseName(this.path)}`, table, [
      { label: "Close", value: "" },
      { label: "Load theirs", value: "theirs" },
      { label: "Keep mine", value: "mine", primary: true },
    ]);
    if (v === "mine") await this.keepMine();
    if (v === "theirs") await this.loadTheirs();
  }
}

/** Editors holds the open tabs and shows the active one. */
export class Editors {
  private tabs: FileTab[] = [];
  private active: FileTab | null = null;
  readonly tabBar: HTMLElement;
  readonly panes: HTMLElement;
  readonly status: HTMLElement;
  readonly empty: HTMLElement;
  onActiveChange: (path: string | null) => void = () => {};

  readonly historyBtn: HTMLButtonElement;

  constructor(readonly user: string) {
    this.historyBtn = h("button", { type: "button", class: "history-btn", title: "Earlier versions of this file", disabled: true, onclick: () => void this.history() }, "History");
    this.tabBar = h("div", { class: "tabs", role: "tablist", "aria-label": "Open files" });
    this.status = h("span", { class: "save-state", role: "status", "aria-live": "polite" });
    this.empty = h("div", { class: "editor-empty" },
      h("p", {}, "Open a file from the list on the left, or make a new one with ", h("strong", {}, "New file"), "."),
      h("p", { class: "muted" }, "Ctrl+Enter (or F5) runs the open file, Ctrl+S saves it, Esc in the console stops it. F1 lists every shortcut."));
    this.panes = h("div", { class: "editor-panes" }, this.empty);
    window.addEventListener("beforeunload", (e) => {
      if (this.tabs.some((t) => t.state !== "saved" && t.state !== "readonly")) e.preventDefault();
    });
  }

  activePath(): string | null {
    return this.active?.path ?? null;
  }

  openPaths(): string[] {
    return this.tabs.map((t) => t.path);
  }

  /** textOf is the open file's text ("" when it is not open). */
  textOf(path: string): string {
    return this.tabs.find((t) => t.path === path)?.text() ?? "";
  }

  isOpen(path: string): boolean {
    return this.tabs.some((t) => t.path === path);
  }

  /** reveal opens path and selects line (1-based), as a traceback link does. */
  async reveal(path: string, line: number, writable: boolean): Promise<void> {
    await this.open(path, writable);
    const tab = this.tabs.find((t) => t.path === path);
    if (!tab) return;
    const doc = tab.view.state.doc;
    const l = doc.line(Math.min(Math.max(1, line), doc.lines));
    tab.view.dispatch({ selection: { anchor: l.from, head: l.to }, scrollIntoView: true });
    tab.view.focus();
  }

  async open(path: string, writable: boolean): Promise<void> {
    const existing = this.tabs.find((t) => t.path === path);
    if (existing) return this.show(existing);
    let file: { text: string; etag: string };
    try {
      file = await api.read(path);
    } catch (e) {
      toast(e instanceof Error ? e.message : String(e), "error");
      return;
    }
    const tab = new FileTab(path, !writable, this);
    tab.etag = file.etag;
    tab.savedText = file.text;
    let text = file.text;
    const draft = writable ? getDraft(this.user, path) : null;
    let restored = false;
    if (draft && draft.text !== file.text) {
      text = draft.text;
      tab.etag = draft.etag ?? file.etag;
      restored = true;
    } else if (draft) {
      dropDraft(this.user, path);
    }
    tab.view = createEditor(tab.pane, text, !writable, { onChange: (t) => tab.changed(t), extra: path.endsWith(".py") ? assist(path) : [] }, `Code of ${baseName(path)}`);
    // A hidden pane reads scrollTop 0: remember it while it shows.
    tab.view.scrollDOM.addEventListener("scroll", () => { if (!tab.pane.hidden) tab.lastTop = tab.view.scrollDOM.scrollTop; }, { passive: true });
    this.buildTab(tab);
    this.tabs.push(tab);
    tab.setState(writable ? (restored ? "unsaved" : "saved") : "readonly");
    this.panes.append(tab.pane);
    this.show(tab);
    if (restored && draft) {
      const when = new Date(draft.at).toLocaleString();
      tab.banner.hidden = false;
      tab.banner.append(
        h("p", {}, h("strong", {}, "Your unsaved changes were restored"), ` (typed ${when}). They will be saved now.`),
        h("div", { class: "banner-buttons" },
          h("button", { type: "button", class: "primary", onclick: () => { tab.hideBanner(); } }, "OK"),
          h("button", { type: "button", onclick: () => { tab.hideBanner(); void tab.loadTheirs(); } }, "Throw them away"),
        ),
      );
      tab.schedule(autosaveDelay);
    }
  }

  private buildTab(tab: FileTab): void {
    const label = h("span", { class: "tab-label" }, baseName(tab.path));
    const dot = h("span", { class: "tab-dot", "aria-hidden": "true" });
    const close = h("button", { type: "button", class: "tab-close", "aria-label": `Close ${baseName(tab.path)}`, title: "Close" }, "×");
    close.addEventListener("click", (e) => {
      e.stopPropagation();
      void this.close(tab.path);
    });
    tab.tabEl.append(dot, label, close);
    if (tab.readOnly) tab.tabEl.append(h("span", { class: "badge" }, "read-only"));
    tab.tabEl.addEventListener("click", () => this.show(tab));
    tab.tabEl.addEventListener("keydown", (e) => {
      const i = this.tabs.indexOf(tab);
      if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
        const next = this.tabs[(i + (e.key === "ArrowRight" ? 1 : this.tabs.length - 1)) % this.tabs.length];
        this.show(next);
        next.tabEl.focus();
      } else if (e.key === "Enter") {
        tab.view.focus();
      }
    });
    this.tabBar.append(tab.tabEl);
  }

  show(tab: FileTab): void {
    this.active = tab;
    this.empty.hidden = true;
    for (const t of this.tabs) {
      const on = t === tab;
      t.pane.hidden = !on;
      t.tabEl.setAttribute("aria-selected", String(on));
      t.tabEl.tabIndex = on ? 0 : -1;
    }
    tab.view.requestMeasure();
    if (tab.pendingTop !== null) {
      const top = tab.pendingTop;
      tab.pendingTop = null;
      requestAnimationFrame(() => { tab.view.scrollDOM.scrollTop = top; });
    }
    tab.view.focus();
    this.renderStatus();
    this.onActiveChange(tab.path);
  }

  async close(path: string): Promise<void> {
    const tab = this.tabs.find((t) => t.path === path);
    if (!tab) return;
    if (tab.state === "unsaved" || tab.state === "failed") await tab.save();
    tab.view.destroy();
    tab.pane.remove();
    tab.tabEl.remove();
    clearTimeout(tab.timer);
    const i = this.tabs.indexOf(tab);
    this.tabs.splice(i, 1);
    if (this.active === tab) {
      this.active = null;
      const next = this.tabs[Math.min(i, this.tabs.length - 1)];
      if (next) this.show(next);
      else {
        this.empty.hidden = false;
        this.renderStatus();
        this.onActiveChange(null);
      }
    }
  }

  /** history shows the active file's earlier versions (saved first, so
   * "now" is what the server has); after a restore the tab loads it. */
  private async history(): Promise<void> {
    const tab = this.active;
    if (!tab || tab.readOnly) return;
    await tab.save();
    if (tab.state !== "saved") return toast("Save the file first (see the state beside the tabs), then open its history.", "error");
    if (await showHistory(tab.path, tab.text())) await tab.loadTheirs();
  }

  /** snapshot is the open tabs with their cursor and scroll, in order. */
  snapshot(): TabState[] {
    return this.tabs.map((t) => {
      const sel = t.view.state.selection.main;
      return { path: t.path, writable: !t.readOnly, anchor: sel.anchor, head: sel.head, top: Math.round(t.lastTop) };
    });
  }

  /** restore opens tabs as snapshot left them (a file gone since is left
   * out, with the toast open gives), then shows active. */
  async restore(tabs: TabState[], active: string | null): Promise<void> {
    for (const s of tabs) {
      await this.open(s.path, s.writable);
      const tab = this.tabs.find((t) => t.path === s.path);
      if (!tab) continue;
      const len = tab.view.state.doc.length;
      const clamp = (n: number) => Math.min(Math.max(0, Number(n) || 0), len);
      tab.view.dispatch({ selection: { anchor: clamp(s.anchor), head: clamp(s.head) } });
      tab.pendingTop = tab.lastTop = Number(s.top) || 0; // scrolled once the pane is shown and laid out
    }
    const want = this.tabs.find((t) => t.path === active) ?? this.tabs[this.tabs.length - 1];
    if (want) this.show(want);
  }

  /** flush saves path now (before a run); false if it could not be saved. */
  async flush(path: string): Promise<boolean> {
    const tab = this.tabs.find((t) => t.path === path);
    if (!tab || tab.readOnly) return true;
    await tab.save();
    return tab.state === "saved";
  }

  stateOf(path: string): { state: SaveState; detail: string } | null {
    const tab = this.tabs.find((t) => t.path === path);
    return tab ? { state: tab.state, detail: tab.detail } : null;
  }

  async saveAll(): Promise<void> {
    await Promise.all(this.tabs.map((t) => t.save()));
  }

  /** renamed follows a move of a file or folder: open tabs keep their text. */
  renamed(from: string, to: string): void {
    for (const t of this.tabs) {
      if (t.path === from || t.path.startsWith(from + "/")) {
        const np = to + t.path.slice(from.length);
        moveDraft(this.user, t.path, np);
        t.path = np;
        t.tabEl.title = np;
        const label = t.tabEl.querySelector(".tab-label");
        if (label) label.textContent = baseName(np);
      }
    }
    this.renderStatus();
  }

  /** removed closes tabs of a deleted file or folder without saving them back. */
  removed(path: string): void {
    for (const t of [...this.tabs]) {
      if (t.path === path || t.path.startsWith(path + "/")) {
        t.state = "saved";
        dropDraft(this.user, t.path);
        void this.close(t.path);
      }
    }
  }

  renderStatus(): void {
    this.historyBtn.disabled = !this.active || this.active.readOnly;
    const t = this.active;
    if (!t) {
      this.status.textContent = "";
      this.status.removeAttribute("data-state");
      return;
    }
    this.status.dataset.state = t.state;
    this.status.textContent = stateText[t.state] + (t.detail ? `: ${t.detail}` : "");
    this.status.title = t.detail;
  }
}
