// Plain words for the errors beginners meet most: the last line of a
// traceback ("NameError: name 'x' is not defined") gets one or two
// sentences below it. Python's own message stays as it is, above.

interface Rule {
  kind: RegExp;
  msg?: RegExp;
  say: (m: RegExpMatchArray, kind: string, source: string) => string;
}

// Names every program can use, for a close-name suggestion.
const builtins = ["print", "input", "len", "range", "int", "float", "str", "list", "dict", "set", "tuple", "bool", "sum", "min", "max", "abs", "round", "sorted", "enumerate", "zip", "open", "type", "True", "False", "None", "isinstance", "reversed", "map", "filter", "any", "all", "chr", "ord", "format"];

/** distance is the edit distance of a and b (small words only). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** closeName is the name of source (or a builtin) nearest to name, if one is close. */
export function closeName(name: string, source: string): string | null {
  const names = new Set([...builtins, ...(source.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? [])]);
  names.delete(name);
  let best: string | null = null;
  let bestD = Math.max(1, Math.min(2, Math.floor(name.length / 3)));
  for (const n of names) {
    if (Math.abs(n.length - name.length) > bestD) continue;
    const dd = n.toLowerCase() === name.toLowerCase() ? 0 : distance(name, n);
    if (dd <= bestD && (best === null || dd < bestD)) {
      best = n;
      bestD = dd;
    }
  }
  return best;
}

const rules: Rule[] = [
  {
    kind: /^NameError$/, msg: /name '([^']+)' is not defined(?:\. Did you mean: '([^']+)'\?)?/,
    say: (m, _k, source) => {
      const near = m[2] ?? closeName(m[1], source);
      return `Python does not know the name ${m[1]}: nothing called ${m[1]} was made before this line${near ? ` — did you mean ${near}?` : "."} Names must match exactly (capital letters count), and a variable needs a value (x = …) before it is used.`;
    },
  },
  {
    kind: /^(IndentationError|TabError)$/,
    say: (_m, kind) => kind === "TabError"
      ? "Tabs and spaces are mixed at the start of these lines. Indent with spaces only (the editor's Tab key puts four)."
      : "The spaces at the start of a line do not line up. After a line ending in a colon (if, for, while, def) the next lines are indented by four spaces, and every line of that block by the same amount.",
  },
  {
    kind: /^SyntaxError$/, msg: /was never closed|unexpected EOF|unterminated (string|triple-quoted)|closing parenthesis/,
    say: (m) => /unterminated/.test(m[0])
      ? "A text in quotes was started and not finished: every \" or ' needs its partner on the same line."
      : "A bracket was opened and not closed (or closed with the wrong kind): every ( [ { needs its ) ] } — look at the line shown and the line before it.",
  },
  {
    kind: /^SyntaxError$/,
    say: () => "Python could not read this line, so nothing ran. Usual causes: a missing colon at the end of if / for / while / def, a missing bracket or quote, or = where == was meant in a comparison.",
  },
  {
    kind: /^TypeError$/, msg: /can only concatenate str \(not "(int|float)"\) to str|unsupported operand type\(s\) for [-+*/]+: '(int|float|str)' and '(int|float|str)'|not supported between instances of '(str|int|float)' and '(str|int|float)'/,
    say: () => "Text and a number were mixed. input() always gives text, even when a number was typed: make it a number first, for example age = int(input(\"Age? \")) — or make the number text with str(n) to join it to other text.",
  },
  {
    kind: /^TypeError$/, msg: /takes (\d+) positional arguments? but (\d+) (?:was|were) given|missing (\d+) required positional argument/,
    say: () => "The function was called with a different number of values than its def line asks for: compare the call with the names in brackets after def.",
  },
  {
    kind: /^TypeError$/, msg: /'(\w+)' object is not (callable|subscriptable|iterable)/,
    say: (m) => m[2] === "callable"
      ? `A ${m[1]} was used like a function (with brackets after it). Maybe a variable has the same name as a function, or a * is missing, as in 2(3 + 4).`
      : m[2] === "subscriptable" ? `A ${m[1]} was used with [ ], which only lists, texts and dictionaries have.` : `A ${m[1]} cannot be gone through with for; use range(…) to count.`,
  },
  { kind: /^ZeroDivisionError$/, say: () => "A number was divided by zero, which has no answer. Check the number you divide by first, for example with if d != 0:." },
  {
    kind: /^IndexError$/,
    say: () => "There is no item at that position. Positions start at 0, so a list of 3 items has positions 0, 1 and 2; len(…) says how many items there are.",
  },
  {
    kind: /^KeyError$/, msg: /^(.*)$/,
    say: (m) => `The dictionary has no key ${m[1]}. Check the spelling (and capital letters), or use .get(${m[1]}) which gives None instead of stopping.`,
  },
  {
    kind: /^ValueError$/, msg: /invalid literal for int\(\) with base 10: (.*)|could not convert string to float: (.*)/,
    say: (m) => `The text ${m[1] ?? m[2]} is not a number, so it cannot be turned into one. Check what was typed — or catch it with try: … except ValueError:.`,
  },
  {
    kind: /^AttributeError$/, msg: /'(\w+)' object has no attribute '(\w+)'/,
    say: (m) => `A ${m[1]} has nothing called ${m[2]}. Check the spelling, and that the variable holds what you think it does (print(type(x)) shows it).`,
  },
  {
    kind: /^(ModuleNotFoundError|ImportError)$/, msg: /No module named '([^']+)'/,
    say: (m) => `There is no module called ${m[1]} here. Check the spelling; you can import Python's own modules, those installed on the server, and your own files in the same folder (without .py).`,
  },
  { kind: /^RecursionError$/, say: () => "A function kept calling itself without end. It needs a case where it returns without calling itself again." },
  { kind: /^EOFError$/, say: () => "input() found no more input: the program asked for more lines than were typed." },
];

const lastLineRe = /^([A-Za-z_][\w.]*(?:Error|Exception|Interrupt)|KeyError|StopIteration)(?::\s?(.*))?$/;

/** explain gives plain words for the last line of a traceback, or null;
 * source (the program's text, when known) offers close names. */
export function explain(traceback: string, source = ""): string | null {
  const lines = traceback.trimEnd().split("\n");
  const last = lines[lines.length - 1]?.trim() ?? "";
  const m = lastLineRe.exec(last);
  if (!m) return null;
  const kind = m[1].split(".").pop()!;
  const msg = m[2] ?? "";
  for (const r of rules) {
    if (!r.kind.test(kind)) continue;
    if (!r.msg) return r.say([msg, msg] as unknown as RegExpMatchArray, kind, source);
    const mm = r.msg.exec(msg);
    if (mm) return r.say(mm, kind, source);
  }
  return null;
}
