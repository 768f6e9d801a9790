"""The public API of necktie-testing, locked: changing it is a decision, not an accident."""

from __future__ import annotations

import necktie_testing


def test_exported_names() -> None:
    assert sorted(necktie_testing.__all__) == [
        "Arrival", "AsyncDuplex", "AsyncTestClient", "AsyncWebSocketSession", "Duplex", "LiveServer",
        "RawConnection", "RawResponse", "TestClient", "TestResponse", "WebSocketRejected", "WebSocketSession",
        "__version__",
    ]
    for name in necktie_testing.__all__:
        value = getattr(necktie_testing, name)
        assert name == "__version__" or value.__doc__, f"{name} has no docstring"


def test_pytest_does_not_collect_the_clients() -> None:
    assert necktie_testing.TestClient.__test__ is False
    assert necktie_testing.AsyncTestClient.__test__ is False
    assert necktie_testing.TestResponse.__test__ is False
