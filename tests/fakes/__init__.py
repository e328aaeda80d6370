"""Fakes of the outside services: real HTTP servers on 127.0.0.1 for the real client libraries."""

from tests.fakes._server import Call
from tests.fakes.bol import FakeBol
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram

__all__ = ["Call", "FakeBol", "FakeSlack", "FakeTelegram"]
