"""Fetch recording for the recipe worker: while a recording is active, each helper that fetches
sources appends one `source` item (format spec §3) in fetch order. Outside the worker nothing is
recorded."""

_items = None
_commit_times = []


def start():
    """Begins a recording (the worker calls this before the recipe's prepare())."""
    global _items
    _items = []
    _commit_times.clear()


def add(item, commit_time=None):
    """Records one fetched source; `commit_time` (git) feeds SOURCE_DATE_EPOCH."""
    if _items is not None:
        _items.append(dict(item))
        if commit_time is not None:
            _commit_times.append(int(commit_time))


def stop():
    """Ends the recording; returns (items in fetch order, newest commit time or None)."""
    global _items
    items, _items = (_items or []), None
    newest = max(_commit_times) if _commit_times else None
    _commit_times.clear()
    return items, newest
