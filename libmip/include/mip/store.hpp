#pragma once
/// \file store.hpp
/// The object store the pipeline publishes into. Keys are relative to the store's prefix, with
/// `/` separators and any bytes an S3 key may hold. Single-object calls throw on failure; batch
/// calls return one result per request (in request order) and never throw for one item.
///
/// **Example**
/// ```cpp
/// auto store = mip::open_store("s3://bucket/core/packages");
/// std::vector<mip::GetRequest> reads{{"a.mhl.mip.json", {}}, {"b.mhl.mip.json", {}}};
/// for (const auto& r : store->get_many(reads, {.max_in_flight = 16})) {
///     if (r.error) { std::rethrow_exception(r.error); }
///     if (r.found) { use(r.data); }
/// }
/// ```

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <mip/log.hpp>
#include <mip/progress.hpp>
#include <mip/run_options.hpp>

namespace mip {

struct ObjectInfo {
    std::string key;
    std::uint64_t size = 0;
    std::string etag;           ///< opaque; changes when the object changes
    std::string last_modified;  ///< as the store reports it ("" if unknown)
    bool operator==(const ObjectInfo&) const = default;
};

struct PutOptions {
    std::string content_type;    ///< "" = store default
    std::string cache_control;   ///< "" = none
    bool if_none_match = false;  ///< create only (`If-None-Match: *`)
    std::string if_match;        ///< replace only this ETag ("" = unconditional)
    /// With `if_none_match`, for content-addressed keys: an object already there with exactly
    /// this many bytes is accepted as this content (`precondition_failed`, no error); one of
    /// any other size is a `RemoteError` ("exists with a different size").
    std::optional<std::uint64_t> accept_existing_size;
};

struct PutRequest {
    std::string key;
    std::optional<std::filesystem::path> file;  ///< stream this file, or else...
    std::string data;                           ///< ...upload these bytes, or else...
    /// ...copy this object of the same store (S3 CopyObject: no bytes are sent; the options'
    /// content type and cache control replace the source's).
    std::string copy_from;
    /// The body's SHA-256 (64 lowercase hex digits) when the caller already knows it, e.g. a
    /// bundle's `mhl_sha256`. The S3 client then signs it instead of reading the file to hash
    /// it, and the server's check of `x-amz-content-sha256` guards the bytes ("" = compute).
    std::string sha256;
    PutOptions options;
};

struct PutResult {
    std::string key;
    bool written = false;              ///< the object now holds our bytes
    bool precondition_failed = false;  ///< a condition did not hold (HTTP 412); not an error
    std::string etag;
    std::uint32_t attempts = 0;
    std::exception_ptr error;  ///< set on failure
};

struct GetRequest {
    std::string key;
    std::string if_none_match;  ///< an ETag: unchanged objects come back `not_modified`
};

struct GetResult {
    std::string key;
    bool found = false;
    bool not_modified = false;
    std::string data;
    std::string etag;
    std::uint32_t attempts = 0;
    std::exception_ptr error;
};

struct HeadResult {
    std::string key;
    std::optional<ObjectInfo> info;  ///< nullopt = absent
    std::uint32_t attempts = 0;
    std::exception_ptr error;
};

/// One object of a `list_and_get` listing, with its body when it was asked for.
struct ListedObject {
    ObjectInfo info;
    std::optional<GetResult> got;  ///< set when `want` returned a request for it
};

/// For `list_and_get`: the GET to make for a listed object, or nullopt to skip it.
using ListedGetFilter = std::function<std::optional<GetRequest>(const ObjectInfo&)>;

/// For `get_each`: request `index`'s result, the moment it is final. Must not throw.
using GetCallback = std::function<void(std::size_t index, GetResult result)>;

struct BatchOptions {
    std::size_t max_in_flight = 32;  ///< requests in flight at once (stores may cap it)
    ProgressCallback progress;       ///< called on the calling thread
    std::chrono::milliseconds progress_interval = default_progress_interval;
    std::string stage = "store";  ///< ProgressEvent::stage
    /// `list_and_get`: each GET's result the moment it is final, on the calling thread, before
    /// the call returns them all, so a caller can work on the first answers while the others
    /// travel (the index parses each sidecar as it arrives). Network stores call it as each GET
    /// ends; the default `list_and_get` once its GETs are over. Must not throw.
    std::function<void(const GetResult&)> on_got;
};

/// Which chains of a `put_chains_as_ready` call may start, decided one by one from any thread
/// (the upload verifies each bundle's bytes on worker threads while earlier packages are
/// already being written). Every chain must be decided exactly once: `start` or `drop` (a
/// dropped chain is never attempted). The store begins each started chain soon after it is
/// decided and returns once every chain is decided and every started one is over.
class ChainGate {
public:
    explicit ChainGate(std::size_t chains) : decided_(chains, false), undecided_(chains) {}

    /// Chain `i` may start now. Deciding a chain twice is ignored (the first decision holds).
    void start(std::size_t i) { decide(i, true); }
    /// Chain `i` never starts.
    void drop(std::size_t i) { decide(i, false); }
    /// Every chain not decided yet never starts.
    void drop_rest();

    // The store's side.

    /// Up to `max` started chains not taken yet (in the order they were started); waits up to
    /// `timeout` for one when none is waiting and some chain is undecided.
    [[nodiscard]] std::vector<std::size_t> take(std::size_t max, std::chrono::milliseconds timeout);
    /// True once every chain is decided and every started one was taken.
    [[nodiscard]] bool settled() const;
    /// `wake` runs on the deciding thread after each decision (e.g. interrupting a wait for
    /// the network); `nullptr` removes it. It must not call back into the gate.
    void on_decided(std::function<void()> wake);

private:
    void decide(std::size_t i, bool start);

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<bool> decided_;
    std::size_t undecided_;
    std::vector<std::size_t> started_;  ///< started, not taken yet
    std::size_t taken_ = 0;             ///< of `started_`
    std::function<void()> wake_;
};

/// Abstract store. Implementations: `LocalStore` (a directory), `R2Client` (S3/R2).
/// Thread-safety: a store may be used from one thread at a time; batch calls parallelise inside.
class Store {
public:
    virtual ~Store() = default;
    Store() = default;
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;
    Store(Store&&) = delete;
    Store& operator=(Store&&) = delete;

    /// Where this store is, for humans ("file:///srv/store", "s3://bucket/core/packages").
    /// Never holds credentials.
    [[nodiscard]] virtual std::string describe() const = 0;
    /// Public URL of the prefix when the store knows one (`file://…` for a local store), else "".
    [[nodiscard]] virtual std::string default_base_url() const = 0;

    virtual PutResult put(const PutRequest& request) = 0;
    /// The object's bytes, or nullopt when absent.
    [[nodiscard]] virtual std::optional<std::string> get(const std::string& key) = 0;
    /// Streams the object into `destination` (written atomically). False when absent.
    virtual bool get_to_file(const std::string& key, const std::filesystem::path& destination) = 0;
    [[nodiscard]] virtual std::optional<ObjectInfo> head(const std::string& key) = 0;
    /// Every key starting with `prefix`, sorted bytewise. With `recursive = false`, only keys
    /// with no `/` after the prefix.
    [[nodiscard]] virtual std::vector<ObjectInfo> list(const std::string& prefix,
                                                       bool recursive = true) = 0;
    /// Deletes the object; an absent key is not an error.
    virtual void remove(const std::string& key) = 0;

    /// Batch calls. The defaults run the single calls one after another; network stores
    /// override them to keep `max_in_flight` requests going.
    [[nodiscard]] virtual std::vector<PutResult> put_many(const std::vector<PutRequest>& requests,
                                                          const BatchOptions& options = {});
    [[nodiscard]] virtual std::vector<GetResult> get_many(const std::vector<GetRequest>& requests,
                                                          const BatchOptions& options = {});
    /// `get_many` that hands each result to `on_result` as soon as it is final (on the calling
    /// thread, in completion order, once per request) instead of all of them at the end, so a
    /// caller can act on the first answers while the others are in flight (the cache check
    /// decides each package when its own sidecar arrives). Throws only what `get_many` would
    /// (a cancelled batch); results delivered before that stay delivered.
    virtual void get_each(const std::vector<GetRequest>& requests,
                          const GetCallback& on_result,
                          const BatchOptions& options = {});
    [[nodiscard]] virtual std::vector<HeadResult> head_many(const std::vector<std::string>& keys,
                                                            const BatchOptions& options = {});
    /// Chains of puts: each chain's steps run in order, a step starting once the one before
    /// succeeded (a 412 is not a failure); chains run concurrently. The first failed step ends
    /// its chain: later steps are not attempted (`attempts == 0`, no error). Results are
    /// `[chain][step]`. Publishing uses it for "bundle, then its flat copy, then its sidecar"
    /// per package without waiting for every package at each step. The default runs step 1 of
    /// every chain as one `put_many`, then step 2, ...; network stores pipeline each chain.
    /// `list(prefix, recursive)` and a GET of every listed object `want` asks for. Network
    /// stores start the GETs of each listing page while the next page is being fetched, so a
    /// long listing costs about one page of waiting instead of all of them. Results sorted by
    /// key; `want` runs on the calling thread. The default lists, then calls `get_many`.
    [[nodiscard]] virtual std::vector<ListedObject> list_and_get(const std::string& prefix,
                                                                 bool recursive,
                                                                 const ListedGetFilter& want,
                                                                 const BatchOptions& options = {});
    [[nodiscard]] virtual std::vector<std::vector<PutResult>> put_chains(
        const std::vector<std::vector<PutRequest>>& chains, const BatchOptions& options = {});
    /// `put_chains` whose chains start as `gate` lets them (ChainGate), so a caller can still
    /// be checking later chains while earlier ones are written. Dropped chains stay
    /// `attempts == 0` with no error. The default runs the chains let through so far as one
    /// `put_chains` whenever it is idle; network stores begin each chain when it is let through.
    [[nodiscard]] virtual std::vector<std::vector<PutResult>> put_chains_as_ready(
        const std::vector<std::vector<PutRequest>>& chains,
        ChainGate& gate,
        const BatchOptions& options = {});

private:
    /// One request of the default `get_each`, through the single calls; never throws.
    [[nodiscard]] GetResult get_one(const GetRequest& request);
};

/// What only opening a store reads. From `RunOptions`: the logger and, for S3, `ca_file` (CA
/// bundle for TLS verification) and `max_in_flight` (requests in flight for batch calls).
struct StoreOptions {
    /// `--endpoint`, S3 only: endpoint override (else `AWS_ENDPOINT_URL`).
    std::string endpoint;
    /// `--allow-insecure-loopback`, S3 only: allow `http://` endpoints on loopback addresses
    /// (tests).
    bool allow_insecure_loopback = false;
    /// `--request-deadline`, S3 only: seconds one request may take, every retry and backoff
    /// included (0 = none); a server that accepts and never answers fails within it.
    std::uint32_t request_deadline = 120;
};

/// Opens a store from a URL: a path or `file:///…` (local directory, created if missing), or
/// `s3://bucket[/prefix]` (R2/S3; credentials from the environment). Throws `SpecError` for an
/// unsupported or malformed URL, `AuthError` when S3 credentials are missing.
///
/// **Example**
/// ```cpp
/// auto store = mip::open_store("s3://bucket/core/packages", {.endpoint = "https://acct.r2.dev"},
///                              {.max_in_flight = 64});
/// ```
[[nodiscard]] std::unique_ptr<Store> open_store(const std::string& url,
                                                const StoreOptions& options = {},
                                                const RunOptions& run = {});

}  // namespace mip
