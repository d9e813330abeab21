"""Run against `npm start`:  .venv/bin/python examples/python/quickstart.py"""

import os

from pyfleet import Client
from pyfleet.errors import Unknown

with Client(os.environ.get("PYFLEET_URL", "http://127.0.0.1:8080"), os.environ.get("PYFLEET_API_KEY")) as client:
    # One call.
    print("add ->", client.execute("add", {"a": 2, "b": 3}))

    # A stream: breaking out of the loop would cancel the Python generator.
    for chunk in client.stream("count", {"n": 3}):
        print("chunk ->", chunk)

    # A session: calls pinned to one worker, variables shared with Python; deleted when the block ends.
    with client.session() as session:
        session.execute("counter")
        print("counter ->", session.execute("counter"))
        session.set("greeting", "hello")
        print("getvar ->", session.execute("getvar", {"name": "greeting"}))

    # A Python exception arrives with its traceback.
    try:
        client.execute("fail", {"message": "on purpose"})
    except Unknown as error:
        assert error.tool_error is not None
        print(f"error -> unknown: {error.tool_error.type}: {error.tool_error.message}")

    # A machine on the mock provider, waited on until ready, then terminated.
    with client.spawn(gpu="a4000") as compute:
        compute.wait_until_ready(on_status=lambda c: print("compute ->", c.status))
