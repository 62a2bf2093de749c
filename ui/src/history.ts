// A file's earlier versions (every save keeps the one it replaced) and the
// trash (deleted files and folders, kept for a while): list, compare with
// the current text, restore. GET/POST /api/files/history… and /trash….
import { getJSON, sendJSON, ApiError } from "./api";
import { baseName, clear, h, toast } from "./dom";
import { open as openDialog } from "./dialog";
import { lineDiff } from "./diff";

interface Version {
  id: string;
  saved_at: string;
  size: number;
  etag: string;
}

interface TrashItem {
  id: string;
  path: string;
  type: string;
  size: number;
  deleted_at: string;
}

const q = encodeURIComponent;
const when = (t: string) => new Date(t).toLocaleString();
const size = (n: number) => (n < 1024 ? `${n} bytes` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`);
const message = (e: unknown) => (e instanceof ApiError ? e.message : String(e));

function diffTable(current: string, old: string): HTMLElement {
  const table = h("div", { class: "diff", role: "table", "aria-label": "Differences" });
  table.append(h("div", { class: "diff-head", role: "row" }, h("span", { role: "columnheader" }, "Now"), h("span", { role: "columnheader" }, "That version")));
  for (const row of lineDiff(current, old)) {
    table.append(h("div", { class: `diff-row ${row.kind}`, role: "row" }, h("pre", { role: "cell" }, row.left ?? ""), h("pre", { role: "cell" }, row.right ?? "")));
  }
  return table;
}

/** showHistory lists path's versions; choosing one shows what differs from
 * current, and Restore makes it the file's content (a new save, so what is
 * there now becomes a version too). It resolves true after a restore. */
export async function showHistory(path: string, current: string): Promise<boolean> {
  let versions: Version[];
  try {
    versions = (await getJSON<{ versions: Version[] }>(`/api/files/history?path=${q(path)}`)).versions;
  } catch (e) {
    toast(message(e), "error");
    return false;
  }
  const list = h("ul", { class: "versions", role: "listbox", "aria-label": "Versions" });
  const view = h("div", { class: "version-view" }, h("p", { class: "muted" }, versions.length ? "Choose a version to see what changed since." : "No earlier versions yet: each save keeps the one it replaces."));
  let chosen: Version | null = null;
  for (const v of versions) {
    const item = h("li", { role: "option", tabindex: "0", "aria-selected": "false", "data-id": v.id }, h("span", {}, when(v.saved_at)), h("span", { class: "muted" }, ` · ${size(v.size)}`));
    const pick = async () => {
      list.querySelectorAll("li").forEach((x) => x.setAttribute("aria-selected", String(x === item)));
      chosen = v;
      clear(view);
      view.append(h("p", { class: "muted" }, "Loading…"));
      try {
        const res = await fetch(`/api/files/history/content?path=${q(path)}&version=${q(v.id)}`, { credentials: "same-origin" });
        if (!res.ok) throw new Error((await res.json().catch(() => null))?.error?.message ?? `HTTP ${res.status}`);
        const old = await res.text();
        if (chosen !== v) return;
        clear(view);
        view.append(diffTable(current, old));
      } catch (e) {
        clear(view);
        view.append(h("p", { class: "search-error" }, message(e)));
      }
    };
    item.addEventListener("click", () => void pick());
    item.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); void pick(); } });
    list.append(item);
  }
  const body = h("div", { class: "history" }, list, view);
  for (;;) {
    const v = await openDialog(`History of ${baseName(path)}`, body, [{ label: "Close", value: "" }, { label: "Restore this version", value: "restore", primary: true }]);
    if (v !== "restore") return false;
    if (!chosen) {
      toast("Choose a version first.", "error");
      continue;
    }
    try {
      await sendJSON("POST", "/api/files/history/restore", { path, version: (chosen as Version).id });
      toast(`${baseName(path)} is back as it was at ${when((chosen as Version).saved_at)}; what it held before is a version now.`);
      return true;
    } catch (e) {
      toast(message(e), "error");
      return false;
    }
  }
}

/** showTrash lists what was deleted and restores one; it resolves to the
 * restored path, or "". */
export async function showTrash(user?: string): Promise<string> {
  let items: TrashItem[];
  try {
    items = (await getJSON<{ items: TrashItem[] }>(`/api/files/trash${user ? `?user=${q(user)}` : ""}`)).items;
  } catch (e) {
    toast(message(e), "error");
    return "";
  }
  return new Promise((resolve) => {
    let restored = "";
    const rows = h("ul", { class: "trash-list", "aria-label": "Deleted files and folders" });
    if (items.length === 0) rows.append(h("li", { class: "muted" }, "The trash is empty. Deleted files and folders stay here for 14 days."));
    for (const it of items) {
      const btn = h("button", { type: "button", "aria-label": `Restore ${it.path}` }, "Restore");
      btn.addEventListener("click", async () => {
        btn.disabled = true;
        try {
          const r = await sendJSON<{ path: string }>("POST", "/api/files/trash/restore", { id: it.id });
          restored = r?.path ?? it.path;
          toast(`Restored to ${restored}.`);
          li.remove();
        } catch (e) {
          btn.disabled = false;
          toast(message(e), "error");
        }
      });
      const li = h("li", {}, h("span", { class: "trash-path" }, it.path + (it.type === "dir" ? "/" : "")), h("span", { class: "muted" }, ` · ${size(it.size)} · deleted ${when(it.deleted_at)} `), btn);
      rows.append(li);
    }
    void openDialog("Trash", h("div", {}, rows), [{ label: "Close", value: "", primary: true }]).then(() => resolve(restored));
  });
}
