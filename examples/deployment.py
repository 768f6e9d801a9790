"""The app docs/deployment.md serves: ``necktie deployment:app`` from this directory, or run this file."""

import os

from pynecktie import Necktie
from pynecktie.response import json, stream

app = Necktie("deployment")
# One trusted proxy (nginx) in front: the client is the last X-Forwarded-For entry it adds.
app.config.update_config({"PROXIES_COUNT": 1, "REQUEST_MAX_SIZE": 10 * 1024**3})


@app.get("/")
async def whoami(request):
    return json({"client": request.client_ip, "scheme": request.scheme, "worker": os.getpid()})


@app.post("/upload", stream=True)
async def upload(request):
    async def progress(response):
        received = 0
        while (chunk := await request.stream.get()) is not None:
            received += len(chunk)
            await response.write(f"{received}\n")
    return stream(progress)


# Probes for a load balancer or Kubernetes; readiness is 503 while a check fails or the server drains.
app.config.update_config({"LIVENESS_PATH": "/livez", "READINESS_PATH": "/readyz"})


@app.listener("before_server_start")
async def open_pool(app):
    app.ctx.pool = {"connected": True}  # stands for a database pool


@app.health.check
async def database():
    return app.ctx.pool["connected"]


@app.listener("main_process_start")
async def announce(app):
    print(f"supervisor {os.getpid()} starting workers")


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8000")), workers=2, access_log=True)
