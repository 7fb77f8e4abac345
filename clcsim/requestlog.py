"""The request log: what was asked and answered, never a token or password."""

import collections
import threading

MAX_ENTRIES = 200000  # keeps a long benchmark from eating all memory


class RequestLog:
    def __init__(self, max_entries=MAX_ENTRIES):
        self._lock = threading.Lock()
        self._entries = collections.deque(maxlen=max_entries)

    def append(self, entry):
        with self._lock:
            self._entries.append(entry)

    def entries(self):
        with self._lock:
            return [dict(entry) for entry in self._entries]

    def clear(self):
        with self._lock:
            self._entries.clear()
