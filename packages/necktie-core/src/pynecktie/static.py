"""Static files: mapping a request path onto a directory without ever leaving it.

`safe_path` is the one gate. It works on the path the router matched — already percent-decoded exactly
once, so ``%252e`` stays the literal text ``%2e`` — and refuses NUL bytes, backslashes, ``..`` segments and
absolute paths, then resolves symlinks and refuses anything whose real location is outside the root
(unless following symlinks out of it was asked for). Every refusal looks exactly like a missing file.

The file system is touched in a worker thread only (`StaticFiles.__call__` hands it one function per
request), and when the app registers the directory.
"""

from __future__ import annotations

import asyncio
import html
import os
import stat
from typing import TYPE_CHECKING
from urllib.parse import quote

from .codings import ranked
from .exceptions import NotFound
from .files import guess_type, open_response
from .response import FileResponse, HTTPResponse

if TYPE_CHECKING:
    from .request import Request


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root if root.endswith(os.sep) else root + os.sep)


def safe_path(root: str, relative: str, follow_external_symlinks: bool = False) -> str | None:
    """The file system path of *relative* under the real directory *root*, or None if it would escape.

    *root* must already be a real path (``os.path.realpath``).
    """
    found = _resolve(root, relative, follow_external_symlinks)
    return None if found is None else found[0]


def _resolve(
    root: str, relative: str, follow_external_symlinks: bool
) -> tuple[str, os.stat_result | None] | None:
    """(path, its stat or None when it does not exist) for *relative* under *root*, or None if it escapes.

    Only the components below the root are examined (one ``lstat`` each); a symlink among them sends the
    path through ``realpath`` and the containment check.
    """
    if "\x00" in relative or "\\" in relative or relative.startswith("/"):
        return None
    parts = [p for p in relative.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None
    if parts and os.path.splitdrive(parts[0])[0]:  # "C:" on Windows
        return None
    path = root
    st: os.stat_result | None = None
    for part in parts:
        path = os.path.join(path, part)
        try:
            st = os.lstat(path)
        except (OSError, ValueError):
            return os.path.join(root, *parts), None  # missing: nothing to serve, nothing escaped
        if stat.S_ISLNK(st.st_mode):
            candidate = os.path.join(root, *parts)
            try:
                real = os.path.realpath(candidate)
                st = os.stat(real)
            except (OSError, ValueError):
                return None
            if _inside(real, root):
                return real, st
            return (candidate, st) if follow_external_symlinks else None
    if st is None:
        try:
            st = os.stat(path)
        except OSError:
            return None
    return path, st


# The precompressed siblings looked for, by coding, in the order preferred when the client accepts several.
SIBLINGS = {"br": ".br", "zstd": ".zst", "gzip": ".gz"}
_CODINGS = tuple(SIBLINGS)


class StaticFiles:
    """The handler `app.static` registers: serves files under one directory (or one file)."""

    def __init__(
        self,
        file_or_directory: str | os.PathLike[str],
        *,
        index: str | list[str] | None = None,
        directory_view: bool = False,
        follow_external_symlinks: bool = False,
        precompressed: bool = False,
        gzip: bool = False,
        max_age: int | None = None,
        content_type: str | None = None,
        use_sendfile: bool = True,
    ) -> None:
        self.root = os.path.realpath(os.fspath(file_or_directory))
        self.is_file = os.path.isfile(self.root)
        if not self.is_file and not os.path.isdir(self.root):
            raise ValueError(f"static: {os.fspath(file_or_directory)!r} is neither a file nor a directory")
        self.index = [index] if isinstance(index, str) else list(index or [])
        self.directory_view = directory_view
        self.follow_external_symlinks = follow_external_symlinks
        self.precompressed = precompressed or gzip  # gzip=True: the older name, for .gz only then
        self.siblings = _CODINGS if precompressed else ("gzip",) if gzip else ()
        self.max_age = max_age
        self.content_type = content_type
        self.use_sendfile = use_sendfile
        self.__name__ = "static"

    async def __call__(self, request: Request, filename: str = "") -> FileResponse | HTTPResponse:
        """Answer one request for *filename* (relative to the root).

        Every file-system step (resolving the path, picking an index or a precompressed sibling, opening
        the file, listing a directory) runs in one worker thread: a slow disk never stalls the event loop.
        """
        accepted: tuple[str, ...] = ()
        if self.siblings:
            accepted = ranked(request.headers.get("accept-encoding", ""), self.siblings)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._answer, filename, accepted, request.path)

    def _answer(
        self, filename: str, accepted: tuple[str, ...], request_path: str
    ) -> FileResponse | HTTPResponse:
        if self.is_file:
            return self._respond(self.root, os.path.basename(self.root), accepted)
        path, st = _resolve(self.root, filename, self.follow_external_symlinks) or ("", None)
        if st is None:
            raise NotFound("File not found")
        if stat.S_ISDIR(st.st_mode):
            for name in self.index:
                relative = f"{filename.rstrip('/')}/{name}" if filename.strip("/") else name
                candidate = safe_path(self.root, relative, self.follow_external_symlinks)
                if candidate is not None and os.path.isfile(candidate):
                    return self._respond(candidate, relative, accepted)
            if self.directory_view:
                return _listing(request_path, path)
            raise NotFound("File not found")
        if not stat.S_ISREG(st.st_mode):
            raise NotFound("File not found")
        return self._respond(path, filename, accepted)

    def _respond(self, path: str, relative: str, accepted: tuple[str, ...]) -> FileResponse:
        content_type = self.content_type or guess_type(path)
        headers = {}
        if self.precompressed:
            headers["Vary"] = "Accept-Encoding"
            # A sibling goes through the same gate as the file: one that leads out of the root is not there.
            root = os.path.dirname(self.root) if self.is_file else self.root
            for coding in accepted:
                sibling = safe_path(root, relative + SIBLINGS[coding], self.follow_external_symlinks)
                if sibling is not None and os.path.isfile(sibling):
                    headers["Content-Encoding"] = coding
                    path = sibling
                    break
        response = FileResponse(
            path, 200, headers, content_type, max_age=self.max_age, use_sendfile=self.use_sendfile
        )
        open_response(response)
        return response


def _listing(request_path: str, directory: str) -> HTTPResponse:
    base = request_path if request_path.endswith("/") else request_path + "/"
    rows = []
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        name = entry.name + ("/" if entry.is_dir() else "")
        rows.append(f'<li><a href="{html.escape(quote(base + name))}">{html.escape(name)}</a></li>')
    title = html.escape(f"Index of {request_path}")
    body = (
        f"<!DOCTYPE html><html><head><meta charset=utf-8><title>{title}</title></head>"
        f"<body><h1>{title}</h1><ul>{''.join(rows)}</ul></body></html>"
    )
    return HTTPResponse(body, 200, None, "text/html; charset=utf-8")
