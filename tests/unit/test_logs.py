from __future__ import annotations

import io
import json
import logging

from ferryml.logs import configure_logging


def test_json_logs_are_one_object_per_line_with_extras() -> None:
    stream = io.StringIO()
    configure_logging("INFO", "json", stream=stream)
    logger = logging.getLogger("ferryml.test")
    logger.info("generated %d rows", 5, extra={"rows": 5, "table": "transactions"})
    logger.debug("hidden below INFO")
    [line] = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["message"] == "generated 5 rows"
    assert record["level"] == "INFO"
    assert record["logger"] == "ferryml.test"
    assert (record["rows"], record["table"]) == (5, "transactions")
    assert record["ts"].endswith("+00:00")


def test_text_logs_and_reconfiguration_replace_handlers() -> None:
    stream = io.StringIO()
    configure_logging("INFO", "json", stream=io.StringIO())
    configure_logging("WARNING", "text", stream=stream)
    logging.getLogger("ferryml.test").warning("careful")
    assert len(logging.getLogger("ferryml").handlers) == 1
    assert "WARNING ferryml.test: careful" in stream.getvalue()
