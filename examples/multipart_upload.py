"""Incremental multipart: each part is handled as it arrives, so uploads of any size pass in flat memory.

Run it, then: curl -F title=holiday -F photo=@big.iso http://127.0.0.1:8000/upload
"""

import zlib

from pynecktie import Necktie
from pynecktie.response import json

app = Necktie("multipart_upload")


@app.post("/upload", stream=True, max_body_size=None)
async def upload(request):
    """Read small fields whole, stream files chunk by chunk (here: count and checksum them)."""
    fields, files = {}, []
    async for part in request.stream.multipart(max_parts=100):
        if part.filename is None:
            fields[part.name] = await part.text()
            continue
        size, crc = 0, 0
        async for chunk in part:  # write each chunk to disk or forward it here
            size += len(chunk)
            crc = zlib.crc32(chunk, crc)
        files.append({"name": part.name, "filename": part.filename,
                      "content_type": part.content_type, "size": size, "crc32": crc})
    return json({"fields": fields, "files": files})


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
