"""Security schemes an app declares for its document: ``components/securitySchemes`` and, for a scheme
every operation needs, the document's top-level ``security``. A route says what it needs with its
``security=[{"name": []}]`` option (``security=[]`` for a public route under a required scheme).

    declare_security(app, "bearer", {"type": "http", "scheme": "bearer"}, required=True)
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pynecktie.app import Necktie

__all__ = ["declare_security", "declared"]

_schemes: weakref.WeakKeyDictionary[Necktie, dict[str, tuple[dict[str, Any], bool]]] = (
    weakref.WeakKeyDictionary()
)


def declare_security(app: Necktie, name: str, scheme: dict[str, Any], *, required: bool = False) -> None:
    """Declare the Security Scheme Object *scheme* as *name* in *app*'s document; *required*: every
    operation needs it unless its route says otherwise (``security=``)."""
    if not isinstance(scheme, dict) or "type" not in scheme:
        raise ValueError(f"a security scheme is a Security Scheme Object with a 'type', not {scheme!r}")
    _schemes.setdefault(app, {})[name] = (dict(scheme), required)


def declared(app: Necktie) -> dict[str, tuple[dict[str, Any], bool]]:
    """*app*'s declared schemes: name -> (scheme, required)."""
    return _schemes.get(app, {})
