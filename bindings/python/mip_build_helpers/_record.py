"""Fetch recording for the recipe worker: while a recording is active, each helper that fetches
sources appends one `source` item (format spec §3) in fetch order, and every fetch that went
through a source mirror (helpers, and the recipe's own `requests` calls) is noted as
(original URL, fetched URL). Outside the worker nothing is recorded."""

_items = None
_commit_times = []
_mirrored = []


def start():
    """Begins a recording (the worker calls this before the recipe's prepare())."""
    global _items
    _items = []
    _commit_times.clear()
    _mirrored.clear()


def add(item, commit_time=None):
    """Records one fetched source; `commit_time` (git) feeds SOURCE_DATE_EPOCH."""
    if _items is not None:
        _items.append(dict(item))
        if commit_time is not None:
            _commit_times.append(int(commit_time))


def mirrored(url, fetched_from):
    """Notes that `url` was fetched from the mirror URL `fetched_from`."""
    if _items is not None:
        _mirrored.append([str(url), str(fetched_from)])


def stop():
    """Ends the recording; returns (items in fetch order, newest commit time or None,
    [[url, fetched_from], ...])."""
    global _items
    items, _items = (_items or []), None
    newest = max(_commit_times) if _commit_times else None
    mirrors = list(_mirrored)
    _commit_times.clear()
    _mirrored.clear()
    return items, newest, mirrors
