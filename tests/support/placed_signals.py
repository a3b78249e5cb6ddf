"""A real SIGINT at one exact point of the main thread's code, which no timer could hit."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def sigint_at(
    place: Callable[[FrameType, str], bool], *, profile: bool = False
) -> Iterator[list[bool]]:
    """Sends this process one SIGINT from a trace hook (a profile hook with ``profile``: it also
    sees C functions return) at the first (frame, event) that ``place`` picks; yields a list
    that holds True once it was sent, for the test to check that the placement happened."""
    sent: list[bool] = []

    def hook(frame: FrameType, event: str, arg: object) -> None:
        if not sent and place(frame, event):
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)

    if profile:
        before_profile = sys.getprofile()
        sys.setprofile(hook)
        try:
            yield sent
        finally:
            sys.setprofile(before_profile)
    else:
        before_trace = sys.gettrace()
        sys.settrace(hook)
        try:
            yield sent
        finally:
            sys.settrace(before_trace)
