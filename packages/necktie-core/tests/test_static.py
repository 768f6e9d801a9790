"""Static files through the pipeline: serving, index files, listings, precompressed siblings, every escape
attempt."""

from __future__ import annotations

import gzip
import os

import pytest
from pynecktie import Blueprint, Necktie
from pynecktie.codings import ranked
from pynecktie.static import safe_path


@pytest.fixture
def tree(tmp_path):
    """RELIABILITY.md G's tree: root/, root_secret/, root/link → /etc/passwd, root/a.txt.gz → secret."""
    root = tmp_path / "root"
    secret = tmp_path / "root_secret"
    root.mkdir()
    secret.mkdir()
    (secret / "x").write_bytes(b"SECRET")
    (tmp_path / "outside.txt").write_bytes(b"SECRET")
    (root / "a.txt").write_bytes(b"plain a")
    (root / "a.txt.gz").symlink_to(secret / "x")
    (root / "link").symlink_to("/etc/passwd")
    (root / "inner").symlink_to(root / "a.txt")
    (root / "sub").mkdir()
    (root / "sub" / "index.html").write_bytes(b"<p>index</p>")
    (root / "sub" / "b.css").write_bytes(b"body{}")
    (root / "noindex").mkdir()
    (root / "noindex" / "c.txt").write_bytes(b"c")
    (root / "z.txt").write_bytes(b"zzz")
    (root / "z.txt.gz").write_bytes(gzip.compress(b"zzz"))
    (root / "%2e%2e").mkdir()
    (root / "%2e%2e" / "x").write_bytes(b"literal percent dir")
    return tmp_path


@pytest.fixture
def static_app(tree):
    app = Necktie("static")
    app.static("/static", tree / "root", index="index.html", gzip=True)
    app.static("/single", tree / "root" / "a.txt", name="single")
    return app


async def test_serves_files_with_types(static_app, call):
    result = await call(static_app, "GET", "/static/a.txt")
    assert (result.status, result.body, result.content_type) == (200, b"plain a", "text/plain; charset=utf-8")
    result = await call(static_app, "GET", "/static/sub/b.css")
    assert (result.body, result.content_type) == (b"body{}", "text/css; charset=utf-8")
    assert (await call(static_app, "GET", "/single")).body == b"plain a"
    assert (await call(static_app, "GET", "/static/inner")).body == b"plain a"  # a symlink inside the root
    assert (await call(static_app, "GET", "/static/%2e%2e/x")).status == 404  # decoded once: that's ../x
    assert (await call(static_app, "GET", "/static/%252e%252e/x")).body == b"literal percent dir"


async def test_index_files_and_no_listing_by_default(static_app, call, tree):
    assert (await call(static_app, "GET", "/static/sub/")).body == b"<p>index</p>"
    assert (await call(static_app, "GET", "/static/sub")).body == b"<p>index</p>"
    assert (await call(static_app, "GET", "/static/noindex/")).status == 404
    assert (await call(static_app, "GET", "/static/")).status == 404
    (tree / "root" / "index.html").write_bytes(b"root index")
    assert (await call(static_app, "GET", "/static/")).body == b"root index"
    assert (await call(static_app, "GET", "/static")).body == b"root index"


async def test_directory_listing_when_enabled(tree, call):
    app = Necktie("listing")
    app.static("/files", tree / "root", directory_view=True)
    result = await call(app, "GET", "/files/noindex/")
    assert result.status == 200 and b'href="/files/noindex/c.txt"' in result.body


async def test_gzip_sibling_only_inside_the_root(static_app, call):
    result = await call(static_app, "GET", "/static/z.txt", {"Accept-Encoding": "gzip, br"})
    assert result.headers["Content-Encoding"] == "gzip" and gzip.decompress(result.body) == b"zzz"
    assert result.content_type == "text/plain; charset=utf-8"
    plain = await call(static_app, "GET", "/static/z.txt", {"Accept-Encoding": "gzip;q=0"})
    assert plain.body == b"zzz" and "Content-Encoding" not in plain.headers
    # a.txt.gz is a symlink out of the root: never served, not even as a sibling
    result = await call(static_app, "GET", "/static/a.txt", {"Accept-Encoding": "gzip"})
    assert result.body == b"plain a" and "Content-Encoding" not in result.headers
    assert (await call(static_app, "GET", "/static/a.txt.gz")).status == 404


HOSTILE = [
    "/static/../outside.txt", "/static/%2e%2e/outside.txt", "/static/..%2foutside.txt",
    "/static/%2e%2e%2foutside.txt", "/static/..%5coutside.txt", "/static/%252e%252e/outside.txt",
    "/static/sub/../../outside.txt", "/static/./../outside.txt", "/static/%2E%2E/root_secret/x",
    "/static//etc/passwd", "/static/%2fetc%2fpasswd", "/static/C:%5cwin", "/static/a.txt%00.png",
    "/static/../root_secret/x", "/static/link", "/static/a.txt.gz", "/static/sub/..%2F..%2Froot_secret/x",
    "/static/" + "../" * 20 + "etc/passwd", "/static/%c0%ae%c0%ae/outside.txt",
]


@pytest.mark.parametrize("target", HOSTILE)
async def test_escapes_look_exactly_like_missing_files(static_app, call, target):
    missing = await call(static_app, "GET", "/static/does-not-exist.txt")
    result = await call(static_app, "GET", target)
    assert result.status == 404
    assert b"SECRET" not in result.body and b"root:" not in result.body
    assert result.body == missing.body


async def test_following_external_symlinks_is_opt_in(tree, call):
    app = Necktie("follow")
    app.static("/s", tree / "root", follow_external_symlinks=True)
    assert (await call(app, "GET", "/s/a.txt.gz")).body == b"SECRET"
    assert (await call(app, "GET", "/s/../outside.txt")).status == 404  # still no ".." escapes


def test_safe_path_directly(tree):
    root = os.path.realpath(tree / "root")
    assert safe_path(root, "a.txt") == os.path.join(root, "a.txt")
    assert safe_path(root, "sub/./b.css") == os.path.join(root, "sub", "b.css")
    for bad in ("../x", "a/../../x", "/etc/passwd", "a\\..\\x", "a\x00b", "link", "a.txt.gz"):
        assert safe_path(root, bad) is None, bad


def test_accept_encoding_parsing():
    def accepts_gzip(value):
        return ranked(value, ("gzip",)) == ("gzip",)

    assert accepts_gzip("gzip") and accepts_gzip("br, gzip;q=0.5") and accepts_gzip("*")
    assert not accepts_gzip("") and not accepts_gzip("gzip;q=0") and not accepts_gzip("br")
    assert not accepts_gzip("*, gzip;q=0")
    offered = ("br", "zstd", "gzip")
    assert ranked("gzip;q=0.5, zstd, *;q=0.1", offered) == ("zstd", "gzip", "br")
    assert ranked("*, br;q=0", offered) == ("zstd", "gzip")


@pytest.fixture
def siblings(tree):
    """root/page.html with .br, .zst and .gz siblings; root/p.txt whose .br is a symlink out of the root."""
    root = tree / "root"
    for ext in ("", ".br", ".zst", ".gz"):
        (root / f"page.html{ext}").write_bytes(f"page{ext or ' plain'}".encode())
    (root / "p.txt").write_bytes(b"p plain")
    (root / "p.txt.br").symlink_to(tree / "root_secret" / "x")
    (root / "p.txt.gz").write_bytes(b"p gz")
    app = Necktie("siblings")
    app.static("/s", root, precompressed=True)
    app.static("/one", root / "page.html", name="one", precompressed=True)
    return app


@pytest.mark.parametrize(
    ("accept", "body", "coding"),
    [
        ("gzip, deflate, br, zstd", b"page.br", "br"),
        ("gzip, zstd", b"page.zst", "zstd"),
        ("gzip;q=1, br;q=0.5", b"page.gz", "gzip"),
        ("br;q=0, zstd;q=0, *", b"page.gz", "gzip"),
        ("identity", b"page plain", None),
        ("", b"page plain", None),
    ],
)
async def test_precompressed_siblings_are_negotiated(siblings, call, accept, body, coding):
    for path in ("/s/page.html", "/one"):
        result = await call(siblings, "GET", path, {"Accept-Encoding": accept})
        assert (result.body, result.headers.get("content-encoding")) == (body, coding), path
        assert result.headers["vary"] == "Accept-Encoding"
        assert result.content_type.startswith("text/html")


async def test_a_sibling_out_of_the_root_is_passed_over(siblings, call):
    result = await call(siblings, "GET", "/s/p.txt", {"Accept-Encoding": "br, gzip;q=0.5"})
    assert (result.body, result.headers["content-encoding"]) == (b"p gz", "gzip")
    result = await call(siblings, "GET", "/s/p.txt", {"Accept-Encoding": "br"})
    assert (result.body, result.headers.get("content-encoding")) == (b"p plain", None)


async def test_without_a_sibling_a_file_is_compressed_on_the_fly(tree, call):
    (tree / "root" / "big.txt").write_bytes(b"line of text\n" * 1000)
    app = Necktie("fly")
    app.config.COMPRESSION = True
    app.static("/s", tree / "root", precompressed=True)
    result = await call(app, "GET", "/s/big.txt", {"Accept-Encoding": "gzip"})
    assert result.headers["content-encoding"] == "gzip"
    assert gzip.decompress(result.body) == b"line of text\n" * 1000
    assert result.headers["vary"] == "Accept-Encoding"  # once
    sibling = await call(app, "GET", "/s/z.txt", {"Accept-Encoding": "gzip"})
    assert gzip.decompress(sibling.body) == b"zzz"  # the .gz as it is, not compressed twice


async def test_blueprint_static_and_url_for(tree, call):
    bp = Blueprint("assets", url_prefix="/assets")
    bp.static("/img", tree / "root")
    app = Necktie("bpstatic")
    app.blueprint(bp)
    app.static("/static", tree / "root")
    assert (await call(app, "GET", "/assets/img/a.txt")).body == b"plain a"
    assert app.url_for("static", filename="sub/b.css") == "/static/sub/b.css"
    assert app.url_for("assets.static", filename="a.txt") == "/assets/img/a.txt"


def test_static_refuses_a_missing_root(tmp_path):
    with pytest.raises(ValueError):
        Necktie("x").static("/s", tmp_path / "nope")
