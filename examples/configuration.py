"""Configuration (docs/configuration.md): defaults, NECKTIE_<NAME> variables, update_config, validation."""

from pathlib import Path

from pydantic import ValidationError
from pynecktie import Necktie
from pynecktie.config import Config, describe_error
from pynecktie.response import json

HERE = Path(__file__).parent

# -- settings are attributes of app.config, validated when they are set --
app = Necktie("configured")
app.config.REQUEST_MAX_SIZE = 10_000_000
app.config["KEEP_ALIVE_TIMEOUT"] = 15
app.config.GREETING = "hello"  # your own upper-case keys live here too


# -- many at once: from a mapping, an object's upper-case attributes, or a Python file --
class Defaults:
    RESPONSE_TIMEOUT = 30
    SHOP_CURRENCY = "EUR"


app.config.update_config({"ACCESS_LOG": False})
app.config.update_config(Defaults)
app.config.update_config(HERE / "production_settings.py")


# -- a wrong value is refused at once, naming the setting --
def set_timeout(value):
    try:
        app.config.REQUEST_TIMEOUT = value
    except ValidationError as exc:
        return describe_error(exc)
    return "ok"


# -- or build the Config yourself and hand it to the app --
strict = Necktie("strict", config=Config(REQUEST_MAX_SIZE=0, KEEP_ALIVE=False))


@app.get("/settings")
async def settings(request):
    config = request.app.config
    return json({
        "max_size": config.REQUEST_MAX_SIZE,
        "keep_alive_timeout": config.KEEP_ALIVE_TIMEOUT,
        "response_timeout": config.RESPONSE_TIMEOUT,
        "workers": config.WORKERS,
        "greeting": config.GREETING,
        "currency": config.get("SHOP_CURRENCY"),
        "missing": config.get("NOT_SET", "default"),
    })


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
