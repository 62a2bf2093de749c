"""pythonide's grader: runs one teacher's test file against a submission.

Started by the server in the sandbox, like a student's program, with the
submission's files (a scratch copy) as the working folder:

    python3 pythonide_grade.py NAME SECONDS

stdin holds a secret line, then the test file's source; it is read whole
and closed before anything of the submission runs, so the tests are never
a file a program could read or change. Results go to the original stdout,
one line each, "<secret> <json>":

    {"tests": ["test_x.py::test_a", "test_x.py::TestB.test_c", ...]}
    {"test": "...", "status": "passed|failed|error|timeout", "message": "...", "output": "..."}
    {"done": N}

The test list comes from parsing the source before any of it runs.
Everything the tests and the submission print is kept per test (bounded)
and never reaches the results channel; fds 0-2 point to /dev/null.
"""

import ast
import io
import json
import linecache
import os
import signal
import sys
import traceback
import types
import unittest

OUTPUT_LIMIT = 2000
MESSAGE_LIMIT = 1000


class Timeout(BaseException):
    """A test ran out of time (BaseException: a bare `except Exception` in
    the submission does not swallow it)."""


def listed(tree, name):
    """The tests in a module's source, in order: top-level test_* functions
    (assert style) and test* methods of classes deriving from a TestCase."""
    out = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            out.append((name + "::" + node.name, None, node.name))
        elif isinstance(node, ast.ClassDef) and any(
            (isinstance(b, ast.Name) and b.id.endswith("TestCase"))
            or (isinstance(b, ast.Attribute) and b.attr.endswith("TestCase"))
            for b in node.bases
        ):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name.startswith("test"):
                    out.append((name + "::" + node.name + "." + item.name, node.name, item.name))
    return out


def clip(s, n):
    return s if len(s) <= n else s[: n - 1] + "…"


def describe(exc, tb, filename):
    """The message of a failed assertion or an error: Python's own words;
    for a bare `assert`, the statement that failed."""
    text = str(exc)
    if isinstance(exc, AssertionError) and not text:
        for frame in reversed(traceback.extract_tb(tb)):
            if frame.filename == filename and frame.line:
                return frame.line
        return "AssertionError"
    if isinstance(exc, AssertionError):
        return text
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    for frame in reversed(traceback.extract_tb(tb)):
        if frame.filename != __file__:
            return "%s (%s, line %d)" % (last, os.path.basename(frame.filename), frame.lineno)
    return last


class Capture:
    """Swaps sys.stdout and sys.stderr for one bounded buffer."""

    def __enter__(self):
        self.buf = io.StringIO()
        self.saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = self.buf
        return self

    def __exit__(self, *exc):
        sys.stdout, sys.stderr = self.saved
        return False

    def text(self):
        return clip(self.buf.getvalue(), OUTPUT_LIMIT)


def limited(seconds, fn):
    """Runs fn under a wall-clock alarm; returns (status, message)."""
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def main():
    name, seconds = sys.argv[1], float(sys.argv[2])
    data = sys.stdin.buffer.read()
    secret, _, source = data.partition(b"\n")
    secret = secret.decode("ascii").strip()
    null = os.open(os.devnull, os.O_RDWR)
    results = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    sys.stdin = open(os.devnull)

    def report(obj):
        results.write(secret + " " + json.dumps(obj) + "\n")
        results.flush()

    filename = "/tests/" + name
    text = source.decode("utf-8", errors="replace")
    try:
        tree = ast.parse(text, filename)
    except SyntaxError as e:
        report({"tests": []})
        report({"test": name, "status": "error", "message": "The test file has a syntax error: %s (line %s)" % (e.msg, e.lineno)})
        report({"done": 0})
        return
    tests = listed(tree, name)
    report({"tests": [t[0] for t in tests]})
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)

    # The submission is found first, the grader's own folder not at all.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [os.getcwd()] + [p for p in sys.path if p and os.path.abspath(p) != here]

    def on_alarm(signum, frame):
        raise Timeout()

    signal.signal(signal.SIGALRM, on_alarm)
    module = types.ModuleType(os.path.splitext(name)[0])
    module.__file__ = filename
    sys.modules[module.__name__] = module

    def load():
        exec(compile(text, filename, "exec"), module.__dict__)

    load_error = None
    with Capture() as out:
        try:
            limited(seconds, load)
        except Timeout:
            load_error = ("timeout", "Loading the tests (and the files they import) took longer than %g s." % seconds)
        except BaseException as e:  # SystemExit too: the submission may call exit()
            load_error = ("error", "The tests could not start: " + clip(describe(e, e.__traceback__, filename), MESSAGE_LIMIT))
    if load_error:
        for test, _, _ in tests:
            report({"test": test, "status": load_error[0], "message": load_error[1], "output": out.text()})
        report({"done": len(tests)})
        return

    for test, cls, fn in tests:
        status, message = "passed", ""
        with Capture() as out:
            try:
                if cls is None:
                    status, message = limited(seconds, lambda: run_function(module, fn, filename))
                else:
                    status, message = limited(seconds, lambda: run_case(module, cls, fn, filename))
            except Timeout:
                status, message = "timeout", "The test took longer than %g s." % seconds
            except BaseException as e:
                status, message = "error", clip(describe(e, e.__traceback__, filename), MESSAGE_LIMIT)
        report({"test": test, "status": status, "message": clip(message, MESSAGE_LIMIT), "output": out.text()})
    report({"done": len(tests)})


def run_function(module, fn, filename):
    f = module.__dict__.get(fn)
    if not callable(f):
        return "error", "%s is not a function any more." % fn
    try:
        f()
    except AssertionError as e:
        return "failed", describe(e, e.__traceback__, filename)
    except Timeout:
        raise
    except Exception as e:
        return "error", describe(e, e.__traceback__, filename)
    return "passed", ""


class Result(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.outcome = ("passed", "")

    def addFailure(self, test, err):
        self.outcome = ("failed", describe(err[1], err[2], test_file(test)))

    def addError(self, test, err):
        if isinstance(err[1], Timeout):
            raise err[1]
        self.outcome = ("error", describe(err[1], err[2], test_file(test)))

    def addSkip(self, test, reason):
        self.outcome = ("failed", "Skipped: " + str(reason))

    def addExpectedFailure(self, test, err):
        self.outcome = ("passed", "")

    def addUnexpectedSuccess(self, test):
        self.outcome = ("failed", "The test was expected to fail but passed.")


def test_file(test):
    return getattr(sys.modules.get(type(test).__module__), "__file__", "")


def run_case(module, cls, fn, filename):
    c = module.__dict__.get(cls)
    if not (isinstance(c, type) and issubclass(c, unittest.TestCase)):
        return "error", "%s is not a TestCase." % cls
    result = Result()
    unittest.TestSuite([c(fn)]).run(result)
    return result.outcome


if __name__ == "__main__":
    main()
