"""Sends known log records through the OpenTelemetry Python SDK's OTLP/HTTP
logs exporter (protobuf) and prints what was sent and whether every export
succeeded, as JSON.

Usage: otlp.py <logs endpoint url> <count>
"""
import json
import logging
import sys

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

url, count = sys.argv[1], int(sys.argv[2])
results = []


class Recording(OTLPLogExporter):
    def export(self, batch):
        r = super().export(batch)
        results.append(r.name)
        return r


resource = Resource.create({"service.name": "pylogs", "host.name": "box1"})
provider = LoggerProvider(resource=resource)
provider.add_log_record_processor(BatchLogRecordProcessor(Recording(endpoint=url)))
tracer = TracerProvider(resource=resource).get_tracer("otlp.py")

log = logging.getLogger("otlp.test")
log.propagate = False
log.setLevel(logging.INFO)
log.addHandler(LoggingHandler(level=logging.INFO, logger_provider=provider))

sent = []
for i in range(count):
    line = f"otlp line {i}"
    if i % 4 == 3:
        with tracer.start_as_current_span("work") as span:
            log.error(line, extra={"order.id": i})
            trace_id = format(span.get_span_context().trace_id, "032x")
        sent.append({"line": line, "severity": "ERROR", "trace_id": trace_id})
    else:
        log.info(line, extra={"order.id": i})
        sent.append({"line": line, "severity": "INFO", "trace_id": None})
provider.force_flush()
provider.shutdown()
print(json.dumps({"sent": sent, "results": results}))
