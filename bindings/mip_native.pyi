"""Type information for mip_native (hand-written; changes with the bindings in bindings/*.cpp).

Long calls release the GIL. Progress callbacks run on the calling thread with the GIL held; an
exception raised in one comes out of the call unchanged. Ctrl-C raises KeyboardInterrupt inside a
long call. libmip's log lines go to logging.getLogger("mip_native").
"""
import datetime
import enum
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, overload

_Path = str | os.PathLike[str]
_Seconds = float | int | datetime.timedelta
_Progress = Callable[[ProgressEvent], object] | None

__version__: str

def version() -> str: ...

# --- errors (errors.cpp) ---------------------------------------------------------------------

class MipError(Exception):
    code: str

class SpecError(MipError, ValueError):
    issues: list[tuple[str, str]]
    subject: str

class BuildError(MipError):
    package: str

class IoError(MipError, OSError):
    path: str

class ArchiveError(MipError): ...

class NetworkError(MipError):
    url: str
    curl_code: int

class RemoteError(MipError):
    http_status: int
    s3_code: str
    request_id: str
    bucket: str
    key: str
    operation: str

class AuthError(RemoteError): ...

class LockMismatch(MipError):
    differences: list[str]

class Cancelled(MipError): ...

# --- progress and reports (callbacks.cpp, report.cpp) -----------------------------------------

class ProgressPhase(enum.Enum):
    started = ...
    advanced = ...
    finished = ...

class ProgressEvent:
    stage: str
    phase: ProgressPhase
    item: str
    done: int
    total: int
    unit: str
    retries: int
    def __init__(self) -> None: ...

class ItemStatus(enum.Enum):
    done = ...
    skipped = ...
    planned = ...
    failed = ...

class ErrorCode(enum.Enum):
    internal = ...
    build_failed = ...
    invalid_spec = ...
    io = ...
    archive = ...
    network = ...
    remote = ...
    auth = ...
    cancelled = ...
    lock_mismatch = ...

class ItemResult:
    package: str
    wheel: str
    status: ItemStatus
    detail: str
    error_code: ErrorCode
    path: str
    seconds: float
    attempts: int
    def __init__(self) -> None: ...

class StageReport:
    stage: str
    dry_run: bool
    items: list[ItemResult]
    @property
    def ok(self) -> bool: ...
    def count(self, status: ItemStatus) -> int: ...
    def first_failure(self) -> ItemResult | None: ...
    def to_json(self) -> str: ...
    def __len__(self) -> int: ...

# --- metadata (package_spec.cpp) --------------------------------------------------------------

class WheelName:
    name: str
    version: str
    matlab_tag: str
    abi_tag: str
    platform_tag: str
    def __init__(self, name: str = "", version: str = "", matlab_tag: str = "any",
                 abi_tag: str = "none", platform_tag: str = "any") -> None: ...
    def str(self) -> str: ...
    def validate(self) -> list[tuple[str, str]]: ...
    @staticmethod
    def parse(text: str) -> WheelName: ...

def strip_wheel_suffix(file_name: str) -> str: ...
def normalize_package_name(name: str) -> str: ...
def check_package_name(name: str) -> str: ...
def check_version(version: str) -> str: ...
def check_tag(tag: str) -> str: ...
def cached_field_names() -> list[str]: ...

class CacheComparison:
    equal: bool
    first_difference: str
    def __bool__(self) -> bool: ...

class PackageSpec:
    name: str
    description: str
    version: str
    build_number: int
    dependencies: list[str]
    homepage: str
    repository: str
    license: str
    matlab_tag: str
    abi_tag: str
    platform_tag: str
    usage_examples: list[str]
    exposed_symbols: list[str]
    compile_script: str | None
    timestamp: str
    prepare_duration: float
    compile_duration: float
    mhl_url: str | None
    mhl_sha256: str | None
    mhl_size: int | None
    mip_json_url: str | None
    source_json: str
    build_info_json: str
    extra_fields: list[tuple[str, str]]
    source: dict[str, Any] | None
    build_info: dict[str, Any] | None
    def __init__(self, **fields: Any) -> None: ...
    def wheel(self) -> WheelName: ...
    @property
    def wheel_name(self) -> str: ...
    def validate(self) -> list[tuple[str, str]]: ...
    @staticmethod
    def from_json(text: str, origin: str = "mip.json", validate: bool = True) -> PackageSpec: ...
    @staticmethod
    def load(path: _Path) -> PackageSpec: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_dict(data: dict[str, Any], origin: str = "dict", validate: bool = True) -> PackageSpec: ...
    def to_dict(self) -> dict[str, Any]: ...

def compare_cached_fields(local: PackageSpec, published: PackageSpec) -> CacheComparison: ...

class Shard:
    index: int
    count: int
    @overload
    def __init__(self, text: str) -> None: ...
    @overload
    def __init__(self, index: int, count: int) -> None: ...
    @staticmethod
    def parse(text: str) -> Shard: ...
    def contains(self, package_name: str) -> bool: ...

# --- stores (store.cpp) -----------------------------------------------------------------------

class ObjectInfo:
    key: str
    size: int
    etag: str
    last_modified: str

class PutResult:
    key: str
    written: bool
    precondition_failed: bool
    etag: str
    attempts: int
    @property
    def error(self) -> MipError | None: ...

class BatchOptions:
    max_in_flight: int
    stage: str
    progress: _Progress
    progress_interval: float
    def __init__(self, **fields: Any) -> None: ...
    def _replace(self, **fields: Any) -> BatchOptions: ...

class PutOptions:
    content_type: str
    cache_control: str
    if_none_match: bool
    if_match: str
    accept_existing_size: int | None
    def __init__(self, **fields: Any) -> None: ...
    def _replace(self, **fields: Any) -> PutOptions: ...

class PutRequest:
    key: str
    file: Path | None
    data: bytes
    copy_from: str
    sha256: str
    options: PutOptions
    def __init__(self, **fields: Any) -> None: ...
    def _replace(self, **fields: Any) -> PutRequest: ...

class GetRequest:
    key: str
    if_none_match: str
    def __init__(self, **fields: Any) -> None: ...
    def _replace(self, **fields: Any) -> GetRequest: ...

class GetResult:
    key: str
    found: bool
    not_modified: bool
    etag: str
    attempts: int
    @property
    def data(self) -> bytes: ...
    @property
    def error(self) -> MipError | None: ...

class HeadResult:
    key: str
    info: ObjectInfo | None
    attempts: int
    @property
    def error(self) -> MipError | None: ...

class ListedObject:
    info: ObjectInfo
    got: GetResult | None

class Store:
    def describe(self) -> str: ...
    def default_base_url(self) -> str: ...
    def put(self, key: str, data: bytes | bytearray | memoryview | str | None = None, *,
            file: _Path | None = None, content_type: str = "", cache_control: str = "",
            if_none_match: bool = False, if_match: str = "", copy_from: str = "",
            sha256: str = "", accept_existing_size: int | None = None) -> PutResult: ...
    def get(self, key: str) -> bytes | None: ...
    def get_to_file(self, key: str, destination: _Path) -> bool: ...
    def head(self, key: str) -> ObjectInfo | None: ...
    def list(self, prefix: str = "", recursive: bool = True) -> list[ObjectInfo]: ...
    def remove(self, key: str) -> None: ...
    # Batch calls: keyword arguments are BatchOptions fields; per-item failures in `error`.
    def put_many(self, requests: Sequence[PutRequest], options: BatchOptions | None = None,
                 **fields: Any) -> list[PutResult]: ...
    def get_many(self, requests: Sequence[GetRequest], options: BatchOptions | None = None,
                 **fields: Any) -> list[GetResult]: ...
    def head_many(self, keys: Sequence[str], options: BatchOptions | None = None,
                  **fields: Any) -> list[HeadResult]: ...
    def put_chains(self, chains: Sequence[Sequence[PutRequest]],
                   options: BatchOptions | None = None, **fields: Any) -> list[list[PutResult]]: ...
    def list_and_get(self, prefix: str = "", recursive: bool = True, *,
                     want: Callable[[ObjectInfo], GetRequest | None],
                     options: BatchOptions | None = None, **fields: Any) -> list[ListedObject]: ...

class LocalStore(Store):
    def __init__(self, root: _Path) -> None: ...
    @property
    def root(self) -> Path: ...
    def path_for(self, key: str) -> Path: ...

class R2Config:
    endpoint: str
    bucket: str
    prefix: str
    access_key_id: str
    secret_access_key: str
    session_token: str
    region: str
    max_in_flight: int
    retries: int
    backoff_base: datetime.timedelta
    backoff_cap: datetime.timedelta
    part_size: int
    multipart_threshold: int
    parts_in_flight: int
    allow_insecure_loopback: bool
    ca_file: str
    connect_timeout: datetime.timedelta
    stall_timeout: datetime.timedelta
    request_timeout: datetime.timedelta
    request_deadline: datetime.timedelta
    def __init__(self, **fields: Any) -> None: ...
    def _replace(self, **fields: Any) -> R2Config: ...
    @staticmethod
    def from_environment(environment: dict[str, str] | None = None,
                         endpoint: str = "") -> R2Config: ...

class R2Stats:
    requests: int
    retries: int
    retries_by_reason: dict[str, int]
    failures_by_reason: dict[str, int]
    multipart_uploads: int
    multipart_aborts: int

class MultipartUploadInfo:
    key: str
    upload_id: str
    initiated: str

class R2Client(Store):
    def __init__(self, config: R2Config | None = None, **fields: Any) -> None: ...
    @property
    def bucket(self) -> str: ...
    @property
    def prefix(self) -> str: ...
    @property
    def endpoint(self) -> str: ...
    def list_multipart_uploads(self, prefix: str = "") -> list[MultipartUploadInfo]: ...
    def abort_multipart_upload(self, key: str, upload_id: str) -> None: ...
    def stats(self) -> R2Stats: ...
    def reset_stats(self) -> None: ...

def open_store(url: str, *, endpoint: str = "", allow_insecure_loopback: bool = False,
               ca_file: str = "", max_in_flight: int = 32) -> Store: ...

# --- services (run_options.cpp, bundler.cpp, preparer.cpp, compiler.cpp, uploader.cpp, ...) ----
# Each service takes its own options and the shared RunOptions: Service(options=None, run=None,
# **fields), each field a field of either.

class RunOptions:
    package: list[str]
    shard: Shard | None
    jobs: int
    keep_going: bool
    dry_run: bool
    source_date_epoch: int | None
    base_url: str
    flat_urls: bool
    format: str
    max_in_flight: int
    ca_file: str
    environment: dict[str, str] | None
    pass_env: list[str]
    progress: _Progress
    progress_interval: float
    def __init__(self, **fields: Any) -> None: ...
    def _replace(self, **fields: Any) -> RunOptions: ...
    def effective_jobs(self) -> int: ...

class BundleOptions:
    input_dir: Path
    output_dir: Path
    compression_level: int
    def __init__(self, **fields: Any) -> None: ...
    def _replace(self, **fields: Any) -> BundleOptions: ...

class BundleResult:
    wheel: str
    mhl_path: Path
    sidecar_path: Path
    sha256: str
    size: int
    entries: int

class Bundler:
    def __init__(self, options: BundleOptions | None = None, run: RunOptions | None = None,
                 **fields: Any) -> None: ...
    def bundle(self, dir: _Path, output_dir: _Path) -> BundleResult: ...
    def bundle_all(self) -> StageReport: ...
    @staticmethod
    def mhl_url(base_url: str, wheel: str, sha256: str, flat_urls: bool = False) -> str: ...

def clamp_zip_epoch(epoch: int) -> int: ...

class PrepareOptions:
    recipes: Path
    output_dir: Path
    cache_dir: Path
    force: bool
    build_type: str
    platform_tag_override: str
    recipe_timeout: int
    python: str
    python_path: str
    tag_prefix: str
    abbrev: int
    from_lock: Path
    recipe_dir: Path
    strict_toolchain: bool
    source_mirror: list[SourceMirror]  # also accepts "FROM=TO" strings
    max_download_mib: int
    max_extract_mib: int
    max_archive_entries: int
    max_compression_ratio: int
    require_https: bool
    def __init__(self, **fields: Any) -> None: ...
    def _replace(self, **fields: Any) -> PrepareOptions: ...

class Preparer:
    def __init__(self, options: PrepareOptions | None = None, run: RunOptions | None = None, *,
                 store: Store | None = None, **fields: Any) -> None: ...
    def prepare(self) -> StageReport: ...
    @property
    def options(self) -> PrepareOptions: ...
    @property
    def run(self) -> RunOptions: ...

class CompileOptions:
    input_dir: Path
    engine: str
    compile_timeout: int
    def __init__(self, **fields: Any) -> None: ...
    def _replace(self, **fields: Any) -> CompileOptions: ...

class Compiler:
    def __init__(self, options: CompileOptions | None = None, run: RunOptions | None = None,
                 **fields: Any) -> None: ...
    def compile(self) -> StageReport: ...

class TestMode(enum.Enum):
    """--test: whether publish runs the test stage."""
    skip = ...
    native = ...

class TestOptions:
    """What only the Tester reads (docs/test-stage.md)."""
    input_dir: Path
    work_dir: Path
    test: TestMode
    test_engine: str
    test_timeout: int
    glibc_floor: str
    audit_library: Path
    no_sandbox: bool
    def __init__(self, **fields: Any) -> None: ...
    def _replace(self, **fields: Any) -> TestOptions: ...

class Tester:
    """Installs each bundle as a client does, loads and tests it, checks its binaries."""
    def __init__(self, options: TestOptions | None = None, run: RunOptions | None = None,
                 **fields: Any) -> None: ...
    def test(self) -> StageReport: ...
    @staticmethod
    def failure_marker(mhl: str | os.PathLike[str]) -> Path: ...

class UploadOptions:
    input_dir: Path
    allow_overwrite: bool
    allow_octave_builds: bool
    flat_copy: bool
    def __init__(self, **fields: Any) -> None: ...
    def _replace(self, **fields: Any) -> UploadOptions: ...

class Uploader:
    def __init__(self, store: Store, options: UploadOptions | None = None,
                 run: RunOptions | None = None, **fields: Any) -> None: ...
    def upload(self) -> StageReport: ...
    @property
    def options(self) -> UploadOptions: ...
    @property
    def run(self) -> RunOptions: ...

class IndexOptions:
    strict: bool
    verify: bool
    cache_dir: Path
    full_listing: bool
    output_dir: Path
    channel: str
    allow_partial: bool
    compatibility_floor: str
    def __init__(self, **fields: Any) -> None: ...
    def _replace(self, **fields: Any) -> IndexOptions: ...

class SkippedSidecar:
    key: str
    reason: str

class IndexResult:
    packages: list[PackageSpec]
    skipped: list[SkippedSidecar]
    warnings: list[str]
    last_updated: str
    sidecars_listed: int
    sidecars_downloaded: int
    sidecar_source: str
    document: str
    def index_json(self) -> str: ...
    def packages_html(self) -> str: ...

class IndexAssembler:
    def __init__(self, store: Store, options: IndexOptions | None = None,
                 run: RunOptions | None = None, **fields: Any) -> None: ...
    def assemble(self) -> IndexResult: ...
    @staticmethod
    def write(result: IndexResult, output_dir: _Path) -> None: ...

def index_order_less(a: PackageSpec, b: PackageSpec) -> bool: ...

# --- channel page (channel_page.cpp) ----------------------------------------------------------

class IndexFormat(enum.Enum):
    automatic = ...
    r2 = ...
    current = ...

class ChannelPageOptions:
    format: IndexFormat
    channel_name: str
    site_url: str
    feed_entries: int
    def __init__(self, **fields: Any) -> None: ...
    def _replace(self, **fields: Any) -> ChannelPageOptions: ...

class PlatformChoice:
    platform: str
    entry: int | None
    version: str
    build: str

class ChannelPackage:
    name: str
    anchor: str
    newest_version: str
    entries: list[int]
    choices: list[PlatformChoice]
    warnings: list[str]
    used_by: list[str]

class ChannelSummary:
    format: IndexFormat
    channel_name: str
    platforms: list[str]
    packages: list[ChannelPackage]
    builds: int

class ChannelSite:
    packages_html: str
    feed_json: str
    feed_xml: str
    summary: ChannelSummary

def detect_index_format(index_json: str | bytes) -> IndexFormat: ...
def summarize_channel(index_json: str | bytes, options: ChannelPageOptions | None = None,
                      **fields: Any) -> ChannelSummary: ...
def render_channel_site(index_json: str | bytes, options: ChannelPageOptions | None = None,
                        **fields: Any) -> ChannelSite: ...
def write_channel_site(index_json: str | bytes, output_dir: _Path,
                       options: ChannelPageOptions | None = None, **fields: Any) -> None: ...

# --- pipeline (pipeline.cpp) ------------------------------------------------------------------

class StoreOptions:
    endpoint: str
    allow_insecure_loopback: bool
    request_deadline: int
    def __init__(self, **fields: Any) -> None: ...
    def _replace(self, **fields: Any) -> StoreOptions: ...

class PipelineOptions:
    build_dir: Path
    store: str
    run: RunOptions
    prepare: PrepareOptions
    compile: CompileOptions
    bundle: BundleOptions
    tester: TestOptions
    upload: UploadOptions
    index: IndexOptions
    store_options: StoreOptions
    def __init__(self, **fields: Any) -> None: ...
    def _replace(self, **fields: Any) -> PipelineOptions: ...
    @staticmethod
    def for_verb(verb: str, options: PipelineOptions | None = None,
                 **fields: Any) -> PipelineOptions: ...
    @staticmethod
    def sections_of(verb: str) -> list[str]: ...
    def resolved(self) -> PipelineOptions: ...
    @staticmethod
    def from_environment() -> PipelineOptions: ...

class IndexReport:
    written: bool
    index_json: Path
    packages_html: Path
    total_packages: int
    skipped: list[SkippedSidecar]
    warnings: list[str]
    sidecars_downloaded: int
    sidecar_source: str
    def to_json(self) -> str: ...

class PublishReport:
    stages: list[StageReport]
    index: IndexReport | None
    @property
    def ok(self) -> bool: ...
    def to_json(self) -> str: ...

# Keyword arguments are the verb's mip-build flags ('-' -> '_'): fields of PipelineOptions or of
# the sections PipelineOptions.sections_of(verb) names.
def prepare(options: PipelineOptions | None = None, **fields: Any) -> StageReport: ...
def compile(options: PipelineOptions | None = None, **fields: Any) -> StageReport: ...
def bundle(options: PipelineOptions | None = None, **fields: Any) -> StageReport: ...
def test(options: PipelineOptions | None = None, **fields: Any) -> StageReport: ...
def upload(options: PipelineOptions | None = None, **fields: Any) -> StageReport: ...
def index(options: PipelineOptions | None = None, **fields: Any) -> IndexReport: ...
def publish(options: PipelineOptions | None = None, **fields: Any) -> PublishReport: ...

# --- recipe helpers (helpers.cpp) -------------------------------------------------------------

class CloneResult:
    commit: str
    commit_time: int

def clone_repository_and_remove_git(repository_url: str, clone_dir: _Path, *,
                                    ref: str | None = None, timeout: int = 900) -> CloneResult: ...
def download_and_extract_zip(url: str, extract_dir: _Path = ".", *, sha256: str | None = None,
                             strip_top_level: bool = False, timeout: int = 900, retries: int = 3,
                             cache_dir: _Path | None = None, max_download_mib: int = 2048,
                             max_extract_mib: int = 8192, max_archive_entries: int = 100000,
                             max_compression_ratio: int = 200) -> str: ...
def collect_exposed_symbols(base_dir: _Path, extensions: Sequence[str] = [".m"]) -> list[str]: ...
def collect_exposed_symbols_multiple_paths(base_dir: _Path, paths: Sequence[str],
                                           extensions: Sequence[str] = [".m"]) -> list[str]: ...
def collect_exposed_symbols_recursive(package_dir: _Path, base_path: str,
                                      exclude_dirs: Sequence[str] = []) -> list[str]: ...
def create_load_and_unload_scripts(mhl_dir: _Path, dirs_to_add_to_path: Sequence[str]) -> None: ...
def generate_recursive_subdir_list(mhl_dir: _Path, base_dir: _Path,
                                   exclude_dirs: Sequence[str] = []) -> list[str]: ...
def strip_prebuilt_binaries(base_dir: _Path, compiled: bool = True,
                            keep: Sequence[str] = []) -> list[str]: ...

class AddPath:
    path: str
    recursive: bool
    exclude: list[str]
    def __init__(self, path: str, recursive: bool = False, exclude: Sequence[str] = []) -> None: ...

def expand_addpaths(mhl_dir: _Path, items: Sequence[AddPath | str]) -> list[str]: ...
def host_platform_tag(override_tag: str = "") -> str: ...

class SourceMirror:
    """URLs starting with `original` are fetched from `mirror` + the rest of the URL."""
    original: str
    mirror: str
    @overload
    def __init__(self, original: str, mirror: str) -> None: ...
    @overload
    def __init__(self, text: str) -> None: ...  # "FROM=TO"
    @staticmethod
    def parse(text: str) -> SourceMirror: ...
    def __eq__(self, other: object) -> bool: ...

def parse_source_mirrors(text: str) -> list[SourceMirror]: ...  # MIP_SOURCE_MIRRORS
def mirror_url(url: str, mirrors: Sequence[SourceMirror | str]) -> str | None: ...
