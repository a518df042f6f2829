import os

# Stop-gap for free-threaded CPython: protected._native does not declare
# free-threading support yet, so importing it would turn the GIL back on.
# Keep the GIL off (for this process's subprocesses and any re-exec) until the
# extension module is marked `gil_used = false`; then delete this line.
os.environ.setdefault("PYTHON_GIL", "0")
