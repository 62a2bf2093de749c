"""pythonide's editor assistant: syntax checks and completions for the editor.

Started by the server in the sandbox (internal/assist), like a student's
program but never running any of their code:

    python3 -I pythonide_assist.py check
    python3 -I pythonide_assist.py complete ROOT [--warm]

A checker parses the source it is sent, nothing else: it sees no home. A
completer answers with jedi over the home mounted read-only at ROOT (and the
course folders); it imports no module of the home or course folders, and
loads only the system's compiled modules.

Requests arrive on stdin, one JSON object per line; answers go to the
original stdout, one JSON object per line, with the request's "id". Nothing
else is ever written there: fd 1 and sys.stdout point to stderr once the
answers' descriptor is kept aside.

    first line out: {"ready": true, "jedi": true|false, "python": "3.11.2"}
    {"id": 1, "op": "check", "source": "...", "path": "hw.py"}
      -> {"id": 1, "ok": true}
       | {"id": 1, "ok": false, "error": {"line", "column", "end_line", "end_column", "message"}}
       | {"id": 1, "ok": false, "skipped": "nested"}
    {"id": 2, "op": "complete", "source": "...", "path": "/home/student/hw.py", "line": 2, "column": 6}
      -> {"id": 2, "completions": [...], "signatures": [...], "incomplete": true?}
    {"op": "cancel", "id": 2}
      -> request 2, if still being answered, answers {"id": 2, "cancelled": true}

Lines and columns are 1-based, columns in characters (code points); a
completion's column is where the cursor is (the end of "math." is column 6).
An answer may carry "recycle": true: the worker has grown and ends after it.
"""

import ast
import gc
import json
import os
import resource
import signal
import sys
import threading
import time
import warnings

MAX_NAMES = 200  # completions in an answer
MAX_DETAILED = 50  # completions given a signature and a doc line
DETAIL_BUDGET = 0.1  # seconds spent working those details out at most
MAX_SIGNATURES = 8
MAX_PARAMS = 32
MAX_TEXT = 240  # characters of a signature, a doc line or a parameter
# Peak RSS (ru_maxrss, KiB) after which a worker ends once it has answered,
# to be replaced by a fresh one: a parse's memory is not given back.
RECYCLE_KB = {"check": 64 * 1024, "complete": 192 * 1024}
_recycle_kb = RECYCLE_KB["complete"]

# The answers' channel: the original stdout, kept aside; fd 1 then points to
# stderr, so nothing imported or parsed can write an answer.
_out = os.fdopen(os.dup(1), "wb", buffering=0)
os.dup2(2, 1)
sys.stdout = sys.stderr
_out_lock = threading.Lock()


def send(obj):
    data = (json.dumps(obj, ensure_ascii=True, separators=(",", ":")) + "\n").encode("ascii")
    with _out_lock:
        view = memoryview(data)
        while view:
            n = _out.write(view)
            view = view[n:]


def clip(s, n=MAX_TEXT):
    s = s if isinstance(s, str) else str(s)
    return s if len(s) <= n else s[: n - 1] + "\u2026"


# --- syntax check ------------------------------------------------------------


def location(e, source):
    line = e.lineno if isinstance(e.lineno, int) and e.lineno > 0 else 1
    col = e.offset if isinstance(e.offset, int) and e.offset > 0 else 1
    end_line = e.end_lineno if isinstance(e.end_lineno, int) and e.end_lineno > 0 else line
    end_col = e.end_offset if isinstance(e.end_offset, int) else 0
    if (end_line, end_col) <= (line, col):
        end_line, end_col = line, col + 1
    return {"line": line, "column": col, "end_line": end_line, "end_column": end_col, "message": clip(e.msg or "invalid syntax", 500)}


def check(req):
    source = req.get("source")
    if not isinstance(source, str):
        source = ""
    name = clip(req.get("path") or "<editor>", 400)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            # The parser's errors, then the compiler's ("'return' outside
            # function"): what Python says before it runs a line. Compiling
            # makes code; none of it is run.
            tree = compile(source, name, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
            compile(tree, name, "exec", dont_inherit=True)
        except SyntaxError as e:  # IndentationError and TabError too
            return {"ok": False, "error": location(e, source)}
        except (RecursionError, MemoryError):
            return {"ok": False, "skipped": "nested"}
        except ValueError as e:  # "source code string cannot contain null bytes"
            i = source.find("\0")
            if i < 0:
                return {"ok": False, "skipped": "invalid"}
            line = source.count("\n", 0, i) + 1
            col = i - (source.rfind("\n", 0, i) + 1) + 1
            return {"ok": False, "error": {"line": line, "column": col, "end_line": line, "end_column": col + 1, "message": clip(str(e), 500)}}
    return {"ok": True}


# --- completions -------------------------------------------------------------

jedi = None
SYSTEM_PATH = [p for p in sys.path if p]
ROOT = None
_projects = {}


def load_jedi():
    """Imports and tames jedi: no module is imported to be looked at (a
    system compiled module excepted, from the system's own folders), nothing
    is written to disk."""
    global jedi
    try:
        import jedi as j
        import parso.cache
        from jedi.inference.compiled import access
    except Exception:
        return False
    j.settings.auto_import_modules = []
    system = set(SYSTEM_PATH)
    original = access.load_module

    def load_module(inference_state, dotted_name, sys_path):
        # jedi imports a compiled module (a .so) to look at it, which runs
        # its package's __init__.py: only ever from the system's folders.
        return original(inference_state, dotted_name=dotted_name, sys_path=[p for p in sys_path if p in system])

    access.load_module = load_module
    # Parsed trees stay in memory: parso's pickles on disk would need a
    # writable cache folder (there is none under Landlock) and be read back.
    import parso.grammar

    save = parso.cache.try_to_save_module

    def try_to_save_module(hashed_grammar, file_io, module, lines, pickling=True, cache_path=None):
        return save(hashed_grammar, file_io, module, lines, pickling=False, cache_path=cache_path)

    parso.cache.try_to_save_module = parso.grammar.try_to_save_module = try_to_save_module
    parso.cache._load_from_file_system = lambda *a, **k: None
    jedi = j
    return True


def project(folder, keep=True):
    """The project of a file in folder: the script's folder first on the
    path, then the system's, as the program would see it (keep: remember it
    for the folder's next request)."""
    p = _projects.get(folder)
    if p is None:
        p = jedi.Project(ROOT or folder, sys_path=[folder] + SYSTEM_PATH, smart_sys_path=False, load_unsafe_extensions=False)
        if keep:
            if len(_projects) > 64:
                _projects.clear()
            _projects[folder] = p
    return p


COMPANIONS = "/tmp/pythonide-companions"
_companion_seq = 0


def companions(modules, name):
    """A folder of its own for one request of a shared completer (which
    sees no home): the modules the server sent (the student's own files
    the source imports), written as <module>.py beside the file name; None
    when there is nowhere to write them (no private /tmp, as under Landlock
    alone) or nothing valid was sent."""
    global _companion_seq
    if not isinstance(modules, dict) or not modules:
        return None
    _companion_seq += 1
    folder = os.path.join(COMPANIONS, str(_companion_seq))
    try:
        os.makedirs(folder)
        for mod, text in list(modules.items())[:8]:
            if isinstance(mod, str) and mod.isidentifier() and isinstance(text, str) and mod + ".py" != name:
                with open(os.path.join(folder, mod + ".py"), "w", encoding="utf-8", errors="replace") as f:
                    f.write(text)
    except OSError:
        forget_companions(folder)
        return None
    except BaseException:  # cancelled by newer typing while writing them
        forget_companions(folder)
        raise
    return folder


def forget_companions(folder):
    """Removes a request's modules, from the disk and from parso's memory,
    so the next request (maybe another student's) finds nothing of them."""
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    try:
        import parso.cache

        for items in parso.cache.parser_cache.values():
            for key in [k for k in items if str(k).startswith(folder + os.sep)]:
                del items[key]
    except Exception:
        pass


def first_line(doc):
    for line in (doc or "").splitlines():
        line = line.strip()
        if line:
            return clip(line)
    return None


_details = {}  # a system name's signature and doc line, by full name


def system_name(c):
    """The key of c's details when they cannot change: a name of the
    standard library or of an installed package, not of the home."""
    try:
        path = c.module_path
        full = c.full_name
    except Exception:
        return None
    if path is None:  # builtins and keywords
        return ("", c.name, c.type, full)
    if not full or not any(str(path).startswith(p + os.sep) for p in SYSTEM_PATH):
        return None
    return (str(path), c.name, c.type, full)


def details(c):
    d = {}
    try:
        sigs = c.get_signatures()
        if sigs:
            d["signature"] = clip(sigs[0].to_string())
    except Exception:
        pass
    try:
        doc = first_line(c.docstring(raw=True))
        if doc:
            d["doc"] = doc
    except Exception:
        pass
    return d


def complete(req):
    source = req.get("source")
    if not isinstance(source, str):
        source = ""
    path = req.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        path = os.path.join(ROOT or "/", "untitled.py")
    from parso import split_lines

    lines = split_lines(source)
    line = req.get("line") if isinstance(req.get("line"), int) else 1
    line = min(max(line, 1), len(lines))
    column = req.get("column") if isinstance(req.get("column"), int) else 1
    column = min(max(column - 1, 0), len(lines[line - 1]))

    folder = companions(req.get("modules"), os.path.basename(path))
    try:
        if folder:
            path = os.path.join(folder, os.path.basename(path))
        script = jedi.Script(source, path=path, project=project(os.path.dirname(path), keep=folder is None), environment=_env)
        return answer(script, line, column)
    finally:
        if folder:
            forget_companions(folder)


def answer(script, line, column):
    found = script.complete(line, column)
    out = []
    details_until = time.monotonic() + DETAIL_BUDGET
    incomplete = False
    for c in found:
        typed = c.name[: len(c.name) - len(c.complete)] if isinstance(c.complete, str) else ""
        if c.name.startswith("_") and not typed.startswith("_"):
            continue  # private and dunder names only once asked for
        if len(out) >= MAX_NAMES:
            incomplete = True
            break
        item = {"name": c.name, "type": c.type}
        if len(out) < MAX_DETAILED:
            key = system_name(c)
            detail = _details.get(key) if key else None
            if detail is None and time.monotonic() < details_until:
                detail = details(c)
                if key:
                    if len(_details) > 20000:
                        _details.clear()
                    _details[key] = detail
            if detail:
                item.update(detail)
        out.append(item)
    sigs = []
    for s in script.get_signatures(line, column)[:MAX_SIGNATURES]:
        sigs.append({
            "name": clip(s.name),
            "params": [clip(p.to_string()) for p in s.params[:MAX_PARAMS]],
            "index": s.index,
        })
    ans = {"completions": out, "signatures": sigs}
    if incomplete:
        ans["incomplete"] = True
    return ans


# --- the loop ----------------------------------------------------------------

_state = threading.Lock()
_current = None  # id of the request being answered
_interruptible = False


class Cancelled(BaseException):
    pass


def on_interrupt(signum, frame):
    if _interruptible:
        raise Cancelled()


def reader(requests):
    """Reads requests; a cancel of the request being answered interrupts it
    at once (jedi is Python code, so it stops at the next line it runs)."""
    import _thread

    for raw in sys.stdin.buffer:
        try:
            req = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(req, dict):
            continue
        if req.get("op") == "cancel":
            with _state:
                if _current is not None and req.get("id") == _current:
                    _thread.interrupt_main()
            continue
        requests.append(req)
        _wake.release()
    requests.append(None)
    _wake.release()


_wake = threading.Semaphore(0)


def serve(handle):
    global _current, _interruptible
    requests = []
    threading.Thread(target=reader, args=(requests,), daemon=True).start()
    while True:
        _wake.acquire()
        req = requests.pop(0)
        if req is None:
            return
        rid = req.get("id")
        try:
            with _state:
                _current = rid
            _interruptible = True
            try:
                ans = handle(req)
            finally:
                _interruptible = False
        except Cancelled:
            ans = {"cancelled": True}
        except (RecursionError, MemoryError):
            ans = {"skipped": "nested"}
        except Exception as e:
            ans = {"failed": clip("%s: %s" % (type(e).__name__, e))}
        with _state:
            _current = None
        ans["id"] = rid
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > _recycle_kb
        if grown:
            ans["recycle"] = True
        send(ans)
        if grown:
            return


_env = None


def main(argv):
    global ROOT, _env, _recycle_kb
    warnings.simplefilter("ignore")
    signal.signal(signal.SIGINT, on_interrupt)
    mode = argv[1] if len(argv) > 1 else ""
    _recycle_kb = RECYCLE_KB.get(mode, _recycle_kb)
    ready = {"ready": True, "python": "%d.%d.%d" % sys.version_info[:3]}
    if mode == "check":
        ready["jedi"] = False
        send(ready)
        serve(check)
        return 0
    if mode == "complete" and len(argv) > 2:
        ROOT = argv[2]
        ok = load_jedi()
        ready["jedi"] = ok
        if ok:
            _env = jedi.InterpreterEnvironment()
            if "--warm" in argv[3:]:
                # What nearly every first completion needs: builtins and the
                # typing stubs, parsed before the student asks.
                try:
                    jedi.Script("import math\nmath.sq\nprint(", path=os.path.join(ROOT, "__warm__.py"), project=project(ROOT), environment=_env).complete(2, 7)
                except Exception:
                    pass
        send(ready)
        if not ok:
            return 0
        # What start-up made (jedi, the stubs it parsed) lives as long as
        # the worker: the collector need not walk it again and again.
        gc.freeze()
        serve(complete)
        return 0
    send({"ready": False, "failed": "usage: pythonide_assist.py check | complete ROOT [--warm]"})
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
