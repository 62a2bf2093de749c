// The file tree: the student's home and the course folders (read-only ones
// marked), or for a teacher the whole workspace. Create, rename, move (drag
// and drop, or "Move to…"), duplicate, delete (confirmed, naming what goes),
// upload and download. Folders load when opened.
import { api, ApiError, type Entry, type Me } from "./api";
import { baseName, clear, dirName, h, joinPath, toast } from "./dom";
import { ask, confirmDialog } from "./dialog";
import { Search } from "./search";
import { showTrash } from "./history";

interface Node {
  entry: Entry;
  depth: number;
  row: HTMLElement;
  children: HTMLElement | null;
}

export interface FileEvents {
  open(path: string, writable: boolean): void;
  /** openAt opens a file at a line (a search result). */
  openAt(path: string, line: number, writable: boolean): void;
  renamed(from: string, to: string): void;
  removed(path: string): void;
}

export class FileTree {
  readonly el: HTMLElement;
  private tree: HTMLElement;
  private expanded = new Set<string>();
  private selected: Entry | null = null;
  private nodes = new Map<string, Node>();
  private uploadInput: HTMLInputElement;
  private roots: Entry[] = [];
  private buttons: Record<string, HTMLButtonElement> = {};
  private renders = 0;
  private drawing: Promise<void> = Promise.resolve();

  constructor(private me: Me, private ev: FileEvents) {
    this.tree = h("ul", { class: "tree", role: "tree", "aria-label": "Files" });
    this.uploadInput = h("input", { type: "file", multiple: true, hidden: true, "aria-hidden": "true", tabindex: "-1" });
    this.uploadInput.addEventListener("change", () => void this.upload());
    const b = (key: string, label: string, title: string, fn: () => void) =>
      (this.buttons[key] = h("button", { type: "button", title, "aria-label": title, onclick: fn }, label));
    const toolbar = h("div", { class: "file-tools", role: "toolbar", "aria-label": "File actions" },
      b("newFile", "+ File", "New file", () => void this.newFile()),
      b("newDir", "+ Folder", "New folder", () => void this.newFolder()),
      b("upload", "Upload", "Upload files into the selected folder", () => this.uploadInput.click()),
      b("rename", "Rename", "Rename (F2)", () => void this.rename()),
      b("move", "Move", "Move to another folder", () => void this.moveTo()),
      b("dup", "Duplicate", "Duplicate", () => void this.duplicate()),
      b("download", "Download", "Download (folders as .zip)", () => this.download()),
      b("delete", "Delete", "Delete (Del)", () => void this.remove()),
      b("trash", "Trash", "Deleted files and folders (kept 14 days)", () => void this.trash()),
    );
    const search = new Search(() => this.searchScope(), (m) => {
      const writable = this.professor() || m.path.startsWith(this.me.home + "/");
      if (m.type === "line") this.ev.openAt(m.path, m.line, writable);
      else {
        this.ev.open(m.path, writable);
        void this.reveal(dirName(m.path)).then(() => this.selectPath(m.path));
      }
    });
    this.el = h("nav", { class: "files", "aria-label": "Files" }, toolbar, search.el, this.uploadInput, this.tree);
    this.expanded.add(me.home);
    this.tree.addEventListener("keydown", (e) => this.onKey(e));
  }

  private professor(): boolean {
    return this.me.role === "professor";
  }

  /** exam, when set, is all a student sees during an exam: the exam folder
   * and the course folders open in it. */
  exam: { folder: string; title: string; courses: string[] } | null = null;

  /** load builds the roots: home first, then course folders (or, for a teacher, everything). */
  async load(): Promise<void> {
    if (this.exam) {
      const x = this.exam;
      const dir = (name: string, path: string, writable: boolean): Entry => ({ name, path, type: "dir", size: 0, mtime: "", writable });
      this.roots = [dir(`Exam: ${x.title}`, x.folder, true), ...x.courses.map((c) => dir(c, c, false))];
      this.expanded.delete(this.me.home); // closed during the exam: not even listed
      this.expanded.add(x.folder);
      this.buttons.trash.hidden = true; // as history is: it would bring back what came before
      return this.render();
    }
    let top: Entry[] = [];
    try {
      top = await api.list("");
    } catch (e) {
      toast(e instanceof Error ? e.message : String(e), "error");
    }
    const home: Entry = { name: "My files", path: this.me.home, type: "dir", size: 0, mtime: "", writable: true };
    if (this.professor()) {
      this.roots = [home, ...top];
      this.expanded.add("Local");
    } else {
      this.roots = [home, ...top.filter((e) => e.path !== "Local")];
    }
    await this.render();
  }

  /** render redraws the tree, keeping open folders open. */
  render(): Promise<void> {
    const gen = ++this.renders;
    this.drawing = this.draw(gen);
    return this.drawing;
  }

  private async draw(gen: number): Promise<void> {
    const listing = new Map<string, Entry[]>();
    const want = [...this.expanded];
    await Promise.all(
      want.map(async (p) => {
        try {
          listing.set(p, await api.list(p));
        } catch (e) {
          if (e instanceof ApiError && (e.status === 404 || e.status === 403)) this.expanded.delete(p);
          else throw e;
        }
      }),
    ).catch((e) => toast(e instanceof Error ? e.message : String(e), "error"));
    if (gen !== this.renders) return this.drawing; // a newer redraw started meanwhile: it draws, wait for it
    const frag = document.createDocumentFragment();
    this.nodes.clear();
    const build = (parent: Node, entries: Entry[], depth: number) => {
      for (const e of entries) this.addNode(parent.children!, e, depth, listing, build);
    };
    for (const r of this.roots) {
      const holder = h("div");
      this.addNode(holder, r, 0, listing, build);
      frag.append(...Array.from(holder.childNodes));
    }
    clear(this.tree);
    this.tree.append(frag);
    const sel = this.selected && this.nodes.get(this.selected.path);
    if (sel) this.select(sel.entry, false);
    else if (this.roots[0]) this.select(this.roots[0], false);
  }

  private addNode(into: HTMLElement, e: Entry, depth: number, listing: Map<string, Entry[]>, build: (n: Node, es: Entry[], d: number) => void): void {
    const isDir = e.type === "dir";
    const isLink = e.type === "link";
    const open = isDir && this.expanded.has(e.path) && listing.has(e.path);
    const readOnly = !e.writable && (depth === 0 || !isDir);
    const row = h("div", {
      class: `row ${isDir ? "dir" : "file"}`,
      style: `padding-left: ${0.5 + depth * 1}rem`,
      draggable: e.writable && depth > 0 ? "true" : null,
    },
      h("span", { class: `icon${isDir ? "" : " file-icon"}${e.name.endsWith(".py") ? " py" : ""}`, "aria-hidden": "true" }, isDir ? (open ? "▾" : "▸") : isLink ? "↪" : ""),
      h("span", { class: "name" }, e.name),
      readOnly && depth === 0 ? h("span", { class: "badge" }, "read-only") : null,
      isLink ? h("span", { class: "badge", title: "A link made by a program: it opens only if it points to a file in the same folder tree" }, "link") : null,
    );
    const li = h("li", { role: "treeitem", "aria-selected": "false", tabindex: "-1", "data-path": e.path, "aria-label": e.name + (isDir ? " folder" : isLink ? ", link" : "") + (readOnly && depth === 0 ? ", read-only" : "") }, row);
    if (isDir) li.setAttribute("aria-expanded", String(open));
    const node: Node = { entry: e, depth, row: li, children: null };
    this.nodes.set(e.path, node);
    into.append(li);
    li.addEventListener("click", (ev) => {
      ev.stopPropagation();
      this.select(e, true);
      if (isDir) void this.toggle(e.path);
      else this.ev.open(e.path, e.writable);
    });
    this.dragAndDrop(li, e, depth);
    if (open) {
      const ul = h("ul", { role: "group" });
      node.children = ul;
      li.append(ul);
      const kids = listing.get(e.path)!;
      if (kids.length === 0) ul.append(h("li", { role: "none", class: "muted empty-dir", style: `padding-left: ${1.5 + (depth + 1)}rem` }, "(empty)"));
      build(node, kids, depth + 1);
    }
  }

  private dragAndDrop(li: HTMLElement, e: Entry, depth: number): void {
    if (e.writable && depth > 0) {
      li.addEventListener("dragstart", (ev) => {
        ev.stopPropagation();
        ev.dataTransfer?.setData("application/x-pythonide-path", e.path);
        if (ev.dataTransfer) ev.dataTransfer.effectAllowed = "move";
      });
    }
    if (e.type !== "dir" || !e.writable) return;
    li.addEventListener("dragover", (ev) => {
      const t = ev.dataTransfer?.types ?? [];
      if (t.includes("application/x-pythonide-path") || t.includes("Files")) {
        ev.preventDefault();
        ev.stopPropagation();
        li.classList.add("drop");
      }
    });
    li.addEventListener("dragleave", () => li.classList.remove("drop"));
    li.addEventListener("drop", (ev) => {
      ev.preventDefault();
      ev.stopPropagation();
      li.classList.remove("drop");
      const from = ev.dataTransfer?.getData("application/x-pythonide-path");
      if (from) void this.moveInto(from, e.path);
      else if (ev.dataTransfer?.files.length) void this.uploadFiles(e.path, ev.dataTransfer.files);
    });
  }

  private select(e: Entry, focus: boolean): void {
    this.selected = e;
    for (const [p, n] of this.nodes) {
      const on = p === e.path;
      n.row.setAttribute("aria-selected", String(on));
      n.row.tabIndex = on ? 0 : -1;
      if (on && focus) n.row.focus();
    }
    const depth = this.nodes.get(e.path)?.depth ?? 0;
    const canChange = e.writable && depth > 0;
    this.buttons.rename.disabled = !canChange;
    this.buttons.move.disabled = !canChange;
    this.buttons.delete.disabled = !canChange;
    this.buttons.dup.disabled = !(depth > 0 && this.folderOf(e)?.writable);
    const dir = this.folderOf(e);
    this.buttons.newFile.disabled = !dir?.writable;
    this.buttons.newDir.disabled = !dir?.writable;
    this.buttons.upload.disabled = !dir?.writable;
  }

  /** folderOf is where new things go: the selection if a folder, else its parent. */
  private folderOf(e: Entry | null): Entry | null {
    if (!e) return this.roots[0] ?? { name: "My files", path: this.me.home, type: "dir", size: 0, mtime: "", writable: true };
    if (e.type === "dir") return e;
    return this.nodes.get(dirName(e.path))?.entry ?? null;
  }

  private async toggle(path: string): Promise<void> {
    if (this.expanded.has(path)) this.expanded.delete(path);
    else this.expanded.add(path);
    await this.render();
  }

  private visible(): Node[] {
    return Array.from(this.tree.querySelectorAll<HTMLElement>("li[role=treeitem]"))
      .map((li) => this.nodes.get(li.dataset.path ?? ""))
      .filter((n): n is Node => !!n);
  }

  private onKey(ev: KeyboardEvent): void {
    const e = this.selected;
    if (!e) return;
    const list = this.visible();
    const i = list.findIndex((n) => n.entry.path === e.path);
    const go = (j: number) => {
      const n = list[Math.max(0, Math.min(list.length - 1, j))];
      if (n) this.select(n.entry, true);
    };
    switch (ev.key) {
      case "ArrowDown": go(i + 1); break;
      case "ArrowUp": go(i - 1); break;
      case "Home": go(0); break;
      case "End": go(list.length - 1); break;
      case "ArrowRight":
        if (e.type === "dir" && !this.expanded.has(e.path)) void this.toggle(e.path);
        else go(i + 1);
        break;
      case "ArrowLeft":
        if (e.type === "dir" && this.expanded.has(e.path)) void this.toggle(e.path);
        else {
          const parent = this.nodes.get(dirName(e.path));
          if (parent) this.select(parent.entry, true);
        }
        break;
      case "Enter":
        if (e.type === "dir") void this.toggle(e.path);
        else this.ev.open(e.path, e.writable);
        break;
      case "F2": void this.rename(); break;
      case "Delete": void this.remove(); break;
      default: return;
    }
    ev.preventDefault();
  }

  /** refreshAfter redraws the tree once p is done; selectAfter (a renamed
   * or moved path) is selected in that same redraw, so no moment shows
   * the selection lost. */
  private async refreshAfter(p: Promise<unknown>, okMessage?: string, selectAfter?: string): Promise<boolean> {
    try {
      await p;
      if (selectAfter && this.selected) this.selected = { ...this.selected, path: selectAfter, name: baseName(selectAfter) };
      if (okMessage) toast(okMessage);
      return true;
    } catch (e) {
      toast(e instanceof Error ? e.message : String(e), "error");
      return false;
    } finally {
      await this.render();
    }
  }

  private async exists(dir: string, name: string): Promise<boolean> {
    try {
      return (await api.list(dir)).some((x) => x.name === name);
    } catch {
      return false;
    }
  }

  async newFile(): Promise<void> {
    const dir = this.folderOf(this.selected);
    if (!dir?.writable) return;
    const name = await ask("New file", `Name of the new file in ${dir.name}:`, "program.py", "Create");
    if (!name) return;
    const path = joinPath(dir.path, name);
    if (await this.exists(dir.path, name)) return toast(`There is already something called "${name}" there.`, "error");
    this.expanded.add(dir.path);
    if (await this.refreshAfter(api.save(path, "", null))) {
      const n = this.nodes.get(path);
      if (n) this.select(n.entry, false);
      this.ev.open(path, true);
    }
  }

  async newFolder(): Promise<void> {
    const dir = this.folderOf(this.selected);
    if (!dir?.writable) return;
    const name = await ask("New folder", `Name of the new folder in ${dir.name}:`, "", "Create");
    if (!name) return;
    this.expanded.add(dir.path);
    await this.refreshAfter(api.mkdir(joinPath(dir.path, name)));
  }

  async rename(): Promise<void> {
    const e = this.selected;
    if (!e || this.buttons.rename.disabled) return;
    const name = await ask(`Rename ${e.name}`, "New name:", e.name, "Rename");
    if (!name || name === e.name) return;
    const to = joinPath(dirName(e.path), name);
    if (await this.refreshAfter(api.move(e.path, to), undefined, to)) {
      this.ev.renamed(e.path, to);
    }
  }

  async moveTo(): Promise<void> {
    const e = this.selected;
    if (!e || this.buttons.move.disabled) return;
    const rel = (p: string) => (p.startsWith(this.me.home) ? p.slice(this.me.home.length + 1) : p);
    const target = await ask(`Move ${e.name}`, "Folder to move it into (a path inside My files; empty for the top):", rel(dirName(e.path)), "Move");
    if (target === null) return;
    const dest = this.professor() && target.startsWith("Local/") ? target : joinPath(this.me.home, target.replace(/^\/+|\/+$/g, ""));
    await this.moveInto(e.path, target === "" ? this.me.home : dest);
  }

  private async moveInto(from: string, dir: string): Promise<void> {
    const to = joinPath(dir, baseName(from));
    if (to === from || dir === from) return;
    this.expanded.add(dir);
    if (await this.refreshAfter(api.move(from, to), `Moved ${baseName(from)} to ${baseName(dir) || "the top"}.`, to)) {
      this.ev.renamed(from, to);
    }
  }

  async duplicate(): Promise<void> {
    const e = this.selected;
    if (!e || this.buttons.dup.disabled) return;
    const dir = dirName(e.path);
    let names: string[] = [];
    try {
      names = (await api.list(dir)).map((x) => x.name);
    } catch {
      /* the server will refuse a clash anyway */
    }
    const dot = e.type === "file" ? e.name.lastIndexOf(".") : -1;
    const stem = dot > 0 ? e.name.slice(0, dot) : e.name;
    const ext = dot > 0 ? e.name.slice(dot) : "";
    let name = `${stem} copy${ext}`;
    for (let n = 2; names.includes(name); n++) name = `${stem} copy ${n}${ext}`;
    await this.refreshAfter(api.copy(e.path, joinPath(dir, name)), `Made ${name}.`);
  }

  download(): void {
    const e = this.selected;
    if (!e) return;
    const a = h("a", { href: api.downloadURL(e.path), download: "" });
    document.body.append(a);
    a.click();
    a.remove();
  }

  async remove(): Promise<void> {
    const e = this.selected;
    if (!e || this.buttons.delete.disabled) return;
    let what = `the file "${e.name}"`;
    if (e.type === "dir") {
      let kids: Entry[] = [];
      try {
        kids = await api.list(e.path);
      } catch {
        /* say less */
      }
      const names = kids.slice(0, 5).map((k) => k.name).join(", ");
      what = kids.length === 0
        ? `the empty folder "${e.name}"`
        : `the folder "${e.name}" and everything in it: ${names}${kids.length > 5 ? ` and ${kids.length - 5} more` : ""}`;
    }
    // Homes have a trash; course folders do not.
    const trashed = e.path.startsWith("Local/");
    const [title, text] = this.exam
      ? ["Delete?", `This deletes ${what}. It cannot be brought back during the exam.`]
      : trashed
        ? ["Delete?", `This moves ${what} to the trash, where it stays for 14 days (Trash, above the files).`]
        : ["Delete for good?", `This deletes ${what}. It cannot be undone.`];
    const ok = await confirmDialog(title, text, "Delete", true);
    if (!ok) return;
    if (await this.refreshAfter(api.remove(e.path), `Deleted ${e.name}.`)) {
      this.ev.removed(e.path);
      this.selectPath(dirName(e.path));
    }
  }

  private async upload(): Promise<void> {
    const dir = this.folderOf(this.selected);
    const files = this.uploadInput.files;
    if (!dir || !files?.length) return;
    await this.uploadFiles(dir.path, files);
    this.uploadInput.value = "";
  }

  private async uploadFiles(dir: string, files: FileList): Promise<void> {
    this.expanded.add(dir);
    const n = files.length;
    await this.refreshAfter(api.upload(dir, files), `Uploaded ${n} file${n === 1 ? "" : "s"}.`);
  }

  /** reveal opens the folders down to the folder path and the folder itself,
   * selects it and scrolls it into view. */
  async reveal(path: string): Promise<void> {
    const parts = path.split("/");
    const under = (p: string) => this.roots.some((r) => p === r.path || p.startsWith(r.path + "/"));
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join("/");
      if (under(p)) this.expanded.add(p);
    }
    await this.render();
    const n = this.nodes.get(path);
    if (!n) return toast(`${path} is not there (yet).`, "error");
    this.select(n.entry, true);
    n.row.scrollIntoView({ block: "nearest" });
  }

  /** searchScope is where a search looks: the top folder the selection is
   * in (the home, a course folder), or for a teacher the selected folder. */
  private searchScope(): { path: string; name: string } {
    const sel = this.selected;
    if (this.professor() && sel) {
      const dir = sel.type === "dir" ? sel.path : dirName(sel.path);
      return { path: dir, name: dir === this.me.home ? "My files" : dir || "everything" };
    }
    const root = this.roots.find((r) => sel && (sel.path === r.path || sel.path.startsWith(r.path + "/")));
    if (this.exam && !root) return { path: this.exam.folder, name: "the exam folder" };
    if (!root || root.path === this.me.home) return { path: this.me.home, name: "My files" };
    return { path: root.path, name: root.name };
  }

  /** trash lists what was deleted (a teacher: in the selected student's
   * home) and shows a restored item where it went. */
  private async trash(): Promise<void> {
    const m = this.professor() ? /^Local\/([^/]+)/.exec(this.selected?.path ?? "") : null;
    const back = await showTrash(m?.[1]);
    if (back) await this.reveal(dirName(back)).then(() => this.selectPath(back));
    else await this.render();
  }

  /** openFolders lists the folders open in the tree. */
  openFolders(): string[] {
    return [...this.expanded].sort();
  }

  /** restoreOpen opens folders as openFolders left them (those gone or
   * not readable any more stay closed). */
  async restoreOpen(paths: string[]): Promise<void> {
    const before = this.expanded.size;
    for (const p of paths) this.expanded.add(p);
    if (this.expanded.size !== before) await this.render();
  }

  selectPath(path: string): void {
    const n = this.nodes.get(path);
    if (n) this.select(n.entry, false);
  }
}
