"""Static files (docs/static-files.md)."""

from pathlib import Path

from pynecktie import Necktie

app = Necktie("static_files")
PUBLIC = Path(__file__).parent / "public"

app.static("/static", PUBLIC, index="index.html", max_age=300)
app.static("/favicon.ico", PUBLIC / "favicon.ico", name="favicon")

if __name__ == "__main__":
    app.run()
