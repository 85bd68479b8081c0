"""Exports a counter, an up-down counter, a gauge, an explicit-bucket
histogram and an exponential histogram with the OpenTelemetry Python SDK
(OTLP/HTTP protobuf, gzip) to the metrics endpoint given as the first
argument, then prints what was recorded as JSON, for tests/otlp_e2e.rs to
compare PromQL answers with. The exponential histogram's buckets are read
back from the SDK itself (an in-memory reader beside the exporter)."""

import json
import sys

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource

endpoint = sys.argv[1]
exporter = OTLPMetricExporter(endpoint=endpoint, compression=Compression.Gzip, timeout=10)
reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
resource = Resource.create(
    {
        "service.name": "checkout",
        "service.namespace": "shop",
        "service.instance.id": "i-1",
        "deployment.environment": "e2e",
    }
)
memory = InMemoryMetricReader()
sizes_view = View(
    instrument_name="payload.size",
    aggregation=ExponentialBucketHistogramAggregation(max_size=160, max_scale=3),
)
provider = MeterProvider(resource=resource, metric_readers=[reader, memory], views=[sizes_view])
meter = provider.get_meter("almanac.e2e")

orders = meter.create_counter("orders", unit="{order}", description="Orders placed")
orders.add(5, {"region": "eu"})
orders.add(2, {"region": "eu"})
orders.add(4, {"region": "us"})

queue = meter.create_up_down_counter("queue.size", unit="{item}")
queue.add(10)
queue.add(-3)

temperature = meter.create_gauge("room.temperature", unit="Cel")
temperature.set(21.5, {"room": "lab"})

latency = meter.create_histogram(
    "request.duration", unit="s", explicit_bucket_boundaries_advisory=[0.5, 1.0, 5.0]
)
observations = [0.2, 0.7, 0.9, 3.0, 7.5]
for v in observations:
    latency.record(v, {"route": "/pay"})

sizes = meter.create_histogram("payload.size", unit="By")
for v in [0, 3, 7, 7, 120, 900, 4096]:
    sizes.record(v, {"route": "/pay"})

recorded = None
for rm in memory.get_metrics_data().resource_metrics:
    for sm in rm.scope_metrics:
        for m in sm.metrics:
            if m.name == "payload.size":
                p = m.data.data_points[0]
                recorded = {
                    "scale": p.scale,
                    "zero_count": p.zero_count,
                    "offset": p.positive.offset,
                    "counts": list(p.positive.bucket_counts),
                    "sum": p.sum,
                    "count": p.count,
                }

ok = provider.force_flush(timeout_millis=20_000)
provider.shutdown()
if not ok:
    sys.exit("export did not complete")

bounds = [0.5, 1.0, 5.0]
buckets = {str(b) if b != int(b) else str(int(b)): sum(1 for v in observations if v <= b) for b in bounds}
buckets["+Inf"] = len(observations)
print(
    json.dumps(
        {
            "orders_total": {"eu": 7, "us": 4},
            "queue_size": 7,
            "room_temperature_celsius": 21.5,
            "request_duration_seconds_bucket": buckets,
            "request_duration_seconds_sum": sum(observations),
            "request_duration_seconds_count": len(observations),
            "payload_size_bytes": recorded,
        }
    )
)
