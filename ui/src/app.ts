// The IDE shell: header (run controls, connection, theme, font size, user),
// files on the left, editor tabs in the middle, consoles on the right, and
// a second view: the class (teacher) or the assignments (student).
import { api, ApiError, setExpiredHandler, type Me } from "./api";
import { baseName, clear, h, toast } from "./dom";
import { Editors } from "./editors";
import { FileTree } from "./files";
import { Consoles } from "./consoles";
import { Socket, type ConnState } from "./socket";
import { AdminView } from "./admin";
import { AssignmentsView } from "./assignments";
import { loginForm } from "./login";
import { listDrafts, dropDraft } from "./drafts";
import { applySettings, loadSettings, type Theme } from "./settings";
import { open as openDialog } from "./dialog";
import { keepState, loadState } from "./state";
import { currentExam, examBanner, inExam } from "./exam";
import { assistOff } from "./assist";

export function startApp(root: HTMLElement, me: Me, onLogout: () => void): void {
  clear(root);
  const settings = loadSettings();
  let reauth: Promise<void> | null = null;

  // An expired session shows the login form over the page: the editors and
  // their unsaved text stay where they are, and the failed request is retried.
  const relogin = (): Promise<void> => {
    reauth ??= new Promise<void>((resolve) => {
      const form = loginForm((who) => {
        if (who.username !== me.username) {
          location.reload(); // someone else: start clean (drafts stay in this browser)
          return;
        }
        dlg.close();
        reauth = null;
        resolve();
      }, { username: me.username, note: "Your session has ended. Log in again to carry on — your unsaved work is kept." });
      const dlg = h("dialog", { class: "relogin", "aria-label": "Log in again" }, h("h2", {}, "Please log in again"), form);
      dlg.addEventListener("cancel", (e) => e.preventDefault());
      document.body.append(dlg);
      dlg.showModal();
    });
    return reauth;
  };
  setExpiredHandler(relogin);

  const connEl = h("span", { class: "conn", role: "status", "aria-live": "polite" });
  const sock = new Socket(
    (s: ConnState) => {
      connEl.dataset.state = s;
      connEl.textContent = s === "open" ? "● Connected" : s === "connecting" ? "○ Connecting…" : "○ Reconnecting…";
    },
    (m) => consoles.orphan(m),
    async () => {
      const who = await api.me();
      if (!who) await relogin();
    },
  );
  const editors = new Editors(me.username);
  // A traceback link: a teacher may edit any file, a student their own.
  const consoles = new Consoles(sock, (p, line) =>
    void editors.reveal(p, line, me.role === "professor" || p.startsWith(me.home + "/")));
  const tree = new FileTree(me, {
    open: (p, w) => void editors.open(p, w),
    openAt: (p, line, w) => void editors.reveal(p, line, w),
    renamed: (a, b) => editors.renamed(a, b),
    removed: (p) => editors.removed(p),
  });

  const runBtn = h("button", { type: "button", class: "primary run", title: "Run the open file (F5)", disabled: true }, "▶ Run");
  const run = async () => {
    const path = editors.activePath();
    if (!path) return toast("Open a Python file first, then press Run.", "error");
    if (!path.endsWith(".py")) return toast("Only Python files (ending in .py) can be run.", "error");
    runBtn.disabled = true;
    try {
      if (!(await editors.flush(path))) {
        const st = editors.stateOf(path);
        if (st?.state === "conflict") toast("This file was changed elsewhere. Choose which version to keep, then run again.", "error");
        else toast(`Your file could not be saved, so it was not run. ${st?.detail ?? ""}`, "error");
        return;
      }
      consoles.run(path);
    } finally {
      runBtn.disabled = !editors.activePath();
    }
  };
  runBtn.addEventListener("click", () => void run());
  // One Stop, in the console beside the editor, which always shows the
  // current file's program; Run says whether that program is running.
  const showRun = () => {
    const p = editors.activePath();
    runBtn.disabled = !p;
    const again = consoles.runningFor(p);
    runBtn.textContent = !p ? "▶ Run" : again ? `↻ Run ${baseName(p)} again` : `▶ Run ${baseName(p)}`;
    runBtn.title = again ? "Stop the running program and run the file again (F5)" : "Run the open file (F5)";
  };
  editors.onActiveChange = (p) => {
    consoles.follow(p);
    showRun();
  };
  consoles.onChange = showRun;
  consoles.sourceOf = (p) => editors.textOf(p);

  const theme = h("select", { id: "theme", "aria-label": "Colour theme" },
    ...(["light", "dark", "contrast"] as Theme[]).map((t) => h("option", { value: t, selected: t === settings.theme }, t === "contrast" ? "high contrast" : t)));
  theme.addEventListener("change", () => {
    settings.theme = theme.value as Theme;
    applySettings(settings);
  });
  const fontLabel = h("span", { class: "font-size", "aria-live": "polite" }, `${settings.fontSize}px`);
  const font = (d: number) => {
    settings.fontSize = Math.min(28, Math.max(10, settings.fontSize + d));
    fontLabel.textContent = `${settings.fontSize}px`;
    applySettings(settings);
  };

  const ide = h("main", { class: "ide" },
    tree.el,
    h("section", { class: "editor", "aria-label": "Editor" },
      h("div", { class: "bar" }, editors.tabBar, editors.status, editors.historyBtn),
      editors.panes),
    consoles.el,
  );

  // A second view beside the code: the class (teacher) or the assignments (student).
  const admin = me.role === "professor" ? new AdminView(me.username) : null;
  const assignments = admin ? null : new AssignmentsView({
    openFolder: (p) => {
      setView(false);
      void tree.reveal(p);
    },
    beforeSubmit: async (folder) => {
      await editors.saveAll();
      return editors.openPaths().filter((p) => p.startsWith(folder + "/")).every((p) => {
        const st = editors.stateOf(p)?.state;
        return st === "saved" || st === "readonly";
      });
    },
  });
  const other = admin ?? assignments!;
  const viewSwitch = h("div", { class: "view-switch", role: "group", "aria-label": "View" },
    h("button", { type: "button", "aria-pressed": "true", id: "view-ide" }, "Code"),
    h("button", { type: "button", "aria-pressed": "false", id: admin ? "view-class" : "view-assignments" }, admin ? "Class" : "Assignments"));
  const setView = (second: boolean) => {
    viewSwitch.querySelectorAll("button").forEach((x, i) => x.setAttribute("aria-pressed", String((i === 1) === second)));
    ide.hidden = second;
    runBtn.hidden = second;
    if (second) other.show();
    else other.hide();
  };
  viewSwitch.addEventListener("click", (e) => {
    const b = (e.target as HTMLElement).closest("button");
    if (b) setView(b.id !== "view-ide");
  });

  let stopKeeping = () => {};
  const logout = async () => {
    await editors.saveAll();
    stopKeeping();
    sock.stop();
    other.hide();
    setExpiredHandler(null);
    try {
      await api.logout();
    } catch {
      /* gone already */
    }
    onLogout();
  };

  const header = h("header", { class: "top" },
    h("span", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true" }, "py"), "pythonide"),
    viewSwitch,
    runBtn,
    h("span", { class: "spacer" }),
    connEl,
    theme,
    h("span", { class: "font-controls", role: "group", "aria-label": "Font size" },
      h("button", { type: "button", "aria-label": "Smaller text", onclick: () => font(-1) }, "A−"),
      fontLabel,
      h("button", { type: "button", "aria-label": "Larger text", onclick: () => font(1) }, "A+")),
    h("span", { class: "who", title: me.username }, me.full_name || me.username, me.role === "professor" ? " (teacher)" : ""),
    h("button", { type: "button", title: "Keyboard shortcuts (F1)", onclick: () => void showKeys() }, "Keys"),
    h("button", { type: "button", onclick: () => void changePassword() }, "Password"),
    h("button", { type: "button", onclick: () => void logout() }, "Log out"),
  );

  root.append(h("div", { class: "app" }, header, ide, other.el), h("div", { id: "toasts", "aria-live": "polite" }));

  // Ctrl/Cmd+Enter runs and Ctrl/Cmd+S saves, before the editor sees them.
  window.addEventListener("keydown", (e) => {
    const mod = e.ctrlKey || e.metaKey;
    if (!mod || e.altKey) return;
    if (e.key === "Enter") {
      e.preventDefault();
      e.stopPropagation();
      if (!ide.hidden) void run();
    } else if (e.key === "s" || e.key === "S") {
      e.preventDefault();
      e.stopPropagation();
      void saveNow();
    }
  }, true);
  const saveNow = async () => {
    const p = editors.activePath();
    if (!p) return;
    if (await editors.flush(p)) toast(`Saved ${baseName(p)}.`);
    else toast(`${baseName(p)} was not saved. ${editors.stateOf(p)?.detail ?? ""}`, "error");
  };
  window.addEventListener("keydown", (e) => {
    if (e.key === "F1") {
      e.preventDefault();
      void showKeys();
    }
    if (e.key === "F5") {
      e.preventDefault();
      if (e.shiftKey) consoles.stopActive();
      else if (!ide.hidden) void run();
    }
  });

  // The workspace comes back as it was left (also from another browser):
  // consoles first, so the socket re-attaches their programs as it connects.
  void (async () => {
    const [saved, exam] = await Promise.all([loadState(), me.role === "student" ? currentExam() : Promise.resolve(null)]);
    if (exam) {
      // During an exam only its folder (and the course notes, if open) exist.
      tree.exam = { folder: exam.folder, title: exam.title, courses: exam.courses ?? [] };
      assistOff(); // closed during the exam: the editor does not ask
      editors.historyBtn.hidden = true; // closed too: it would bring back what came before
      viewSwitch.hidden = true;
      header.insertBefore(examBanner(exam, () => editors.saveAll()), connEl);
      if (saved) {
        saved.tabs = saved.tabs.filter((t) => inExam(exam, t.path));
        saved.tree = saved.tree.filter((p) => inExam(exam, p));
        if (saved.active && !inExam(exam, saved.active)) saved.active = null;
      }
    }
    if (saved) consoles.restore(saved.consoles, saved.console);
    sock.start();
    await tree.load();
    if (saved) {
      await tree.restoreOpen(saved.tree);
      await editors.restore(saved.tabs, saved.active);
    }
    // After the restore, which reopened (and restored) some already; during
    // an exam only those of its folder (the rest cannot be opened now).
    offerDrafts(me, editors, exam ? (p) => inExam(exam, p) : () => true);
    stopKeeping = keepState(() => ({
      v: 1, tabs: editors.snapshot(), active: editors.activePath(), tree: tree.openFolders(),
      consoles: consoles.snapshot(), console: consoles.activeId(),
    }));
  })();
  // For the end-to-end tests: simulate a network drop.
  (window as unknown as { pythonide: object }).pythonide = { dropConnection: () => sock.dropForTest() };
}

/** offerDrafts lists unsaved text left in this browser by an earlier visit,
 * of the files open says can be opened now. */
function offerDrafts(me: Me, editors: Editors, open: (path: string) => boolean): void {
  const drafts = listDrafts(me.username).filter((d) => open(d.path) && !editors.isOpen(d.path));
  if (drafts.length === 0) return;
  const box = h("div", { class: "drafts", role: "region", "aria-label": "Unsaved work" },
    h("p", {}, h("strong", {}, "Unsaved work from before was kept in this browser."), " Open a file to get it back:"));
  const list = h("ul");
  for (const d of drafts) {
    list.append(h("li", {},
      h("button", { type: "button", onclick: () => { void editors.open(d.path, true); box.remove(); } }, baseName(d.path)),
      ` (${new Date(d.draft.at).toLocaleString()}) `,
      h("button", { type: "button", class: "link", "aria-label": `Throw away unsaved changes to ${baseName(d.path)}`, onclick: (e: Event) => { dropDraft(me.username, d.path); (e.target as HTMLElement).closest("li")?.remove(); if (!list.children.length) box.remove(); } }, "throw away")));
  }
  box.append(list);
  if (editors.openPaths().length === 0) editors.empty.prepend(box);
  else {
    // Tabs are open (the workspace came back): above them, until dismissed.
    box.classList.add("drafts-bar");
    box.append(h("button", { type: "button", class: "link", onclick: () => box.remove() }, "Dismiss"));
    editors.panes.before(box);
  }
}

async function changePassword(): Promise<void> {
  const old = h("input", { id: "pw-old", type: "password", autocomplete: "current-password" });
  const nw = h("input", { id: "pw-new", type: "password", autocomplete: "new-password", minlength: 6 });
  const body = h("div", {},
    h("div", { class: "field" }, h("label", { for: "pw-old" }, "Current password"), old),
    h("div", { class: "field" }, h("label", { for: "pw-new" }, "New password (at least 6 characters)"), nw));
  const v = await openDialog("Change your password", body, [{ label: "Cancel", value: "" }, { label: "Change", value: "ok", primary: true }], "ok");
  if (v !== "ok") return;
  try {
    await api.changePassword(old.value, nw.value);
    toast("Your password was changed.");
  } catch (e) {
    toast(e instanceof ApiError ? e.message : String(e), "error");
  }
}

/** showKeys is the help panel: every keyboard shortcut of the IDE. */
async function showKeys(): Promise<void> {
  const mod = /Mac|iPhone|iPad/.test(navigator.platform) ? "Cmd" : "Ctrl";
  const rows: [string, string][] = [
    [`${mod}+Enter or F5`, "Run the open file (saved first)"],
    [`${mod}+S`, "Save now (files also save by themselves a second after you stop typing)"],
    ["Esc or Ctrl+C in the console, or Shift+F5", "Stop the running program"],
    ["Enter / Shift+Enter in the console", "Send the line / add a line (REPL)"],
    ["↑ / ↓ in the REPL", "Earlier lines"],
    [`${mod}+F`, "Find and replace in the file"],
    [`${mod}+/`, "Comment or uncomment the line"],
    ["Tab / Shift+Tab", "Indent / unindent (Esc, then Tab, leaves the editor)"],
    ["F2 / Del in the file list", "Rename / delete the selected file"],
    ["F1", "This list"],
  ];
  const table = h("table", { class: "grid keys", "aria-label": "Keyboard shortcuts" },
    h("tbody", {}, ...rows.map(([k, what]) => h("tr", {}, h("th", { scope: "row" }, h("kbd", {}, k)), h("td", {}, what)))));
  await openDialog("Keyboard shortcuts", table, [{ label: "Close", value: "", primary: true }]);
}
