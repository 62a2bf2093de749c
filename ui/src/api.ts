// The public HTTP API (docs/api.md), and the one place that turns its
// failures into sentences a student can act on.

export type Role = "student" | "professor";

export interface Me {
  username: string;
  role: Role;
  full_name: string;
  home: string;
}

export interface Entry {
  name: string;
  path: string;
  type: "file" | "dir" | "link";
  size: number;
  mtime: string;
  writable: boolean;
}

/** ApiError is every failed request: code and message come from the server
 * when it answered, or say that it could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter = 0,
  ) {
    super(message);
  }
}

/** Called when a request finds the session gone (401 on anything but login). */
export type ExpiredHandler = () => Promise<void>;

let onExpired: ExpiredHandler | null = null;

/** setExpiredHandler decides what a 401 does: the app shows the login form
 * over the page and retries the request once the user is back. */
export function setExpiredHandler(h: ExpiredHandler | null): void {
  onExpired = h;
}

const unreachable = "The server cannot be reached. Check your connection; if it lasts, tell your teacher.";

async function toError(res: Response): Promise<ApiError> {
  let code = "error";
  let message = `The server answered ${res.status}.`;
  try {
    const body = await res.json();
    if (body?.error?.message) {
      code = body.error.code ?? code;
      message = body.error.message;
    }
  } catch {
    if (res.status === 502 || res.status === 503 || res.status === 504) {
      code = "unavailable";
      message = "The server is not answering right now. Please try again in a moment.";
    }
  }
  const retry = parseInt(res.headers.get("Retry-After") ?? "0", 10) || 0;
  return new ApiError(res.status, code, message, retry);
}

export interface RequestOptions {
  method?: string;
  body?: BodyInit | null;
  json?: unknown;
  headers?: Record<string, string>;
  /** do not ask the user to log in again on 401 (the login call itself) */
  noReauth?: boolean;
}

/** request sends one API call; on an expired session it waits for the user
 * to log in again and retries once, so no edit is lost to an expiry. */
export async function request(path: string, o: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  let body = o.body ?? null;
  if (o.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(o.json);
  }
  const send = async () => {
    try {
      return await fetch(path, { method: o.method ?? "GET", headers, body, credentials: "same-origin" });
    } catch {
      throw new ApiError(0, "network", unreachable);
    }
  };
  let res = await send();
  if (res.status === 401 && !o.noReauth && onExpired) {
    await onExpired();
    res = await send();
  }
  if (!res.ok) throw await toError(res);
  return res;
}

export async function getJSON<T>(path: string): Promise<T> {
  return (await request(path)).json() as Promise<T>;
}

export async function sendJSON<T>(method: string, path: string, json: unknown): Promise<T | null> {
  const res = await request(path, { method, json });
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? (JSON.parse(text) as T) : null;
}

const q = (p: string) => encodeURIComponent(p);

export const api = {
  login: async (username: string, password: string): Promise<Me> => {
    const res = await request("/api/login", { method: "POST", json: { username, password }, noReauth: true });
    await res.json();
    return getJSON<Me>("/api/me");
  },
  me: async (): Promise<Me | null> => {
    try {
      return await (await request("/api/me", { noReauth: true })).json();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return null;
      throw e;
    }
  },
  logout: () => request("/api/logout", { method: "POST", noReauth: true }),
  // A wrong old password is a 401 too: it must not look like an expired session.
  changePassword: (old_password: string, new_password: string) =>
    request("/api/password", { method: "POST", json: { old_password, new_password }, noReauth: true }),

  list: async (path: string): Promise<Entry[]> =>
    (await getJSON<{ entries: Entry[] }>(`/api/files?path=${q(path)}`)).entries,
  read: async (path: string): Promise<{ text: string; etag: string }> => {
    const res = await request(`/api/files/content?path=${q(path)}`, { headers: { "Cache-Control": "no-cache" } });
    return { text: await res.text(), etag: res.headers.get("ETag") ?? "" };
  },
  /** save writes text; with etag it refuses (412 conflict) if the file changed meanwhile. */
  save: async (path: string, text: string, etag: string | null): Promise<string> => {
    const headers: Record<string, string> = { "Content-Type": "text/plain; charset=utf-8" };
    if (etag) headers["If-Match"] = etag;
    const res = await request(`/api/files/content?path=${q(path)}`, { method: "PUT", body: text, headers });
    const out = await res.json();
    return res.headers.get("ETag") ?? out.etag;
  },
  mkdir: (path: string) => sendJSON("POST", "/api/files/mkdir", { path }),
  move: (from: string, to: string) => sendJSON("POST", "/api/files/move", { from, to }),
  copy: (from: string, to: string) => sendJSON("POST", "/api/files/copy", { from, to }),
  remove: (path: string) => request(`/api/files?path=${q(path)}`, { method: "DELETE" }),
  upload: (dir: string, files: FileList | File[]) => {
    const form = new FormData();
    for (const f of Array.from(files)) form.append("file", f, f.name);
    return request(`/api/files/upload?dir=${q(dir)}`, { method: "POST", body: form });
  },
  downloadURL: (path: string) => `/api/files/download?path=${q(path)}`,

  /** setup says whether no teacher has logged in yet (a new server). */
  setup: async (): Promise<{ first_run: boolean; username?: string }> =>
    (await request("/api/setup", { noReauth: true })).json(),
  /** state is what this user's IDE had open ({} the first time). */
  state: () => getJSON<Record<string, unknown>>("/api/me/state"),
  /** saveState keeps it; keepalive lets it leave with a closing page. */
  saveState: async (state: unknown, keepalive = false): Promise<void> => {
    const res = await fetch("/api/me/state", { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(state), credentials: "same-origin", keepalive });
    if (!res.ok && res.status !== 401) throw await toError(res);
  },
};
