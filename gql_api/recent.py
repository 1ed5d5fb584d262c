"""A bounded memo: the last values remembered, oldest forgotten first."""

from __future__ import annotations

from collections import OrderedDict


class Recent(OrderedDict):
    """The last `size` values remembered, oldest forgotten first. Memos of
    subscription events only matter among the subscribers woken by the same
    events, so a few seconds' worth is enough; keeping more only made the
    garbage collector's work longer."""

    def __init__(self, size: int = 2_000):
        super().__init__()
        self.size = size

    def remember(self, key, value):
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)
        return value

    def recall(self, key):
        """The value, kept as recently used (least recently used is forgotten first)."""
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value
