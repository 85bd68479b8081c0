"""Sends traces with the OpenTelemetry Python SDK (OTLP/HTTP protobuf,
gzip) to the traces endpoint given as the first argument, then prints
what the SDK recorded as JSON, for tests/traces_e2e.rs to compare with.

Modes (second argument):
  shop      30 nested traces over four services: some with errors
            (an exception event), some slow, with events and links; the
            checkout client calls the db server (a service-graph edge).
            Prints every span with all its fields.
  sampling  2000 traces of three spans: every 10th with an error, every
            10th (offset 1) slow (800 ms), the rest fast and fine. Prints
            the trace ids with their kind.

Trace and span ids come from a seeded generator, so a run is repeatable.
Every export's result is recorded; a failed export fails the script. The
batch queue holds every span of the sampling run, so none is dropped
before export."""

import json
import random
import sys

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
    SimpleSpanProcessor,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, set_span_in_context

endpoint, mode = sys.argv[1], sys.argv[2]
rng = random.Random(20261206)
failures = []


class SeededIds(IdGenerator):
    def generate_span_id(self):
        return rng.getrandbits(64) or 1

    def generate_trace_id(self):
        return rng.getrandbits(128) or 1


class Checked(SpanExporter):
    """The OTLP exporter, with every result recorded."""

    def __init__(self):
        self.inner = OTLPSpanExporter(endpoint=endpoint, compression=Compression.Gzip, timeout=10)

    def export(self, spans):
        result = self.inner.export(spans)
        if result != SpanExportResult.SUCCESS:
            failures.append(f"export of {len(spans)} spans: {result}")
        return result

    def shutdown(self):
        self.inner.shutdown()


memory = InMemorySpanExporter()
ids = SeededIds()
providers = {}


def tracer(service):
    if service not in providers:
        resource = Resource.create({"service.name": service, "deployment.environment": "e2e"})
        p = TracerProvider(resource=resource, id_generator=ids)
        p.add_span_processor(SimpleSpanProcessor(memory))
        if mode == "shop":
            p.add_span_processor(SimpleSpanProcessor(Checked()))
        else:
            p.add_span_processor(BatchSpanProcessor(
                Checked(), max_queue_size=16384, max_export_batch_size=512, schedule_delay_millis=200
            ))
        providers[service] = p
    return providers[service].get_tracer("almanac.e2e", "1.0")


MS = 1_000_000
T0 = 1_765_000_000_000 * MS  # fixed, so runs are comparable


def shop():
    previous = None
    for i in range(30):
        start = T0 + i * 10_000 * MS
        error = i % 7 == 3
        slow = i % 5 == 2
        route = "/checkout" if i % 2 == 0 else "/home"
        root = tracer("frontend").start_span(
            f"GET {route}",
            kind=SpanKind.SERVER,
            start_time=start,
            attributes={"http.method": "GET", "http.route": route, "http.status_code": 500 if error else 200, "i": i},
        )
        root.add_event("request.received", {"bytes": 512 + i}, timestamp=start + MS)
        root.add_event("cache.miss", {"key": f"k{i}", "ratio": 0.25}, timestamp=start + 2 * MS)
        ctx = set_span_in_context(root)
        links = [Link(previous, {"link.kind": "previous"})] if previous is not None else []
        charge_dur = 800 if slow else 20 + i
        charge = tracer("checkout").start_span(
            "charge",
            context=ctx,
            kind=SpanKind.CLIENT,
            start_time=start + 3 * MS,
            attributes={"payment.method": "card" if i % 3 else "cash", "amount": 9.5 + i, "retry": i % 2 == 0},
            links=links,
        )
        cctx = set_span_in_context(charge)
        db = tracer("db").start_span(
            "SELECT orders",
            context=cctx,
            kind=SpanKind.SERVER,
            start_time=start + 4 * MS,
            attributes={"db.system": "postgresql", "db.rows": [1, 2, 3]},
        )
        if error:
            db.record_exception(ValueError(f"deadlock {i}"), timestamp=start + 5 * MS)
            db.set_status(Status(StatusCode.ERROR, "deadlock detected"))
        db.end(end_time=start + 6 * MS)
        worker = tracer("queue").start_span(
            "enqueue receipt", context=cctx, kind=SpanKind.PRODUCER, start_time=start + 7 * MS
        )
        worker.end(end_time=start + 8 * MS)
        charge.set_status(Status(StatusCode.OK))
        charge.end(end_time=start + (3 + charge_dur) * MS)
        root.end(end_time=start + (10 + charge_dur) * MS)
        previous = root.get_span_context()


def sampling():
    for i in range(2000):
        start = T0 + i * 1_000 * MS
        error = i % 10 == 0
        slow = i % 10 == 1
        root = tracer("frontend").start_span("GET /", kind=SpanKind.SERVER, start_time=start)
        ctx = set_span_in_context(root)
        for j in range(2):
            child = tracer("backend").start_span(f"step {j}", context=ctx, start_time=start + (j + 1) * MS)
            if error and j == 1:
                child.set_status(Status(StatusCode.ERROR, "failed"))
            child.end(end_time=start + (j + 2) * MS)
        root.end(end_time=start + (800 if slow else 10) * MS)


def hexid(n, width):
    return format(n, f"0{width}x")


def value(v):
    return list(v) if isinstance(v, tuple) else v


def span_json(s):
    return {
        "trace_id": hexid(s.context.trace_id, 32),
        "span_id": hexid(s.context.span_id, 16),
        "parent_span_id": hexid(s.parent.span_id, 16) if s.parent else "",
        "name": s.name,
        "kind": s.kind.value + 1,  # OTLP numbers kinds from UNSPECIFIED = 0
        "start": s.start_time,
        "end": s.end_time,
        "attributes": {k: value(v) for k, v in s.attributes.items()},
        "events": [
            {"name": e.name, "time": e.timestamp, "attributes": {k: value(v) for k, v in e.attributes.items()}}
            for e in s.events
        ],
        "links": [
            {
                "trace_id": hexid(l.context.trace_id, 32),
                "span_id": hexid(l.context.span_id, 16),
                "attributes": {k: value(v) for k, v in l.attributes.items()},
            }
            for l in s.links
        ],
        "status": {"code": s.status.status_code.value, "message": s.status.description or ""},
        "resource": {k: value(v) for k, v in s.resource.attributes.items()},
        "scope": [s.instrumentation_scope.name, s.instrumentation_scope.version],
    }


if mode == "shop":
    shop()
else:
    sampling()
for p in providers.values():
    p.force_flush()
    p.shutdown()
if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
spans = memory.get_finished_spans()
if mode == "shop":
    print(json.dumps([span_json(s) for s in spans]))
else:
    kinds = {}
    for s in spans:
        tid = hexid(s.context.trace_id, 32)
        kinds.setdefault(tid, "fast")
        if s.status.status_code == StatusCode.ERROR:
            kinds[tid] = "error"
        elif s.parent is None and s.end_time - s.start_time >= 500 * MS and kinds[tid] != "error":
            kinds[tid] = "slow"
    print(json.dumps(kinds))
