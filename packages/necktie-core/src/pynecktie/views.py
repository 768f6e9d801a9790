"""Class-based views: `HTTPMethodView`, `CompositionView`, and the `stream` decorator."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from .exceptions import MethodNotAllowed

F = TypeVar("F", bound=Callable[..., Any])
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def stream(func: F) -> F:
    """Mark a view method as streaming: its request body is read with ``request.stream.get()``."""
    func.is_stream = True  # type: ignore[attr-defined]  # a mark read back with getattr
    return func


class HTTPMethodView:
    """A view whose methods (``get``, ``post``, ...) handle the HTTP method of the same name."""

    decorators: list[Callable[..., Any]] = []

    def dispatch_request(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """Call the method named after the request's method."""
        handler = getattr(self, request.method.lower(), None)
        if handler is None and request.method == "HEAD":
            handler = getattr(self, "get", None)
        if handler is None:
            raise MethodNotAllowed(f"Method {request.method} not allowed for URL")
        return handler(request, *args, **kwargs)

    @classmethod
    def as_view(cls, *class_args: Any, **class_kwargs: Any) -> Callable[..., Any]:
        """A handler function for `Necktie.add_route`, with the methods this class defines."""

        def view(*args: Any, **kwargs: Any) -> Any:
            self = cls(*class_args, **class_kwargs)
            return self.dispatch_request(*args, **kwargs)

        for decorator in cls.decorators:
            view = decorator(view)
        view.view_class = cls  # type: ignore[attr-defined]  # as Sanic's views expose it
        view.__doc__ = cls.__doc__
        view.__module__ = cls.__module__
        view.__name__ = cls.__name__
        view.method_handlers = {  # type: ignore[attr-defined]  # read back by Registry.add_route
            m: (getattr(cls, m.lower()), getattr(getattr(cls, m.lower()), "is_stream", False))
            for m in HTTP_METHODS
            if hasattr(cls, m.lower())
        }
        return view


class CompositionView:
    """A view assembled from plain handler functions, one or more methods each."""

    def __init__(self) -> None:
        self.method_handlers: dict[str, tuple[Callable[..., Any], bool]] = {}
        self.__name__ = type(self).__name__

    def add(self, methods: Iterable[str], handler: Callable[..., Any], stream: bool = False) -> None:
        """Serve *methods* with *handler*; ``stream=True`` hands the request body over chunk by chunk."""
        for method in methods:
            method = method.upper()
            if method not in HTTP_METHODS:
                raise ValueError(f"{method} is not a valid HTTP method")
            if method in self.method_handlers:
                raise ValueError(f"method {method} is already registered")
            self.method_handlers[method] = (handler, stream)

    def __call__(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """Call the handler registered for the request's method (GET's for HEAD); 405 for any other."""
        entry = self.method_handlers.get(request.method)
        if entry is None and request.method == "HEAD":
            entry = self.method_handlers.get("GET")
        if entry is None:
            raise MethodNotAllowed(f"Method {request.method} not allowed for URL")
        return entry[0](request, *args, **kwargs)
