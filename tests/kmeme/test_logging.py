import json
import logging

from kmeme.logging import JsonFormatter, RequestIdFilter


def test_log_lines_are_json_with_the_request_id_and_extra_fields(client, caplog):
    record = logging.makeLogRecord(
        {"name": "kmeme.test", "levelname": "INFO", "msg": "node %s published", "args": ("42",), "node_id": 42}
    )
    RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "node 42 published"
    assert line["node_id"] == 42
    assert line["request_id"] == "-"  # outside a request
    assert line["level"] == "INFO" and line["logger"] == "kmeme.test"
