"""Inside-the-sandbox half of `tie.tasks.execution`: a candidate server and a test judge.

Never imported by the harness: its source is handed to `python -I -S -B -c` in each sandbox, so
it needs nothing but the standard library and no file on disk. Two roles, two processes, two
sandboxes (two uids, two PID namespaces), joined only by a pair of pipes:

* `candidate` runs the untrusted solution, then serves the judge's requests (call this object,
  read that attribute, apply this operator) and answers with plain data or references. Everything
  in this process, this runner's code included, is reachable by the solution and is treated as
  hostile: nothing here decides anything.
* `judge` runs the trusted tests with proxies for the candidate's names. Every value that crosses
  the pipe is decoded by a strict JSON decoder into builtin data or a `Remote` proxy; no code,
  pickle or attribute name chosen by the candidate runs here. The judge alone writes the verdict
  to a descriptor the candidate never holds, and only after the tests ran to their end.

argv: ROLE IN_FD OUT_FD SRC_FD VERDICT_FD UID CPU_S AS_BYTES FSIZE NPROC NOFILE
(UID >= 0: drop to it, used only by the weak mode; the strict mode starts us as a throwaway uid).
"""

import builtins
import json
import operator
import os
import resource
import sys
import traceback

MAX_MESSAGE = 32 << 20  # bytes in one message
MAX_DEPTH = 64  # nesting of data in one value
INLINE_LIMIT = 1 << 16  # a top-level name whose value encodes larger than this goes by reference


def print_error(err):
    """A traceback of the program's own frames (tests.py / solution.py), not this runner's."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename != "<string>"]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames[-8:])]
    sys.stderr.write("".join(lines + traceback.format_exception_only(type(err), err)))
    sys.stderr.flush()


def _read_exact(fd, n):
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def send(fd, message):
    data = json.dumps(message, separators=(",", ":")).encode()
    os.write(fd, len(data).to_bytes(4, "big"))
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def recv(fd):
    """The next message, or None at end of stream. Raises ValueError on a malformed one."""
    head = _read_exact(fd, 4)
    if head is None:
        return None
    size = int.from_bytes(head, "big")
    if size > MAX_MESSAGE:
        raise ValueError(f"message of {size} bytes exceeds {MAX_MESSAGE}")
    body = _read_exact(fd, size)
    if body is None:
        return None
    return json.loads(body)


def read_source(fd):
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode("utf-8")


def limit(cpu_s, as_bytes, fsize, nproc, nofile, uid):
    for which, value in (
        (resource.RLIMIT_CPU, cpu_s),
        (resource.RLIMIT_AS, as_bytes),
        (resource.RLIMIT_FSIZE, fsize),
        (resource.RLIMIT_NPROC, nproc),
        (resource.RLIMIT_NOFILE, nofile),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(which, (value, value))
    if uid >= 0 and os.getuid() == 0:  # weak mode as root: a run-unique uid
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)


# -- the wire format: JSON scalars as themselves, everything else a tagged list --------------------
_TAGS = {"L": list, "T": tuple, "S": set, "F": frozenset}
_BINARY = {
    "__eq__": operator.eq,
    "__ne__": operator.ne,
    "__lt__": operator.lt,
    "__le__": operator.le,
    "__gt__": operator.gt,
    "__ge__": operator.ge,
    "__add__": operator.add,
    "__sub__": operator.sub,
    "__mul__": operator.mul,
    "__truediv__": operator.truediv,
    "__floordiv__": operator.floordiv,
    "__mod__": operator.mod,
    "__pow__": operator.pow,
    "__and__": operator.and_,
    "__or__": operator.or_,
    "__xor__": operator.xor,
    "__getitem__": operator.getitem,
    "__contains__": operator.contains,
}
_REFLECTED = {
    "__r" + name[2:]: (lambda f: lambda a, b: f(b, a))(fn)
    for name, fn in _BINARY.items()
    if name[2:-2] in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or", "xor")
}
_UNARY = {
    "__len__": len,
    "__bool__": bool,
    "__hash__": hash,
    "__repr__": repr,
    "__str__": str,
    "__int__": int,
    "__float__": float,
    "__index__": operator.index,
    "__neg__": operator.neg,
    "__abs__": abs,
    "__iter__": iter,
    "__next__": next,
}
_RESULT_TYPES = {  # what the judge accepts back from a unary protocol method
    "__len__": int,
    "__bool__": bool,
    "__hash__": int,
    "__repr__": str,
    "__str__": str,
    "__int__": int,
    "__float__": float,
    "__index__": int,
}


# -- candidate ------------------------------------------------------------------------------------
def candidate(in_fd, out_fd, source):
    table, ids = {}, {}

    def ref(obj):
        rid = ids.get(id(obj))
        if rid is None:
            rid = ids[id(obj)] = len(table)
            table[rid] = obj
        return ["R", rid, type(obj).__name__]

    def enc(value, depth=0):
        kind = type(value)
        if value is None or kind in (bool, int, float, str):
            return value
        if depth >= MAX_DEPTH:
            return ref(value)
        if isinstance(value, bool | int | float | str) and not isinstance(value, bool):
            base = next(b for b in (int, float, str) if isinstance(value, b))
            return {int: int.__int__, float: float.__float__, str: str.__str__}[base](value)
        if isinstance(value, complex):
            return ["C", value.real, value.imag]
        if isinstance(value, bytes | bytearray):
            return ["B", bytes(value).decode("latin-1")]
        if isinstance(value, dict):
            return ["D", [[enc(k, depth + 1), enc(v, depth + 1)] for k, v in dict.items(value)]]
        for tag, base in _TAGS.items():
            if isinstance(value, base):
                return [tag, [enc(v, depth + 1) for v in base.__iter__(value)]]
        return ref(value)

    def dec(value):
        if not isinstance(value, list):
            return value
        tag = value[0]
        if tag == "R":
            return table[value[1]]
        if tag == "C":
            return complex(value[1], value[2])
        if tag == "B":
            return value[1].encode("latin-1")
        if tag == "D":
            return {dec(k): dec(v) for k, v in value[1]}
        return _TAGS[tag](dec(v) for v in value[1])

    namespace = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(source, "solution.py", "exec"), namespace)
    except SystemExit:
        raise  # its own exit status: 0 reads as an early exit, never as a pass
    except BaseException as err:  # noqa: BLE001
        sys.stdout.flush()
        print_error(err)
        os._exit(1)
    names = {}
    for name, value in namespace.items():
        if name.startswith("__") and name.endswith("__"):
            continue
        if type(value).__name__ == "module":
            names[name] = ["M", value.__name__, ref(value)]
            continue
        encoded = enc(value)
        if len(json.dumps(encoded)) > INLINE_LIMIT:
            encoded = ref(value)
        names[name] = encoded
    sys.stdout.flush()
    sys.stderr.flush()
    send(out_fd, ["ready", names])
    while (request := recv(in_fd)) is not None:
        try:
            kind, obj = request[0], table[request[1]]
            if kind == "call":
                result = obj(*dec(request[2]), **dec(request[3]))
            elif kind == "getattr":
                result = getattr(obj, request[2])
            elif kind == "unary":
                result = _UNARY[request[2]](obj)
            elif kind == "binary":
                fn = _BINARY.get(request[2]) or _REFLECTED[request[2]]
                result = fn(obj, dec(request[3]))
            else:
                raise ValueError(f"unknown request {kind!r}")
            reply = ["ok", enc(result)]
        except BaseException as err:  # noqa: BLE001 (an exit or interrupt inside a call is an error)
            if request[0] == "call":  # not protocol probes such as len() of a generator
                print_error(err)
            reply = ["err", type(err).__name__, str(err)[:2000]]
        sys.stdout.flush()
        sys.stderr.flush()
        send(out_fd, reply)


# -- judge ----------------------------------------------------------------------------------------
class CandidateGone(BaseException):  # noqa: N818 (not an Exception: tests cannot swallow it)
    """The candidate process ended or broke the protocol; no test outcome after this counts."""


class CandidateError(Exception):
    """An exception in the candidate whose type is not a builtin Exception."""


_EXCEPTIONS = {
    name: cls
    for name, cls in vars(builtins).items()
    if isinstance(cls, type) and issubclass(cls, Exception)
}


def _exception(kind, text):
    """The judge's own exception for one the candidate raised (its builtin type where there is one)."""
    cls = _EXCEPTIONS.get(kind, CandidateError)
    for base in cls.__mro__:  # e.g. UnicodeDecodeError needs five arguments: use ValueError
        if issubclass(base, Exception):
            try:
                return base(text if base is cls else f"{kind}: {text}")
            except TypeError:
                continue
    return CandidateError(f"{kind}: {text}")


class _Link:
    def __init__(self, in_fd, out_fd):
        self.in_fd, self.out_fd, self.broken, self.proxies = in_fd, out_fd, None, {}

    def fail(self, reason):
        self.broken = self.broken or reason
        raise CandidateGone(self.broken)

    def receive(self):
        try:
            message = recv(self.in_fd)
        except (ValueError, OSError, RecursionError) as err:
            self.fail(f"protocol violation: {type(err).__name__}")
        if message is None:
            self.fail("candidate process ended")
        return message

    def request(self, *message):
        if self.broken:
            raise CandidateGone(self.broken)
        try:
            send(self.out_fd, list(message))
        except OSError:
            self.fail("candidate process ended")
        reply = self.receive()
        if type(reply) is list and len(reply) == 2 and reply[0] == "ok":
            try:
                return self.decode(reply[1])
            except (ValueError, TypeError, RecursionError):
                self.fail("protocol violation: bad value")
        if type(reply) is list and len(reply) == 3 and reply[0] == "err":
            if type(reply[1]) is str and type(reply[2]) is str:
                raise _exception(reply[1], reply[2])
        self.fail("protocol violation: bad reply")

    def decode(self, value, depth=0):
        if value is None or type(value) in (bool, int, float, str):
            return value
        if type(value) is not list or not value or depth > MAX_DEPTH + 1:
            raise ValueError("bad value")
        tag = value[0]
        if tag == "R" and len(value) == 3 and type(value[1]) is int and type(value[2]) is str:
            proxy = self.proxies.get(value[1])
            if proxy is None:
                proxy = self.proxies[value[1]] = Remote(self, value[1], value[2])
            return proxy
        if tag == "C" and len(value) == 3 and all(type(v) in (int, float) for v in value[1:]):
            return complex(value[1], value[2])
        if tag == "B" and len(value) == 2 and type(value[1]) is str:
            return value[1].encode("latin-1")
        if tag == "D" and len(value) == 2 and type(value[1]) is list:
            out = {}
            for pair in value[1]:
                if type(pair) is not list or len(pair) != 2:
                    raise ValueError("bad dict item")
                out[self.decode(pair[0], depth + 1)] = self.decode(pair[1], depth + 1)
            return out
        if tag in _TAGS and len(value) == 2 and type(value[1]) is list:
            return _TAGS[tag](self.decode(v, depth + 1) for v in value[1])
        raise ValueError("bad value")

    def encode(self, value, depth=0):
        kind = type(value)
        if value is None or kind in (bool, int, float, str):
            return value
        if depth > MAX_DEPTH:
            raise ValueError("value nested too deeply to pass to the candidate")
        if kind is Remote:
            if object.__getattribute__(value, "_link") is not self:
                raise TypeError("a proxy of another candidate")
            return ["R", object.__getattribute__(value, "_rid")]
        if kind is complex:
            return ["C", value.real, value.imag]
        if kind in (bytes, bytearray):
            return ["B", bytes(value).decode("latin-1")]
        if isinstance(value, dict):
            items = dict.items(value)
            return ["D", [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in items]]
        for tag, base in _TAGS.items():
            if isinstance(value, base):
                return [tag, [self.encode(v, depth + 1) for v in base.__iter__(value)]]
        raise TypeError(f"cannot pass a {kind.__name__} to the candidate process")


class Remote:
    """A candidate-side object, seen from the judge: every use is a request over the pipe."""

    __slots__ = ("_link", "_rid", "_type")

    def __init__(self, link, rid, type_name):
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_rid", rid)
        object.__setattr__(self, "_type", type_name)

    def _ask(self, *message):
        return object.__getattribute__(self, "_link").request(
            message[0], object.__getattribute__(self, "_rid"), *message[1:]
        )

    def __call__(self, *args, **kwargs):
        link = object.__getattribute__(self, "_link")
        return self._ask("call", link.encode(list(args)), link.encode(kwargs))

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._ask("getattr", name)

    def __setattr__(self, name, value):
        raise AttributeError("attributes of candidate objects are read-only here")

    def __copy__(self):  # copy.copy / copy.deepcopy keep the same remote object
        return self

    def __deepcopy__(self, memo):
        return self


def _unary(name):
    def method(self):
        result = self._ask("unary", name)
        want = _RESULT_TYPES.get(name)
        if want is not None and not isinstance(result, want):
            raise TypeError(f"{name} of a candidate object returned {type(result).__name__}")
        return result

    method.__name__ = name
    return method


def _binary(name):
    def method(self, other):
        link = object.__getattribute__(self, "_link")
        return self._ask("binary", name, link.encode(other))

    method.__name__ = name
    return method


for _name in _UNARY:
    setattr(Remote, _name, _unary(_name))
for _name in (*_BINARY, *_REFLECTED):
    setattr(Remote, _name, _binary(_name))


def judge(in_fd, out_fd, source, verdict_fd):
    link = _Link(in_fd, out_fd)

    def verdict(passed, reason):
        sys.stdout.flush()
        sys.stderr.flush()
        os.write(verdict_fd, json.dumps({"passed": passed, "reason": reason}).encode())
        os._exit(0 if passed else 1)

    try:
        ready = link.receive()
        if type(ready) is not list or len(ready) != 2 or ready[0] != "ready":
            link.fail("protocol violation: no ready message")
        if type(ready[1]) is not dict:
            link.fail("protocol violation: bad names")
        namespace = {"__name__": "__main__", "__builtins__": builtins}
        for name, value in ready[1].items():
            if not name.isidentifier():
                continue
            if type(value) is list and len(value) == 3 and value[0] == "M":
                try:  # the judge's own copy of a module the solution imported
                    namespace[name] = __import__(str(value[1]), fromlist=["_"])
                    continue
                except Exception:  # noqa: BLE001
                    value = value[2]
            try:
                namespace[name] = link.decode(value)
            except (ValueError, TypeError, RecursionError):
                link.fail("protocol violation: bad value")
    except CandidateGone as gone:
        verdict(False, f"no candidate: {gone}")
    try:
        exec(compile(source, "tests.py", "exec"), namespace)
    except BaseException as err:  # noqa: BLE001
        print_error(err)
        verdict(False, f"candidate: {link.broken}" if link.broken else "tests failed")
    if link.broken:  # the tests swallowed a CandidateGone: still not a pass
        verdict(False, f"candidate: {link.broken}")
    verdict(True, "tests passed")


def main():
    role = sys.argv[1]
    in_fd, out_fd, src_fd, verdict_fd, uid, cpu_s, as_bytes, fsize, nproc, nofile = map(
        int, sys.argv[2:12]
    )
    source = read_source(src_fd)
    limit(cpu_s, as_bytes, fsize, nproc, nofile, uid)
    if role == "candidate":
        candidate(in_fd, out_fd, source)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    judge(in_fd, out_fd, source, verdict_fd)


main()
