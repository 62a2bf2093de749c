// The workspace as the user left it: open tabs with cursor and scroll, the
// active tab, the tree's open folders and the consoles of programs still
// running. Kept on the server (GET/PUT /api/me/state), so a reload, a new
// login or another browser brings it back.
import { api } from "./api";

export interface TabState {
  path: string;
  writable: boolean;
  anchor: number;
  head: number;
  top: number;
}

export interface ConsoleState {
  id: string;
  key: string;
  title: string;
  kind: "script" | "repl";
}

export interface WorkspaceState {
  v: 1;
  tabs: TabState[];
  active: string | null;
  tree: string[];
  consoles: ConsoleState[];
  console: string | null;
}

/** load reads the saved state; an old, broken or missing one is empty. */
export async function loadState(): Promise<WorkspaceState | null> {
  try {
    const s = (await api.state()) as Partial<WorkspaceState>;
    if (s.v !== 1) return null;
    return {
      v: 1,
      tabs: Array.isArray(s.tabs) ? s.tabs.filter((t) => typeof t?.path === "string") : [],
      active: typeof s.active === "string" ? s.active : null,
      tree: Array.isArray(s.tree) ? s.tree.filter((p) => typeof p === "string") : [],
      consoles: Array.isArray(s.consoles) ? s.consoles.filter((c) => typeof c?.id === "string" && typeof c?.key === "string") : [],
      console: typeof s.console === "string" ? s.console : null,
    };
  } catch {
    return null; // the IDE starts as new; nothing is lost
  }
}

/** keepState saves collect()'s state whenever it changed (looked at every
 * second, so typing and scrolling cost one small request at most per
 * second) and once more when the page is hidden or closed. */
export function keepState(collect: () => WorkspaceState): () => void {
  let last = JSON.stringify(collect());
  let busy = false;
  const save = (keepalive: boolean) => {
    const now = JSON.stringify(collect());
    if (now === last || (busy && !keepalive)) return;
    busy = true;
    api.saveState(JSON.parse(now), keepalive).then(() => { last = now; }, () => { /* tried again next second */ })
      .finally(() => { busy = false; });
  };
  const timer = window.setInterval(() => save(false), 1000);
  const hidden = () => { if (document.visibilityState === "hidden") save(true); };
  const leave = () => save(true);
  document.addEventListener("visibilitychange", hidden);
  window.addEventListener("pagehide", leave);
  return () => {
    save(true);
    clearInterval(timer);
    document.removeEventListener("visibilitychange", hidden);
    window.removeEventListener("pagehide", leave);
  };
}
