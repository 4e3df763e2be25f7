"""Inside-the-sandbox half of `tie.tasks.execution`: a candidate server and a test judge.

Never imported by the harness: its source is handed to `python -I -S -B -c` in each sandbox, so
it needs nothing but the standard library and no file on disk (and imports little: start-up is
most of a program's cost). Two roles, two processes, two sandboxes (two uids, two PID
namespaces), joined only by a pair of pipes:

* `candidate` runs the untrusted solution, then serves the judge's requests (call this object,
  read that attribute, apply this operator) and answers with plain data or references. Everything
  in this process, this runner's code included, is reachable by the solution and is treated as
  hostile: nothing here decides anything.
* `judge` runs the trusted tests with proxies for the candidate's names. Every reply is parsed by
  a strict decoder into builtin data (None, bool, int, float, complex, str, bytes, list, tuple,
  set, frozenset, dict) or a `Remote` proxy; no code, pickle or attribute name chosen by the
  candidate runs here. The judge alone writes the verdict, to a descriptor the candidate never
  holds, and only after the tests ran to their end.

argv: ROLE IN_FD OUT_FD SRC_FD VERDICT_FD UID CPU_S AS_BYTES FSIZE NPROC NOFILE
(UID >= 0: drop to it, used only by the weak mode; the strict mode starts us as a throwaway uid).
"""

import builtins
import operator
import os
import resource
import sys

MAX_MESSAGE = 32 << 20  # bytes in one message
MAX_DEPTH = 64  # nesting of data in one value
INLINE_LIMIT = 1 << 16  # a top-level name whose value encodes larger than this goes by reference


def print_error(err):
    """A traceback of the program's own frames (tests.py / solution.py), not this runner's."""
    import traceback  # only on failure: its imports cost start-up time

    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename != "<string>"]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames[-8:])]
    sys.stderr.write("".join(lines + traceback.format_exception_only(type(err), err)))
    sys.stderr.flush()


# -- the wire format ------------------------------------------------------------------------------
# N none, T/F bools, i<digits>; int, f<repr>; float, c<f><f> complex, s<len>:<utf-8> str,
# b<len>:<bytes> bytes, l/t/e/z<count>: list/tuple/set/frozenset items, d<count>: key value pairs,
# r<rid>;<s-typename> a reference to an object that stays in the candidate.
_SEQ = {list: b"l", tuple: b"t", set: b"e", frozenset: b"z"}
_SEQ_TYPES = {v: k for k, v in _SEQ.items()}
_FLOAT_CHARS = frozenset(b"0123456789.eE+-naif")


def dump(value, other, out=None, depth=0):
    """Encode `value`; `other(obj)` handles what is not plain data: (rid, type name) or raise."""
    out = bytearray() if out is None else out
    kind = type(value)
    if value is None:
        out += b"N"
    elif value is True or value is False:
        out += b"T" if value else b"F"
    elif depth > MAX_DEPTH:
        _dump_ref(other(value), out)
    elif isinstance(value, int):
        out += b"i%d;" % int.__int__(value)
    elif isinstance(value, float):
        out += b"f" + float.__repr__(value).encode() + b";"
    elif isinstance(value, str):
        data = str.__str__(value).encode("utf-8", "surrogatepass")
        out += b"s%d:" % len(data) + data
    elif isinstance(value, bytes | bytearray):
        out += b"b%d:" % len(value) + bytes(value)
    elif kind is complex:
        out += b"cf" + repr(value.real).encode() + b";f" + repr(value.imag).encode() + b";"
    elif isinstance(value, dict):
        items = list(dict.items(value))
        out += b"d%d:" % len(items)
        for key, item in items:
            dump(key, other, out, depth + 1)
            dump(item, other, out, depth + 1)
    else:
        for base, tag in _SEQ.items():
            if isinstance(value, base):
                items = list(base.__iter__(value))
                out += tag + b"%d:" % len(items)
                for item in items:
                    dump(item, other, out, depth + 1)
                break
        else:
            _dump_ref(other(value), out)
    return out


def _dump_ref(ref, out):
    rid, type_name = ref
    name = type_name.encode("utf-8", "replace")
    out += b"r%d;s%d:" % (rid, len(name)) + name


class _Reader:
    """Strict decoder: anything malformed raises ValueError."""

    def __init__(self, data, ref):
        self.data, self.pos, self.ref = data, 0, ref

    def _until(self, stop):
        end = self.data.index(stop, self.pos)  # ValueError when absent
        token = self.data[self.pos : end]
        self.pos = end + 1
        return token

    def _int(self, stop):
        token = self._until(stop)
        digits = token[1:] if token[:1] == b"-" else token
        if not digits or not digits.isdigit() or not digits.isascii():
            raise ValueError("bad integer")
        return int(token)

    def _count(self):
        n = self._int(b":")
        if n < 0 or n > len(self.data) - self.pos:
            raise ValueError("bad length")
        return n

    def _float(self):
        if self.data[self.pos : self.pos + 1] != b"f":
            raise ValueError("bad float")
        self.pos += 1
        token = self._until(b";")
        if not token or not set(token) <= _FLOAT_CHARS:
            raise ValueError("bad float")
        return float(token)

    def value(self, depth=0):
        if depth > MAX_DEPTH + 1:
            raise ValueError("nested too deeply")
        tag = self.data[self.pos : self.pos + 1]
        if tag in (b"N", b"T", b"F"):
            self.pos += 1
            return {b"N": None, b"T": True, b"F": False}[tag]
        if tag == b"f":
            return self._float()
        self.pos += 1
        if tag == b"i":
            return self._int(b";")
        if tag == b"c":
            return complex(self._float(), self._float())
        if tag in (b"s", b"b"):
            n = self._count()
            raw = self.data[self.pos : self.pos + n]
            self.pos += n
            return raw.decode("utf-8", "surrogatepass") if tag == b"s" else bytes(raw)
        if tag in _SEQ_TYPES:
            items = [self.value(depth + 1) for _ in range(self._count())]
            return _SEQ_TYPES[tag](items)
        if tag == b"d":
            return {self.value(depth + 1): self.value(depth + 1) for _ in range(self._count())}
        if tag == b"r":
            rid = self._int(b";")
            name = self.value(depth + 1)
            if type(name) is not str:
                raise ValueError("bad reference")
            return self.ref(rid, name)
        raise ValueError("bad tag")


def load(data, ref):
    reader = _Reader(data, ref)
    value = reader.value()
    if reader.pos != len(data):
        raise ValueError("trailing bytes")
    return value


def _read_exact(fd, n):
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def send(fd, data):
    view = memoryview(len(data).to_bytes(4, "big") + data)
    while view:
        view = view[os.write(fd, view) :]


def recv(fd):
    """The next message's bytes, or None at end of stream; ValueError when oversized."""
    head = _read_exact(fd, 4)
    if head is None:
        return None
    size = int.from_bytes(head, "big")
    if size > MAX_MESSAGE:
        raise ValueError(f"message of {size} bytes exceeds {MAX_MESSAGE}")
    return _read_exact(fd, size)


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
        return rid, type(obj).__name__

    def lookup(rid, _type_name):
        return table[rid]

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
        try:
            inline = len(dump(value, ref)) <= INLINE_LIMIT
        except Exception:  # noqa: BLE001 (e.g. a mutating __iter__): send a reference
            inline = False
        names[name] = value if inline else Ref(value)
    sys.stdout.flush()
    sys.stderr.flush()

    def encode(value):
        return dump(value, lambda obj: ref(obj.obj if type(obj) is Ref else obj))

    send(out_fd, encode(["ready", names]))
    while (message := recv(in_fd)) is not None:
        request = load(message, lookup)
        try:
            kind, obj = request[0], table[request[1]]
            if kind == "call":
                result = obj(*request[2], **request[3])
            elif kind == "getattr":
                result = getattr(obj, request[2])
            elif kind == "unary":
                result = _UNARY[request[2]](obj)
            elif kind == "binary":
                result = (_BINARY.get(request[2]) or _REFLECTED[request[2]])(obj, request[3])
            else:
                raise ValueError(f"unknown request {kind!r}")
            reply = encode(["ok", result])
        except BaseException as err:  # noqa: BLE001 (an exit or interrupt inside a call is an error)
            if request[0] == "call":  # not protocol probes such as len() of a generator
                print_error(err)
            reply = encode(["err", type(err).__name__, str(err)[:2000]])
        sys.stdout.flush()
        sys.stderr.flush()
        send(out_fd, reply)


class Ref:
    """Marks a value the candidate sends by reference."""

    def __init__(self, obj):
        self.obj = obj


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

    def proxy(self, rid, type_name):
        found = self.proxies.get(rid)
        if found is None:
            found = self.proxies[rid] = Remote(self, rid, type_name)
        return found

    def receive(self):
        try:
            message = recv(self.in_fd)
        except (ValueError, OSError) as err:
            self.fail(f"protocol violation: {type(err).__name__}")
        if message is None:
            self.fail("candidate process ended")
        try:
            return load(message, self.proxy)
        except (ValueError, TypeError, IndexError, RecursionError, UnicodeDecodeError) as err:
            self.fail(f"protocol violation: {type(err).__name__}")

    def request(self, *message):
        if self.broken:
            raise CandidateGone(self.broken)
        data = dump(list(message), self._reference)
        try:
            send(self.out_fd, data)
        except OSError:
            self.fail("candidate process ended")
        reply = self.receive()
        if type(reply) is list and len(reply) == 2 and reply[0] == "ok":
            return reply[1]
        is_err = type(reply) is list and len(reply) == 3 and reply[0] == "err"
        if is_err and type(reply[1]) is str and type(reply[2]) is str:
            raise _exception(reply[1], reply[2])
        self.fail("protocol violation: bad reply")

    def _reference(self, value):
        if type(value) is Remote and object.__getattribute__(value, "_link") is self:
            return object.__getattribute__(value, "_rid"), ""
        raise TypeError(f"cannot pass a {type(value).__name__} to the candidate process")


class Remote:
    """A candidate-side object, seen from the judge: every use is a request over the pipe."""

    __slots__ = ("_link", "_rid", "_type")

    def __init__(self, link, rid, type_name):
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_rid", rid)
        object.__setattr__(self, "_type", type_name)

    def _ask(self, kind, *args):
        link = object.__getattribute__(self, "_link")
        return link.request(kind, object.__getattribute__(self, "_rid"), *args)

    def __call__(self, *args, **kwargs):
        return self._ask("call", list(args), kwargs)

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
        return self._ask("binary", name, other)

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
        os.write(verdict_fd, (("pass " if passed else "fail ") + reason).encode())
        os._exit(0 if passed else 1)

    namespace = {"__name__": "__main__", "__builtins__": builtins}
    try:
        ready = link.receive()
        if type(ready) is not list or len(ready) != 2 or ready[0] != "ready":
            link.fail("protocol violation: no ready message")
        if type(ready[1]) is not dict:
            link.fail("protocol violation: bad names")
        for name, value in ready[1].items():
            if type(name) is str and name.isidentifier():
                namespace[name] = value  # data, or a proxy (functions, classes, modules, ...)
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
