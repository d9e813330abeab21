"""Peer: the same echo behind FastAPI + uvicorn (what a Python developer would
otherwise write). It answers pyfleet's Execute path with the Connect JSON shape,
so one h2load body drives both.

    python bench/peers/fastapi_echo.py PORT WORKERS   (blocks; uvicorn with uvloop + httptools)
"""

from __future__ import annotations

import sys

from fastapi import FastAPI

app = FastAPI()


@app.post("/pyfleet.pool.v1.PoolService/Execute")
async def execute(request: dict) -> dict:
    # The sample adapter's echo: the arguments back as the result.
    return {"result": request.get("args", {})}


if __name__ == "__main__":
    import uvicorn

    port, workers = int(sys.argv[1]), int(sys.argv[2])
    uvicorn.run("fastapi_echo:app", host="127.0.0.1", port=port, workers=workers, loop="uvloop", http="httptools", log_level="warning", access_log=False, app_dir=sys.path[0])
