"""pythonide driver: runs a student's script as __main__, then a REPL in its globals.

Usage: python3 -I -u pythonide_driver.py [--script FILE | --wait]

With --wait the driver is a warm interpreter: started ahead of need, it reads
its first line on fd 4, a JSON string naming the script ("" for an empty REPL),
and only then moves to the script's folder and runs it. A student's run then
costs no interpreter start-up.

Everything the server must know travels on fd 3 as one JSON object per line.
Strings are encoded as JSON with every control and non-ASCII character escaped,
so nothing a program prints can end a frame early or start a fake one. Lines for input() and
the REPL arrive on fd 4. fds 1 and 2 are left alone for C code and child
processes; the server forwards those too.
"""
# Start-up time is part of every run's latency: only modules that are already
# loaded or cheap are imported here (no json, whose decoder pulls in re; no
# code, which pulls in traceback and tokenize: it is imported when the REPL
# starts).
import _thread
import builtins
import codecs
import importlib.machinery
import io
import os
import sys
import types
from _json import encode_basestring_ascii as json_string
from _json import scanstring

EVENTS_FD, COMMANDS_FD = 3, 4
# A pipe write of at most PIPE_BUF bytes is atomic, so output frames are kept
# under it: a forked child (multiprocessing) printing at the same time as its
# parent cannot tear a frame. Figures are bigger and rely on the lock alone.
PIPE_BUF = 4096
CHUNK = 2048  # characters of output tried per frame, halved until it fits
# Unindented lines that do not end an indented block in the REPL.
INSIDE_BLOCK = ("else", "elif", "except", "finally", "#")

channel = None  # set by main(); the matplotlib backend sends figures through it


class Channel:
    """Writes events to the server, one frame per write, never interleaved."""

    def __init__(self, fd):
        self.fd = fd
        self.lock = _thread.allocate_lock()
        # A child forked while another thread held the lock would deadlock on it.
        os.register_at_fork(after_in_child=self._new_lock)

    def _new_lock(self):
        self.lock = _thread.allocate_lock()

    def _frame(self, event):
        # Every value of an event is a string.
        body = ",".join(json_string(k) + ":" + json_string(v) for k, v in event.items())
        return ("{" + body + "}\n").encode("ascii")

    def _write(self, frame):
        try:
            with self.lock:
                while frame:
                    frame = frame[os.write(self.fd, frame):]
        except BrokenPipeError:
            # The server stopped listening: nobody can see anything any more.
            os._exit(120)

    def send(self, **event):
        self._write(self._frame(event))

    def output(self, kind, text):
        # The hot path: one C call encodes the text.
        head = b'{"t":"' + kind.encode("ascii") + b'","d":'
        while text:
            n = min(len(text), CHUNK)
            frame = head + json_string(text[:n]).encode("ascii") + b"}\n"
            while len(frame) > PIPE_BUF:
                n //= 2
                frame = head + json_string(text[:n]).encode("ascii") + b"}\n"
            self._write(frame)
            text = text[n:]


class OutputSink(io.BufferedIOBase):
    """The binary layer under sys.stdout/sys.stderr: every write becomes an event
    at once, so output order and prompt timing match what the program did.
    Bytes that are not UTF-8 (sys.stdout.buffer.write) arrive as U+FFFD."""

    def __init__(self, channel, kind, fd):
        super().__init__()
        self.channel, self.kind, self.fd = channel, kind, fd
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")

    name = property(lambda self: "<%s>" % self.kind)
    mode = "wb"

    def writable(self):
        return True

    def write(self, data):
        if self.closed:
            raise ValueError("write to closed file")
        data = bytes(data)
        self.channel.output(self.kind, self.decoder.decode(data))
        return len(data)

    def flush(self):
        if not self.closed:
            self.channel.output(self.kind, self.decoder.decode(b"", final=True))

    def fileno(self):
        # Raw writes (subprocess stdout=sys.stdout, faulthandler) go to the real fd.
        return self.fd

    def isatty(self):
        return False


class Commands:
    """Lines from the server on fd 4. Every wait is announced first, so the
    server knows the program is waiting for a line rather than busy."""

    def __init__(self, channel, fd):
        self.channel, self.fd, self.pending = channel, fd, b""

    def readline(self, **announce):
        self.channel.send(**announce)
        while b"\n" not in self.pending:
            chunk = os.read(self.fd, 65536)
            if not chunk:  # EOF: whatever is left, then "" for ever
                line, self.pending = self.pending, b""
                return line.decode("utf-8", "replace")
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return line.decode("utf-8", "replace") + "\n"


class Stdin(io.TextIOBase):
    """sys.stdin: each line it needs is requested with an input event."""

    encoding, errors, name, mode = "utf-8", "replace", "<stdin>", "r"

    def __init__(self, commands):
        super().__init__()
        self.commands, self.rest = commands, ""

    def readable(self):
        return True

    def readline(self, size=-1, prompt=""):
        if not self.rest:
            self.rest = self.commands.readline(t="input", prompt=prompt)
        n = len(self.rest) if size is None or size < 0 else size
        line, self.rest = self.rest[:n], self.rest[n:]
        return line

    def read(self, size=-1):
        out = ""
        while size is None or size < 0 or len(out) < size:
            chunk = self.readline(-1 if size is None or size < 0 else size - len(out))
            if not chunk:
                break
            out += chunk
        return out


def make_input(stdin, builtin_input):
    def input(prompt=""):
        if sys.stdin is not stdin:  # the program replaced sys.stdin: behave as usual
            return builtin_input(prompt)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        line = stdin.readline(prompt=str(prompt))
        if not line:
            raise EOFError("EOF when reading a line")
        return line[:-1] if line.endswith("\n") else line
    return input


def make_console(namespace, commands):
    import code  # here, not at start-up: it costs ~10 ms that every run would pay

    class Console(code.InteractiveConsole):
        def __init__(self, namespace, commands):
            super().__init__(namespace, filename="<console>")
            self.commands = commands

        def raw_input(self, prompt=""):
            line = self.commands.readline(t="repl_ready", prompt=str(prompt))
            if not line:  # end of input ends the REPL quietly, as exit() would
                raise SystemExit(0)
            return line.rstrip("\r\n")

        def push(self, line):
            # A block pasted without its closing blank line would be a SyntaxError at
            # the first unindented line; close the block first when it is complete.
            if (self.buffer and line[:1] not in ("", " ", "\t")
                    and not line.startswith(INSIDE_BLOCK) and self._complete()):
                super().push("")
            return super().push(line)

        def _complete(self):
            try:
                source = "\n".join(self.buffer) + "\n"
                return code.compile_command(source, self.filename, "single") is not None
            except Exception:
                return False

    return Console(namespace, commands)


def main_module(path):
    """A fresh __main__ with what `python3 file.py` (or a bare REPL) would have."""
    module = types.ModuleType("__main__")
    module.__builtins__ = builtins
    module.__annotations__ = {}
    if path is None:
        module.__loader__ = importlib.machinery.BuiltinImporter
    else:
        module.__file__ = path
        module.__cached__ = None
        module.__loader__ = importlib.machinery.SourceFileLoader("__main__", path)
    return module


def run_script(path, namespace):
    """Runs the file; returns 1 after showing the error if it raised, else None.
    SystemExit is not caught: it ends the process with its code, as usual."""
    try:
        with open(path, "rb") as f:
            source = f.read()
        exec(compile(source, path, "exec"), namespace)
    except SystemExit:
        raise
    except BaseException as error:
        tb = error.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
            tb = tb.tb_next  # the student sees only the student's frames
        # The default hook prints error.__traceback__, not its argument.
        sys.excepthook(type(error), error.with_traceback(tb), tb)
        return 1
    return None


def main(argv):
    script = argv[argv.index("--script") + 1] if "--script" in argv else None
    sys.dont_write_bytecode = True  # -I ignores PYTHONDONTWRITEBYTECODE
    for fd in (EVENTS_FD, COMMANDS_FD):
        os.set_inheritable(fd, False)  # programs the student starts get no channel

    global channel
    channel = Channel(EVENTS_FD)
    commands = Commands(channel, COMMANDS_FD)
    stdin = Stdin(commands)
    sys.stdin = sys.__stdin__ = stdin
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(
        OutputSink(channel, "stdout", 1), encoding="utf-8", write_through=True)
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(
        OutputSink(channel, "stderr", 2), encoding="utf-8",
        errors="backslashreplace", write_through=True)
    builtins.input = make_input(stdin, builtins.input)

    if "--wait" in argv:
        line = commands.readline(t="warm")  # loaded: the server may hand it a run
        if not line:
            return 0  # the server let it go unused
        script = scanstring(line, 1)[0] or None
        if script is not None:
            try:
                os.chdir(os.path.dirname(script))
            except OSError:
                pass  # the folder is gone: opening the script says so

    # The matplotlib backend finds the channel through this module; its folder
    # goes last on sys.path so it never shadows a student's module.
    sys.modules["pythonide_driver"] = sys.modules[__name__]
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.abspath(script) if script is not None else None
    sys.path.insert(0, os.path.dirname(path) if path else "")
    sys.path.append(here)

    module = main_module(path)
    sys.modules["__main__"] = module
    if path is not None:
        sys.argv = [script]
        if run_script(path, module.__dict__) is not None:
            return 1
    else:
        sys.argv = [""]
    make_console(module.__dict__, commands).interact(banner="", exitmsg="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
