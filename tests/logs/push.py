"""Pushes known lines through python-logging-loki (JSON push, one request
per record) and prints what was sent and what failed, as JSON.

Usage: push.py <push url> <count>
"""
import json
import logging
import sys

import logging_loki

url, count = sys.argv[1], int(sys.argv[2])
failed = []


class Recording(logging_loki.LokiHandler):
    def handleError(self, record):
        failed.append({"line": record.getMessage(), "error": str(sys.exc_info()[1])})


handler = Recording(url=url, tags={"app": "pyapp"}, version="1")
log = logging.getLogger("shop")
log.propagate = False
log.setLevel(logging.INFO)
log.addHandler(handler)

sent = []
for i in range(count):
    line = f"py line {i} ünïcode"
    if i % 5 == 4:
        log.warning(line)
        sent.append({"line": line, "severity": "warning"})
    else:
        log.info(line)
        sent.append({"line": line, "severity": "info"})
handler.close()
print(json.dumps({"sent": sent, "failed": failed}))
