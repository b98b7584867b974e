"""mip_build_helpers: the helper functions mip recipes import (format spec §8).

Existing ``package.py``/``packages.py`` recipes import these names unchanged. Each function is a
thin adapter over one ``mip_native`` call (the logic lives in libmip); errors are
``mip_native.MipError`` subclasses. While a recipe runs under libmip's worker, every fetch
(``clone_repository_and_remove_git``, ``download_and_extract_zip``) is recorded so that the
package's ``mip.json`` gets its ``source`` field.

Both fetch helpers honour the source mirrors in ``MIP_SOURCE_MIRRORS`` (``FROM=TO`` entries
separated by whitespace; libmip sets it from ``--source-mirror``): the URL is fetched from the
mirror, and ``source`` keeps the URL the recipe wrote.
"""
import os

import mip_native
from mip_native import MipError, SpecError

from . import _record

__all__ = [
    "MipError",
    "clone_repository_and_remove_git",
    "download_and_extract_zip",
    "collect_exposed_symbols",
    "collect_exposed_symbols_with_extensions",
    "collect_exposed_symbols_top_level",
    "collect_exposed_symbols_multiple_paths",
    "collect_exposed_symbols_recursive",
    "create_load_and_unload_scripts",
    "create_load_m_and_unload_m",
    "create_load_and_unload_m",
    "generate_recursive_subdir_list",
    "get_current_platform_tag",
    "strip_prebuilt_binaries",
]


def _str_list(values, what):
    if values is None:
        return None
    if isinstance(values, (str, bytes, os.PathLike)):
        raise SpecError(f"{what} must be a list of strings, not a single string")
    return [os.fspath(v) for v in values]


def _fetch_url(url):
    """The URL to fetch ``url`` from: rewritten by the source mirrors (MIP_SOURCE_MIRRORS).
    A plain http:// one is refused when the run has --require-https (MIP_REQUIRE_HTTPS=1)."""
    mirrors = mip_native.parse_source_mirrors(os.environ.get("MIP_SOURCE_MIRRORS", ""))
    fetched = mip_native.mirror_url(url, mirrors)
    target = url if fetched is None else fetched
    if target.startswith("http://") and os.environ.get("MIP_REQUIRE_HTTPS") == "1":
        shown = target.split("?", 1)[0]
        raise SpecError(f"{shown}: plain http:// is refused under --require-https")
    if fetched is None:
        return url
    _record.mirrored(url, fetched)
    return fetched


def clone_repository_and_remove_git(repository_url, clone_dir, *, ref=None, timeout=900):
    """Clones ``repository_url`` (default branch, or ``ref``) into ``clone_dir`` and removes
    every ``.git``. Returns the 40-hex commit that was checked out."""
    url = os.fspath(repository_url)
    result = mip_native.clone_repository_and_remove_git(_fetch_url(url), clone_dir, ref=ref,
                                                        timeout=int(timeout))
    _record.add({"type": "git", "url": url, "ref": ref, "commit": result.commit},
                commit_time=result.commit_time)
    return result.commit


def _archive_limits():
    """The run's archive limits (``MIP_ARCHIVE_LIMITS``, set by libmip from --max-download-mib,
    --max-extract-mib, --max-archive-entries, --max-compression-ratio); {} = the defaults."""
    limits = {}
    for item in os.environ.get("MIP_ARCHIVE_LIMITS", "").split():
        key, _, value = item.partition("=")
        if key in ("max_download_mib", "max_extract_mib", "max_archive_entries",
                   "max_compression_ratio") and value.isdigit():
            limits[key] = int(value)
    return limits


def download_and_extract_zip(url, extract_dir=".", *, sha256=None, strip_top_level=False,
                             timeout=900, retries=3):
    """Downloads a zip into a private temp dir (never the cwd), checks ``sha256`` if given,
    refuses unsafe entries and archives over the run's limits (zip bombs) and extracts into
    ``extract_dir``. Returns the archive's sha256."""
    url = os.fspath(url)
    digest = mip_native.download_and_extract_zip(_fetch_url(url), extract_dir, sha256=sha256,
                                                 strip_top_level=bool(strip_top_level),
                                                 timeout=int(timeout), retries=int(retries),
                                                 **_archive_limits())
    _record.add({"type": "zip", "url": url, "sha256": digest})
    return digest


def collect_exposed_symbols(base_dir, *, extensions=None):
    """Top-level symbols of ``base_dir``: files ending in one of ``extensions`` (default
    ``[".m"]``) give their stem, ``+pkg``/``@cls`` dirs give ``pkg``/``cls``; sorted."""
    return mip_native.collect_exposed_symbols(base_dir,
                                              _str_list(extensions, "extensions") or [".m"])


def collect_exposed_symbols_with_extensions(base_dir, extensions=None):
    """Historical name of ``collect_exposed_symbols(base_dir, extensions=...)``."""
    return collect_exposed_symbols(base_dir, extensions=extensions)


def collect_exposed_symbols_top_level(base_dir, base_path="."):
    """Historical name of ``collect_exposed_symbols(base_dir)``. ``base_path`` is accepted for
    old recipes (which pass the package folder name) and ignored, as it was upstream."""
    del base_path
    return collect_exposed_symbols(base_dir)


def collect_exposed_symbols_multiple_paths(base_dir, paths, *, extensions=None):
    """Sorted union of ``collect_exposed_symbols(base_dir/path)`` over ``paths``.

    The reference's form ``collect_exposed_symbols_multiple_paths(package_dirs, base_paths)``
    (a list of directories, then their labels, which it ignored) is accepted too: the union of
    each directory's top-level symbols."""
    if not isinstance(base_dir, (str, bytes, os.PathLike)):
        dirs = _str_list(base_dir, "package_dirs")
        return mip_native.collect_exposed_symbols_multiple_paths(
            ".", [os.path.abspath(d) for d in dirs], _str_list(extensions, "extensions") or [".m"])
    return mip_native.collect_exposed_symbols_multiple_paths(
        base_dir, _str_list(paths, "paths"), _str_list(extensions, "extensions") or [".m"])


def collect_exposed_symbols_recursive(package_dir, base_path=".", exclude_dirs=None):
    """Symbols of ``package_dir/base_path`` and every directory below it, pruning
    ``exclude_dirs``, ``+…``, ``@…``, ``private`` and ``.git``.

    Real recipes call it the reference's way, ``(flam_dir, "flam", ...)``, where ``base_path``
    only labels ``package_dir``: when ``package_dir/base_path`` is no directory, ``package_dir``
    itself is walked."""
    base_path = os.fspath(base_path)
    if not os.path.isdir(os.path.join(os.fspath(package_dir), base_path)):
        base_path = "."
    return mip_native.collect_exposed_symbols_recursive(
        package_dir, base_path, _str_list(exclude_dirs, "exclude_dirs") or [])


def create_load_and_unload_scripts(mhl_dir, *, dirs_to_add_to_path):
    """Writes ``load_package.m``/``unload_package.m`` at the root of ``mhl_dir``: one
    ``addpath`` line per directory (each inside ``mhl_dir``), unload reversed with ``rmpath``."""
    mip_native.create_load_and_unload_scripts(
        mhl_dir, _str_list(dirs_to_add_to_path, "dirs_to_add_to_path"))


def create_load_m_and_unload_m(mhl_dir, package_name, subdirs=None, add_all_subdirs=False):
    """Deprecated: the reference's signature. Adds ``<package_name>`` and each
    ``<package_name>/<subdir>`` (or, with ``add_all_subdirs``, every directory below it) to the
    path, through ``create_load_and_unload_scripts``."""
    package_name = os.fspath(package_name)
    if add_all_subdirs:
        if subdirs is not None:
            raise SpecError("create_load_m_and_unload_m: add_all_subdirs=True cannot be combined "
                            "with subdirs")
        below = mip_native.generate_recursive_subdir_list(mhl_dir, package_name, [])
        dirs = [package_name] + below
    else:
        dirs = [package_name] + [f"{package_name}/{s}" for s in
                                 (_str_list(subdirs, "subdirs") or [])]
    mip_native.create_load_and_unload_scripts(mhl_dir, dirs)


# The reference's __init__ imported this (wrong) name; kept as an alias.
create_load_and_unload_m = create_load_m_and_unload_m


def generate_recursive_subdir_list(mhl_dir, *, base_dir, exclude_dirs=None):
    """Every directory strictly below ``base_dir``, ``mhl_dir``-relative with ``/``, sorted;
    prunes ``exclude_dirs``, ``.git``, ``private``, ``+…`` and ``@…``."""
    return mip_native.generate_recursive_subdir_list(
        mhl_dir, base_dir, _str_list(exclude_dirs, "exclude_dirs") or [])


def get_current_platform_tag():
    """This host's platform tag (``linux_x86_64``, ``macos_arm64``, ...); the environment
    variable ``MIP_PLATFORM_TAG`` overrides it. Unsupported hosts raise ``SpecError``."""
    return mip_native.host_platform_tag(os.environ.get("MIP_PLATFORM_TAG", ""))


def strip_prebuilt_binaries(base_dir, *, compiled=True, keep=()):
    """Removes prebuilt MEX files (and, with ``compiled``, objects and shared libraries) below
    ``base_dir``, sparing the relative paths in ``keep``. Returns the removed paths."""
    return mip_native.strip_prebuilt_binaries(base_dir, bool(compiled),
                                              _str_list(keep, "keep") or [])
