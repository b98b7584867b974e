#pragma once
/// \file r2_client.hpp
/// `R2Client`: a `Store` on Cloudflare R2 (or any S3-compatible service) over HTTPS, with
/// hand-written SigV4 (region `auto`, path-style URLs), one libcurl multi handle reusing
/// connections for many requests in flight, retries with full-jitter backoff, and multipart
/// uploads for large files. See docs/r2.md.
///
/// **Example**
/// ```cpp
/// auto config = mip::R2Config::from_environment();  // AWS_ACCESS_KEY_ID, ...
/// config.bucket = "mip-packages";
/// config.prefix = "core/packages";
/// mip::R2Client store(config);
/// auto result = store.put({.key = "x.mhl", .file = "build/bundled/x.mhl",
///                          .options = {.content_type = "application/zip"}});
/// ```

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <mip/log.hpp>
#include <mip/store.hpp>

namespace mip {

inline constexpr std::uint64_t mebibyte = 1024ULL * 1024ULL;

/// Everything an `R2Client` needs. Secrets live only here and in signing; they never appear in
/// a message, a log line or `what()`.
struct R2Config {
    /// `https://<account-id>.r2.cloudflarestorage.com` (or any S3 endpoint). `http://` is refused
    /// unless `allow_insecure_loopback` and the host is 127.0.0.1, localhost or ::1.
    std::string endpoint;
    std::string bucket;
    std::string prefix;  ///< key prefix of the store ("core/packages"); no leading/trailing `/`
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;  ///< "" = none (sent as `x-amz-security-token`)
    std::string region = "auto";
    std::size_t max_in_flight = 32;  ///< batch requests in flight at once, 1–256
    unsigned retries = 5;            ///< retries after the first attempt
    std::chrono::milliseconds backoff_base{200};
    std::chrono::milliseconds backoff_cap{20000};
    std::uint64_t part_size = 8 * mebibyte;             ///< multipart part size (≥ 5 MiB)
    std::uint64_t multipart_threshold = 64 * mebibyte;  ///< files this big go multipart
    std::size_t parts_in_flight = 8;                    ///< parts of one upload at once, 1–64
    bool allow_insecure_loopback = false;
    std::string ca_file;  ///< CA bundle for TLS verification ("" = system default)
    std::chrono::milliseconds connect_timeout{10000};
    std::chrono::milliseconds stall_timeout{60000};  ///< abort a transfer stuck below 1 B/s
    std::chrono::milliseconds request_timeout{0};    ///< 0 = no overall limit per attempt
    /// One deadline per request across all its attempts and backoffs (0 = none): each attempt
    /// gets what is left, no retry starts past it, the error names it.
    std::chrono::milliseconds request_deadline{120000};
    Logger logger;

    /// Credentials from the environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (required),
    /// `AWS_SESSION_TOKEN` (optional) and `AWS_ENDPOINT_URL` (required unless `endpoint` is
    /// given, which wins). The only place libmip reads these variables. Throws `AuthError` naming
    /// the missing variable (never a value).
    [[nodiscard]] static R2Config from_environment(const std::string& endpoint = "");
    /// The same, from an explicit variable map (tests, embedding).
    [[nodiscard]] static R2Config from_environment(
        const std::map<std::string, std::string>& environment, const std::string& endpoint = "");
};

/// Counters over the client's life (or since `reset_stats()`).
struct R2Stats {
    std::uint64_t requests = 0;  ///< HTTP attempts sent, retries included
    std::uint64_t retries = 0;
    /// Retries by cause: an S3 code ("SlowDown"), "HTTP 503", or "curl 7" (connection failures).
    std::map<std::string, std::uint64_t> retries_by_reason;
    /// Failed requests (after retries) by S3 code or "HTTP <status>" / "curl <code>".
    std::map<std::string, std::uint64_t> failures_by_reason;
    std::uint64_t multipart_uploads = 0;
    std::uint64_t multipart_aborts = 0;
    bool operator==(const R2Stats&) const = default;
};

/// An unfinished multipart upload (ListMultipartUploads).
struct MultipartUploadInfo {
    std::string key;  ///< relative to the store prefix
    std::string upload_id;
    std::string initiated;
    bool operator==(const MultipartUploadInfo&) const = default;
};

/// The multipart plan for an object: `part_size = max(configured, ceil(size / 10000))` rounded
/// up to whole MiB and at least 5 MiB; all parts but the last are equal; at most 10,000 parts.
struct MultipartPlan {
    std::uint64_t part_size = 0;
    std::uint32_t part_count = 0;
    bool operator==(const MultipartPlan&) const = default;
};

/// Throws `SpecError` when no valid plan exists (object above 10,000 × 5 GiB).
[[nodiscard]] MultipartPlan plan_multipart(std::uint64_t object_size,
                                           std::uint64_t configured_part_size);

/// An S3/R2 bucket prefix as a `Store`.
///
/// Thread-safety: calls from several threads are safe and run one after another (each holds
/// the client for its duration); batch calls keep up to `max_in_flight` requests going on one
/// libcurl multi handle driven by the calling thread, so progress callbacks run on the calling
/// thread. Errors: `RemoteError` (server said no, with
/// operation, bucket/key, HTTP status, S3 code and request id), `AuthError` (401/403),
/// `NetworkError` (no usable answer after retries), `IoError` (local files), `SpecError`
/// (configuration). A 412 on a conditional put and a 404 on head/get are results, not errors.
class R2Client final : public Store {
public:
    /// Validates the configuration (endpoint scheme, limits). Throws `SpecError`, or `AuthError`
    /// when credentials are empty. Does not contact the server.
    explicit R2Client(R2Config config);
    ~R2Client() override;
    R2Client(const R2Client&) = delete;
    R2Client& operator=(const R2Client&) = delete;
    R2Client(R2Client&&) = delete;
    R2Client& operator=(R2Client&&) = delete;

    [[nodiscard]] const std::string& bucket() const noexcept;
    [[nodiscard]] const std::string& prefix() const noexcept;
    /// The endpoint URL (holds no credentials).
    [[nodiscard]] const std::string& endpoint() const noexcept;

    /// "s3://bucket/prefix".
    [[nodiscard]] std::string describe() const override;
    /// "" (an R2 bucket's public URL is not derivable from its API endpoint).
    [[nodiscard]] std::string default_base_url() const override;

    /// PutObject from `data`, or streamed from `file` (never read whole into memory), or
    /// CopyObject from `copy_from`; files of
    /// at least `multipart_threshold` bytes go multipart (parts in parallel, aborted on failure;
    /// conditions are checked with a HEAD first). `x-amz-content-sha256` carries the body's
    /// SHA-256 (the request's `sha256` when given, else computed); when computed, a single-part
    /// upload's ETag is also checked against the body's MD5.
    PutResult put(const PutRequest& request) override;
    [[nodiscard]] std::optional<std::string> get(const std::string& key) override;
    bool get_to_file(const std::string& key, const std::filesystem::path& destination) override;
    [[nodiscard]] std::optional<ObjectInfo> head(const std::string& key) override;
    /// ListObjectsV2, page after page until `IsTruncated` is false; `recursive = false` uses the
    /// delimiter `/`.
    [[nodiscard]] std::vector<ObjectInfo> list(const std::string& prefix,
                                               bool recursive = true) override;
    void remove(const std::string& key) override;

    /// Up to `min(options.max_in_flight, config.max_in_flight)` requests at once.
    [[nodiscard]] std::vector<PutResult> put_many(const std::vector<PutRequest>& requests,
                                                  const BatchOptions& options = {}) override;
    /// Each chain's next step starts as soon as its previous one succeeded, all on the same
    /// connections (no waiting for the slowest package between steps).
    [[nodiscard]] std::vector<std::vector<PutResult>> put_chains(
        const std::vector<std::vector<PutRequest>>& chains,
        const BatchOptions& options = {}) override;
    /// `put_chains` whose chains begin on these connections as `gate` lets them through.
    [[nodiscard]] std::vector<std::vector<PutResult>> put_chains_as_ready(
        const std::vector<std::vector<PutRequest>>& chains,
        ChainGate& gate,
        const BatchOptions& options = {}) override;
    /// ListObjectsV2 pages, each next page requested ahead of the GETs the previous one
    /// produced, which run meanwhile on the other connections.
    [[nodiscard]] std::vector<ListedObject> list_and_get(const std::string& prefix,
                                                         bool recursive,
                                                         const ListedGetFilter& want,
                                                         const BatchOptions& options = {}) override;
    /// GETs on the batch's connections; each result is handed over as its answer arrives
    /// (`get_many` collects them).
    void get_each(const std::vector<GetRequest>& requests,
                  const GetCallback& on_result,
                  const BatchOptions& options = {}) override;
    [[nodiscard]] std::vector<HeadResult> head_many(const std::vector<std::string>& keys,
                                                    const BatchOptions& options = {}) override;

    /// Unfinished multipart uploads whose key starts with `prefix` (relative to the store).
    [[nodiscard]] std::vector<MultipartUploadInfo> list_multipart_uploads(
        const std::string& prefix = "");
    /// Aborts one multipart upload (an unknown upload is not an error).
    void abort_multipart_upload(const std::string& key, const std::string& upload_id);

    [[nodiscard]] R2Stats stats() const;
    void reset_stats();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mip
