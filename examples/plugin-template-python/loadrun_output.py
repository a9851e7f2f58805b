"""The out-of-process face of loadrun's output contract, in Python's standard library alone.

Copy this file next to your plugin. The contract is defined in loadrun-plugin-api
(`plugin-api/src/process/protocol.rs`, documented in `plugin-api/README.md`): a handshake
line, then length-prefixed frames on stdin/stdout; JSON for the cold path, raw little-endian
samples for writes, one reply per call. Your plugin is a class with `start`, `write`, `flush`
and `stop`; `serve()` does the rest. Anything printed to stderr goes to loadrun's log under the
output's name; stdout belongs to the protocol: never print to it.
"""

import json
import struct
import sys
import traceback

API_VERSION = "1.3.0"
HANDSHAKE = b"loadrun-output 1.3\n"

HEADER = struct.Struct("<IB")
# The Rust `Sample`: u32 series, u32 reserved, i64 unix ns, f64 value.
SAMPLE = struct.Struct("<IIqd")

INFO, INIT, START, DEFS, SAMPLES, FLUSH, STOP = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
OK, RETRY, ERROR, LOG, COUNTER, ABORT = 0x80, 0x81, 0x82, 0x90, 0x91, 0x92

# The counters every output reports when samples it accepted never reach the backend.
SAMPLES_LOST = "samples_lost"
SAMPLES_REJECTED = "samples_rejected"


class Retry(Exception):
    """Raised by `write`: a passing failure; loadrun sends the same batch again later."""

    def __init__(self, reason, after_ms=None):
        super().__init__(reason)
        self.reason = reason
        self.after_ms = after_ms


class Fatal(Exception):
    """Raised by any call: the output cannot go on (loadrun quarantines it)."""


def option(name, kind="string", doc="", default=None, env=(), aliases=(), secret=False, **kw):
    """One declared option, in the declaration format of loadrun-plugin-api. kind: "string",
    "bool", "duration", "size", "url", or a dict such as {"type": "int", "min": 1, "max": 9}
    or {"type": "enum", "values": ["a", "b"]}. Defaults are written as on the command line."""
    kind_doc = {"type": kind} if isinstance(kind, str) else kind
    return {
        "name": name, "kind": kind_doc, "aliases": list(aliases), "env": list(env),
        "default": default, "doc": doc, "secret": secret,
        "nonzero": kw.get("nonzero", False), "modes": list(kw.get("modes", ())),
    }


def output(name, description, options=(), positional=None, aliases=()):
    """One declared output. `positional` names the option a bare `-o NAME=VALUE` sets."""
    return {
        "name": name, "aliases": list(aliases), "description": description,
        "positional": {"value": positional} if positional else None,
        "modeOption": None, "options": list(options),
    }


class Host:
    """What loadrun offers a running output."""

    def __init__(self, channel):
        self._channel = channel

    def log(self, level, message):
        """level: error, warn, info, debug or trace."""
        self._channel.send(LOG, {"level": level, "message": str(message)})

    def add_counter(self, name, delta):
        self._channel.send(COUNTER, {"name": name, "delta": int(delta)})

    def request_abort(self, reason):
        """Asks loadrun to stop the test (honoured only with abortOnError=true)."""
        self._channel.send(ABORT, {"reason": str(reason)})


class Catalog:
    """The metrics and series defined so far, by id."""

    def __init__(self):
        self.metrics = {}
        self.series = {}

    def define(self, doc):
        for m in doc.get("metrics", ()):
            self.metrics[m["id"]] = m
        for s in doc.get("series", ()):
            self.series[s["id"]] = s


class Batch:
    """One write: raw samples, read lazily (a null output never decodes them)."""

    def __init__(self, payload, catalog):
        self.payload = payload
        self.catalog = catalog

    def __len__(self):
        return len(self.payload) // SAMPLE.size

    def samples(self):
        """(series id, unix ns, value) for each sample."""
        for series, _reserved, time_ns, value in SAMPLE.iter_unpack(self.payload):
            yield series, time_ns, value


class _Channel:
    def __init__(self, stdin, stdout):
        self.stdin = stdin
        self.stdout = stdout

    def read(self):
        header = self.stdin.read(HEADER.size)
        if len(header) < HEADER.size:
            return None, None
        length, kind = HEADER.unpack(header)
        payload = self.stdin.read(length) if length else b""
        if len(payload) < length:
            return None, None
        return kind, payload

    def send(self, kind, doc=None):
        payload = b"" if doc is None else json.dumps(doc).encode()
        self.stdout.write(HEADER.pack(len(payload), kind))
        self.stdout.write(payload)
        self.stdout.flush()


def serve(plugin_name, version, outputs, new_output):
    """Speaks the protocol until loadrun closes stdin.

    outputs: the declared outputs (see `output`). new_output(init) returns an object with
    start(host), write(batch), flush(timeout_ms) and stop(outcome, timeout_ms); raise Fatal
    to refuse the options (init["options"] holds them, checked by loadrun against the
    declaration).
    """
    channel = _Channel(sys.stdin.buffer, sys.stdout.buffer)
    # Only the protocol may write to stdout: a stray print would be garbage to loadrun.
    sys.stdout = sys.stderr
    channel.stdout.write(HANDSHAKE)
    channel.stdout.flush()
    catalog = Catalog()
    out = None
    while True:
        kind, payload = channel.read()
        if kind is None:
            return
        if kind == DEFS:
            catalog.define(json.loads(payload))
            continue
        try:
            if kind == INFO:
                channel.send(OK, {"format": 1, "plugin": plugin_name, "version": version,
                                  "api": API_VERSION, "outputs": outputs})
                continue
            if kind == INIT:
                out = new_output(json.loads(payload))
            elif out is None:
                raise Fatal("called before init")
            elif kind == START:
                out.start(Host(channel))
            elif kind == SAMPLES:
                out.write(Batch(payload, catalog))
            elif kind == FLUSH:
                out.flush(json.loads(payload).get("timeoutMs", 0))
            elif kind == STOP:
                doc = json.loads(payload)
                out.stop(doc.get("outcome", {}), doc.get("timeoutMs", 0))
            else:
                raise Fatal("unknown frame kind 0x%02x" % kind)
            channel.send(OK)
        except Retry as r:
            channel.send(RETRY, {"afterMs": r.after_ms, "reason": r.reason})
        except Fatal as f:
            channel.send(ERROR, {"reason": str(f)})
        except Exception as e:
            # A bug in the plugin, as a panic is in Rust: one line to loadrun (which
            # quarantines the output), the trace to the log.
            traceback.print_exc(file=sys.stderr)
            what = {INIT: "init", START: "start", SAMPLES: "write", FLUSH: "flush",
                    STOP: "stop"}.get(kind, "a call")
            channel.send(ERROR, {"reason": "panicked in %s: %s: %s"
                                 % (what, type(e).__name__, e)})
