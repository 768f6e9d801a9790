"""The smallest complete carrier, quoted verbatim in docs/adapters.md ("Writing a third adapter").

An in-memory carrier: a body handed over as a list of chunks, a response recorded instead of sent.
`test_adapter_skeleton_doc.py` runs it against the guide's examples.
"""

import asyncio

from pynecktie.heads import plan_head
from pynecktie.request import ConnInfo, Request


class ListBody:
    """BodySource: the chunks it was given, one per receive(), then None."""

    def __init__(self, chunks):
        self._chunks = [chunk for chunk in chunks if chunk]

    async def receive(self):
        return self._chunks.pop(0) if self._chunks else None


class Delivered:
    """What write() returns here: the chunk is already recorded, so awaiting it does not wait."""

    def __await__(self):
        return iter(())


class RecordingSink:
    """ResponseSink: records the status, headers and body chunks."""

    def __init__(self):
        self.started = self.complete = False
        self.status, self.headers, self.chunks = 0, [], []

    def _head(self, response):
        # The rules every carrier shares: headers checked, framing ones dropped, the content type decided.
        plan = plan_head(response.status, response.content_type, response.headers)
        self.started, self.status = True, response.status
        self.headers = [(k.lower(), v) for k, v in plan.fields]
        if plan.content_type:
            self.headers.append(("content-type", plan.content_type))

    async def send(self, response, body):
        self._head(response)
        self.chunks, self.complete = [body], True

    async def start(self, response):
        self._head(response)

    def write(self, data):
        self.chunks.append(data)
        return Delivered()

    async def end(self):
        self.complete = True

    def abort(self):
        self.complete = False


async def serve_one(app, method, target, headers=(), body=()):
    """Run one request through the app; returns the RecordingSink."""
    request = Request(app, method, target, "1.1", list(headers), ConnInfo("127.0.0.1", 1, "127.0.0.1", 2))
    app.match(request)  # sets request.route and request.match_info
    request.stream = app.make_stream(request, ListBody(body))  # limited by the route's body limit
    sink = RecordingSink()
    await asyncio.get_running_loop().create_task(app.handle(request, sink))  # a task of its own
    return sink
