// Search across files, above the tree: names and text in one folder (the
// student's home, or the course folder / teacher's folder the selection is
// in), through GET /api/files/search. A result opens the file at its line.
import { ApiError, getJSON } from "./api";
import { clear, h } from "./dom";

export interface Match {
  path: string;
  type: "name" | "line";
  line: number;
  column: number;
  text: string;
}

interface Result {
  query: string;
  path: string;
  matches: Match[];
  truncated: boolean;
  files_searched: number;
}

export class Search {
  readonly el: HTMLElement;
  private input: HTMLInputElement;
  private results: HTMLElement;
  private seq = 0;

  constructor(private scope: () => { path: string; name: string }, private open: (m: Match) => void) {
    this.input = h("input", { type: "search", id: "file-search", placeholder: "Search files…", autocomplete: "off", spellcheck: "false", "aria-label": "Search in files (names and text)" });
    this.results = h("div", { class: "search-results", role: "region", "aria-label": "Search results", hidden: true });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        void this.run();
      } else if (e.key === "Escape") {
        this.reset();
      }
    });
    this.input.addEventListener("input", () => { if (!this.input.value) this.reset(); });
    this.el = h("div", { class: "file-search" }, this.input, this.results);
  }

  private reset(): void {
    this.seq++;
    this.input.value = "";
    clear(this.results);
    this.results.hidden = true;
  }

  private async run(): Promise<void> {
    const q = this.input.value.trim();
    if (!q) return this.reset();
    const where = this.scope();
    const mine = ++this.seq;
    clear(this.results);
    this.results.hidden = false;
    this.results.append(h("p", { class: "muted" }, `Searching ${where.name}…`));
    let r: Result;
    try {
      r = await getJSON<Result>(`/api/files/search?path=${encodeURIComponent(where.path)}&q=${encodeURIComponent(q)}`);
    } catch (e) {
      if (mine !== this.seq) return;
      clear(this.results);
      this.results.append(h("p", { class: "search-error", role: "alert" }, e instanceof ApiError ? e.message : String(e)));
      return;
    }
    if (mine !== this.seq) return; // a newer search, or cleared
    clear(this.results);
    const n = r.matches.length;
    this.results.append(h("p", { class: "muted search-summary" },
      n === 0 ? `Nothing found for “${r.query}” in ${where.name}.` :
        `${n}${r.truncated ? "+" : ""} found in ${where.name}${r.truncated ? " (the first ones; search for something longer to see others)" : ""}.`));
    const list = h("ul", { class: "search-list" });
    for (const m of r.matches) {
      const rel = m.path.startsWith(where.path + "/") ? m.path.slice(where.path.length + 1) : m.path;
      const label = m.type === "name" ? h("span", { class: "hit-text" }, mark(rel, r.query)) : h("span", { class: "hit-text" }, mark(m.text.trim(), r.query));
      list.append(h("li", {},
        h("button", { type: "button", class: "hit", title: m.path + (m.line ? `, line ${m.line}` : ""), onclick: () => this.open(m) },
          h("span", { class: "hit-where" }, m.type === "name" ? "name" : `${rel}:${m.line}`), label)));
    }
    this.results.append(list);
  }
}

/** mark highlights the first case-insensitive occurrence of q in text. */
function mark(text: string, q: string): Node {
  const i = text.toLowerCase().indexOf(q.toLowerCase());
  if (i < 0) return document.createTextNode(text);
  const f = document.createDocumentFragment();
  f.append(text.slice(0, i), h("mark", {}, text.slice(i, i + q.length)), text.slice(i + q.length));
  return f;
}
