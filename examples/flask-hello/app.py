"""flask-hello: the smallest Flask app HiveMind deploys.

`/` answers with a fixed sentence (the end-to-end tests compare it byte for byte) and `/health`
with `ok`. Run it with gunicorn (see the Procfile) or `python app.py` for a quick local look.
"""

import os

from flask import Flask

app = Flask(__name__)

GREETING = "Hello from flask-hello on HiveMind!"


@app.get("/")
def index():
    return GREETING, 200, {"Content-Type": "text/plain; charset=utf-8"}


@app.get("/health")
def health():
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


if __name__ == "__main__":
    # HOST lets the platform choose the interface (HiveMind's local cloud gives every instance its
    # own 127.x.y.z address); 0.0.0.0 is right on a server behind a load balancer.
    app.run(host=os.environ.get("HOST", "0.0.0.0"), port=int(os.environ.get("PORT", "8000")))
