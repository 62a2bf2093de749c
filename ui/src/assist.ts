// Editor assistance from the server (POST /api/assist/check and
// /api/assist/complete): Python's own syntax error underlined ~300 ms after
// typing stops, completions and signature help from jedi on the student's
// files and the standard library. Every request supersedes the previous one
// of its kind (aborted), so typing on never waits for an old answer.
import { linter, lintGutter, type Diagnostic } from "@codemirror/lint";
import type { CompletionContext, CompletionResult } from "@codemirror/autocomplete";
import { EditorState, StateEffect, StateField, type Extension } from "@codemirror/state";
import { EditorView, showTooltip, type Tooltip } from "@codemirror/view";
import { h, toast } from "./dom";

const maxSource = 256 << 10;

interface CheckAnswer {
  ok: boolean;
  skipped?: string;
  error?: { line: number; column: number; end_line?: number; end_column?: number; message: string };
}

interface CompleteAnswer {
  available?: boolean;
  limited?: boolean; // a shared completer answered: none of the student's other files
  message?: string;
  completions: { name: string; type: string; signature?: string; doc?: string }[];
  signatures: { name: string; params: string[]; index: number | null }[];
}

const inflight: Record<string, AbortController | undefined> = {};

// During an exam the server closes both routes to the student: asking
// anyway would put a refusal in the teacher's log at every pause in typing.
let off = false;
/** assistOff stops the editor asking the server (for the rest of the page). */
export function assistOff(): void {
  off = true;
}

async function post<T>(kind: "check" | "complete", body: unknown): Promise<T | null> {
  if (off) return null;
  inflight[kind]?.abort();
  const ctl = new AbortController();
  inflight[kind] = ctl;
  try {
    const res = await fetch(`/api/assist/${kind}`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      credentials: "same-origin", signal: ctl.signal,
    });
    if (!res.ok) return null;
    return (await res.json()) as T;
  } catch {
    return null; // aborted by newer typing, or the server is away: no marks, nothing breaks
  } finally {
    if (inflight[kind] === ctl) inflight[kind] = undefined;
  }
}

let noJediSaid = false;
function noJedi(): void {
  if (noJediSaid) return;
  noJediSaid = true;
  toast("Completions from Python's library and your other files are not available on this server (jedi is not installed); names in this file still complete.");
}

/** posOf is the document offset of a 1-based line and column (clamped). */
function posOf(state: EditorState, line: number, col: number): number {
  const l = state.doc.line(Math.min(Math.max(1, line), state.doc.lines));
  return Math.min(l.from + Math.max(0, col - 1), l.to);
}

/** assist is the editor extension for the file at path. */
export function assist(path: string): Extension {
  const check = linter(async (view): Promise<Diagnostic[]> => {
    const source = view.state.doc.toString();
    if (source.length > maxSource) return [];
    const a = await post<CheckAnswer>("check", { path, source });
    if (!a || a.ok || !a.error || view.state.doc.toString() !== source) return [];
    const e = a.error;
    let from = posOf(view.state, e.line, e.column);
    let to = e.end_line ? posOf(view.state, e.end_line, e.end_column ?? e.column + 1) : from + 1;
    // Python points past the end of a line ("expected ':'"): mark its last character.
    const line = view.state.doc.lineAt(from);
    if (from >= line.to && line.to > line.from) from = line.to - 1;
    if (to <= from) to = Math.min(from + 1, line.to > from ? line.to : view.state.doc.length);
    return [{ from, to, severity: "error", message: `${e.message} (line ${e.line}, column ${e.column})`, source: "Python" }];
  }, { delay: 300 });

  const complete = async (ctx: CompletionContext): Promise<CompletionResult | null> => {
    const word = ctx.matchBefore(/[A-Za-z_][A-Za-z0-9_]*$/);
    const after = ctx.matchBefore(/[.]$|(import |from )\s*$/);
    if (!ctx.explicit && !word && !after) return null;
    const source = ctx.state.doc.toString();
    if (source.length > maxSource) return null;
    const line = ctx.state.doc.lineAt(ctx.pos);
    const a = await post<CompleteAnswer>("complete", { path, source, line: line.number, column: ctx.pos - line.from + 1 });
    if (ctx.aborted || !a) return null;
    if (a.available === false) {
      noJedi();
      return null;
    }
    if (a.completions.length === 0) return null;
    // A limited answer says so above its names: the student's own modules are missing for now.
    const section = a.limited ? { name: a.message || "Names from your other files are not offered just now." } : undefined;
    return {
      from: word ? word.from : ctx.pos,
      options: a.completions.map((c) => ({ label: c.name, type: c.type === "function" ? "function" : c.type === "module" ? "namespace" : c.type === "class" ? "class" : c.type === "keyword" ? "keyword" : "variable", detail: c.signature, info: c.doc || undefined, section })),
      validFor: /^[A-Za-z_][A-Za-z0-9_]*$/,
    };
  };

  return [
    check,
    lintGutter(),
    EditorState.languageData.of(() => [{ autocomplete: complete }]),
    signatureHelp(path),
  ];
}

// Signature help: inside a call's brackets, the function's parameters with
// the current one marked, from the same completion answer.
const setSig = StateEffect.define<Tooltip | null>();
const sigField = StateField.define<Tooltip | null>({
  create: () => null,
  update(v, tr) {
    for (const e of tr.effects) if (e.is(setSig)) return e.value;
    // Until the next answer: gone once the caret moves before the call.
    return v && tr.state.selection.main.head < v.pos - 1 ? null : v;
  },
  provide: (f) => showTooltip.from(f),
});

function signatureHelp(path: string): Extension {
  let timer = 0;
  const ask = (view: EditorView) => {
    const pos = view.state.selection.main.head;
    const before = view.state.sliceDoc(Math.max(0, pos - 200), pos);
    // Inside an open call: more ( than ) since the last newline.
    const line = before.slice(before.lastIndexOf("\n") + 1);
    if ((line.match(/\(/g)?.length ?? 0) <= (line.match(/\)/g)?.length ?? 0)) {
      if (view.state.field(sigField)) view.dispatch({ effects: setSig.of(null) });
      return;
    }
    const source = view.state.doc.toString();
    if (source.length > maxSource) return;
    const l = view.state.doc.lineAt(pos);
    void post<CompleteAnswer>("complete", { path, source, line: l.number, column: pos - l.from + 1 }).then((a) => {
      if (!a || view.state.doc.toString() !== source) return;
      if (a.available === false) return noJedi();
      const s = a.signatures[0];
      if (!s) return view.dispatch({ effects: setSig.of(null) });
      view.dispatch({ effects: setSig.of({
        pos, above: true, strictSide: false,
        create: () => {
          const dom = h("div", { class: "cm-signature", role: "tooltip" }, `${s.name}(`);
          s.params.forEach((p, i) => {
            if (i) dom.append(", ");
            dom.append(i === s.index ? h("strong", {}, p) : p);
          });
          dom.append(")");
          return { dom };
        },
      }) });
    });
  };
  return [
    sigField,
    EditorView.updateListener.of((u) => {
      if (!u.docChanged && !u.selectionSet) return;
      clearTimeout(timer);
      timer = window.setTimeout(() => ask(u.view), 250);
    }),
  ];
}
