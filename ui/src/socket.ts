// The one WebSocket to /ws. It reconnects by itself after a network drop and
// then re-attaches every program still running, asking only for the
// messages after the last one seen (`since`), so nothing is shown twice.

export interface ServerMsg {
  type: string;
  id?: string;
  seq?: number;
  kind?: string;
  data?: string;
  prompt?: string;
  mime?: string;
  code?: number | string;
  reason?: string;
  message?: string;
  /** started: which workspace folder the program sees at which path */
  paths?: { at: string; path: string }[];
  /** error: a reference the teacher finds in the server's log */
  ref?: string;
  /** error: whether trying again may help */
  retry?: boolean;
}

export interface RunHandler {
  onMessage(m: ServerMsg): void;
  /** lastSeq is the last message number this handler has seen */
  lastSeq(): number;
  /** live says whether the program may still be running (re-attach on reconnect) */
  live(): boolean;
}

export type ConnState = "connecting" | "open" | "closed";

export class Socket {
  private ws: WebSocket | null = null;
  private handlers = new Map<string, RunHandler>();
  private retry = 0;
  private stopped = false;
  private timer = 0;
  state: ConnState = "closed";

  constructor(
    private onState: (s: ConnState) => void,
    private onOrphan: (m: ServerMsg) => void,
    /** beforeReconnect is asked before each reconnect; it checks the session and logs in again if needed */
    private beforeReconnect: () => Promise<void>,
  ) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close(1000);
    this.ws = null;
  }

  private setState(s: ConnState): void {
    this.state = s;
    this.onState(s);
  }

  private connect(): void {
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    const ws = new WebSocket(url);
    this.ws = ws;
    this.setState("connecting");
    ws.onopen = () => {
      this.retry = 0;
      this.setState("open");
      for (const [id, h] of this.handlers) {
        if (h.live()) this.sendNow({ type: "attach", id, since: h.lastSeq() });
      }
    };
    ws.onmessage = (ev) => {
      let m: ServerMsg;
      try {
        m = JSON.parse(ev.data as string);
      } catch {
        return;
      }
      const h = m.id ? this.handlers.get(m.id) : undefined;
      if (!h) return this.onOrphan(m);
      if (m.seq !== undefined && m.seq <= h.lastSeq()) return; // replayed twice
      h.onMessage(m);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setState("closed");
      if (this.stopped) return;
      const delay = Math.min(5000, 300 * 2 ** this.retry++);
      this.timer = window.setTimeout(async () => {
        try {
          await this.beforeReconnect();
        } catch {
          /* the server may still be down: try again anyway */
        }
        if (!this.stopped) this.connect();
      }, delay);
    };
  }

  private sendNow(m: object): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(m));
    return true;
  }

  /** send returns false when not connected (the caller tells the student). */
  send(m: { type: string; id: string; [k: string]: unknown }): boolean {
    return this.sendNow(m);
  }

  register(id: string, h: RunHandler): void {
    this.handlers.set(id, h);
  }

  forget(id: string): void {
    this.handlers.delete(id);
  }

  /** dropForTest closes the socket as a network failure would (e2e tests). */
  dropForTest(): void {
    this.ws?.close(4000, "test drop");
  }
}
