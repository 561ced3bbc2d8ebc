"""Function output made readable, and kept as records."""

import io
import json

from template_emulator.logs import LogBook


def test_powertools_and_emf_lines_are_printed_readably_and_kept():
    stream = io.StringIO()
    book = LogBook(stream=stream)
    log_line = {
        "level": "INFO",
        "location": "h:1",
        "message": "rendered",
        "timestamp": "t",
        "service": "s",
        "xray_trace_id": "x",
        "snapshot_id": "s1",
        "pages": 4,
    }
    metric_line = {
        "_aws": {
            "Timestamp": 0,
            "CloudWatchMetrics": [
                {"Namespace": "N", "Dimensions": [[]], "Metrics": [{"Name": "RenderTime", "Unit": "Milliseconds"}]}
            ],
        },
        "RenderTime": [15.2],
    }

    for line in (json.dumps(log_line), json.dumps(metric_line), "plain text"):
        book.write("RendererFunction", line + "\n")

    printed = [line.split(" ", 1)[1] for line in stream.getvalue().splitlines()]  # without the time
    assert printed == [
        "RendererFunction INFO rendered snapshot_id=s1 pages=4",
        "RendererFunction METRIC RenderTime=15.2 Milliseconds",
        "RendererFunction plain text",
    ]
    assert book.records("RendererFunction") == [log_line, metric_line, {"message": "plain text"}]
    assert book.records("OtherFunction") == []
