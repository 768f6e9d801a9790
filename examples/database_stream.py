"""The streaming guide's database example: rows of PostgreSQL's generate_series streamed as they are read.

Needs a running PostgreSQL with a database named ``test`` that the current user may connect to
(``.ci/run`` sets one up) and ``pip install asyncpg``.
"""

import asyncpg
from pynecktie import Necktie
from pynecktie.response import stream

app = Necktie(__name__)


@app.route("/")
async def index(request):
    async def stream_from_db(response):
        conn = await asyncpg.connect(database='test')
        async with conn.transaction():
            async for record in conn.cursor('SELECT generate_series(0, 10)'):
                response.write(record[0])

    return stream(stream_from_db)


if __name__ == '__main__':
    app.run(host='127.0.0.1', port=8000)
