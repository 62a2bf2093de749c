// Unsaved editor text is kept in localStorage until the server has it, so an
// expired session, a closed tab or a crash never loses a student's work.

export interface Draft {
  text: string;
  etag: string | null; // the version the text was based on
  at: number; // when it was last typed (ms)
}

const prefix = "pythonide.draft:";

function key(user: string, path: string): string {
  return `${prefix}${user}:${path}`;
}

export function putDraft(user: string, path: string, d: Draft): void {
  try {
    localStorage.setItem(key(user, path), JSON.stringify(d));
  } catch {
    /* storage full or disabled: the server copy is all we have */
  }
}

export function getDraft(user: string, path: string): Draft | null {
  try {
    const v = localStorage.getItem(key(user, path));
    return v ? (JSON.parse(v) as Draft) : null;
  } catch {
    return null;
  }
}

export function dropDraft(user: string, path: string): void {
  try {
    localStorage.removeItem(key(user, path));
  } catch {
    /* nothing to do */
  }
}

/** listDrafts names the files of user that have unsaved text here. */
export function listDrafts(user: string): { path: string; draft: Draft }[] {
  const out: { path: string; draft: Draft }[] = [];
  const p = `${prefix}${user}:`;
  for (let i = 0; i < localStorage.length; i++) {
    const k = localStorage.key(i);
    if (!k?.startsWith(p)) continue;
    const d = getDraft(user, k.slice(p.length));
    if (d) out.push({ path: k.slice(p.length), draft: d });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

export function moveDraft(user: string, from: string, to: string): void {
  const d = getDraft(user, from);
  if (!d) return;
  dropDraft(user, from);
  putDraft(user, to, d);
}
