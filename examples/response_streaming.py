"""The streaming guide's response-streaming example, unchanged: `curl localhost:8000/` prints `foo,bar`."""

from pynecktie import Necktie
from pynecktie.response import stream

app = Necktie(__name__)

@app.route("/")
async def test(request):
    async def sample_streaming_fn(response):
        response.write('foo,')
        response.write('bar')

    return stream(sample_streaming_fn, content_type='text/csv')


if __name__ == '__main__':
    app.run(host='127.0.0.1', port=8000)
