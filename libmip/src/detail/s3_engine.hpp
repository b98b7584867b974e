#pragma once
// Private: the S3 request engine of the R2 client. A `Call` is one logical S3 request (signed
// anew for every attempt, retried by policy); the `Engine` runs calls on the client's libcurl
// multi handle (s3_transport.hpp) on the calling thread, with continuations (`Call::done`) that
// may submit more calls. `run_batch` feeds a bounded window of batch items through one engine.

#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <mip/error.hpp>
#include <mip/r2_client.hpp>
#include <mip/store.hpp>

#include "detail/fd.hpp"
#include "detail/progress.hpp"
#include "detail/s3_endpoint.hpp"
#include "detail/s3_retry.hpp"
#include "detail/s3_transport.hpp"
#include "detail/sigv4.hpp"

namespace mip::detail::s3 {

namespace sv = detail::sigv4;

/// The local clock as UTC ISO 8601 (for RequestTimeTooSkewed messages).
[[nodiscard]] std::string utc_now_text();

/// One logical S3 request, possibly retried.
struct Call {
    std::string operation;  ///< "PutObject"
    std::string method;
    std::string key;  ///< full key ("" = bucket level)
    std::vector<sv::QueryParam> query;
    std::vector<sv::Header> headers;  ///< extra signed headers
    bool has_body = false;
    std::string body;                       ///< owned body, or...
    const std::string* body_ref = nullptr;  ///< ...a caller-owned one
    std::shared_ptr<UniqueFd> file;         ///< ...or a file range
    std::filesystem::path file_path;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    bool want_md5 = false;
    std::string payload_hash;
    std::string body_md5;
    std::vector<long> accepted;  ///< non-2xx statuses that are answers, not errors
    bool error_in_200 = false;   ///< CompleteMultipartUpload: <Error> inside a 200
    bool critical = false;       ///< on cancellation, let it finish (Create/Complete multipart)
    int sink_fd = -1;

    unsigned attempts = 0;
    /// Set at the first attempt from `R2Config::request_deadline` (epoch = none).
    std::chrono::steady_clock::time_point deadline{};
    bool fresh_connection = false;
    bool ambiguous = false;  ///< an earlier attempt got no answer (it may have landed)
    Exchange exchange;

    long status = 0;
    std::exception_ptr error;
    std::function<void(Call&)> done;

    [[nodiscard]] const std::string& response_body() const { return exchange.response_body; }
    [[nodiscard]] std::string header(const std::string& name) const {
        auto it = exchange.response_headers.find(name);
        return it == exchange.response_headers.end() ? std::string() : it->second;
    }
};
using CallPtr = std::shared_ptr<Call>;

/// The client's state, shared by the engine and the operations.
struct ClientState {
    R2Config config;
    Endpoint endpoint;
    sv::Credentials credentials;
    sv::SigningKeyCache keys;
    RetryPolicy policy;
    Transport transport;
    std::mt19937_64 rng{std::random_device{}()};
    mutable std::mutex stats_mutex;
    R2Stats stats;
    std::map<std::string, std::string> active_uploads;  ///< upload id → full key

    ClientState(R2Config c, Endpoint e)
        : config(std::move(c)),
          endpoint(std::move(e)),
          credentials{config.access_key_id, config.secret_access_key, config.session_token},
          policy{config.retries, config.backoff_base, config.backoff_cap},
          transport(TransportOptions{config.max_in_flight, config.ca_file, config.connect_timeout,
                                     config.stall_timeout, config.request_timeout,
                                     endpoint.loopback}) {}

    [[nodiscard]] std::string full_key(const std::string& key) const {
        return config.prefix.empty() ? key : config.prefix + "/" + key;
    }
    [[nodiscard]] std::string relative_key(const std::string& full) const {
        if (config.prefix.empty()) {
            return full;
        }
        const std::string p = config.prefix + "/";
        return full.rfind(p, 0) == 0 ? full.substr(p.size()) : full;
    }
    [[nodiscard]] std::string target(const Call& c) const {
        return "s3://" + config.bucket + (c.key.empty() ? "" : "/" + c.key);
    }

    void count(bool retry, const std::string& reason) {
        std::lock_guard lock(stats_mutex);
        if (retry) {
            ++stats.retries;
            ++stats.retries_by_reason[reason];
        } else {
            ++stats.failures_by_reason[reason];
        }
    }
    void count_request() {
        std::lock_guard lock(stats_mutex);
        ++stats.requests;
    }

    std::exception_ptr remote_error(const Call& c,
                                    long status,
                                    const std::string& code,
                                    const std::string& message,
                                    const std::string& request_id) const {
        std::string text = c.operation + " " + target(c) + ": HTTP " + std::to_string(status);
        if (!code.empty()) {
            text += " " + code;
        }
        if (!request_id.empty()) {
            text += " (request id " + request_id + ")";
        }
        if (!message.empty()) {
            text += ": " + message;
        }
        if (c.attempts > 1) {
            text += " [after " + std::to_string(c.attempts) + " attempts]";
        }
        if (code == "RequestTimeTooSkewed") {
            text += "; local clock is " + utc_now_text();
            const auto it = c.exchange.response_headers.find("date");
            if (it != c.exchange.response_headers.end()) {
                text += ", server says " + it->second;
            }
        }
        RemoteErrorInfo info;
        info.http_status = static_cast<int>(status);
        info.s3_code = code;
        info.request_id = request_id;
        info.bucket = config.bucket;
        info.key = relative_key(c.key);
        info.operation = c.operation;
        if (is_auth_failure(status)) {
            return std::make_exception_ptr(AuthError(text, std::move(info)));
        }
        return std::make_exception_ptr(RemoteError(text, std::move(info)));
    }
};

/// Runs calls on the client's multi handle, on the calling thread.
class Engine {
public:
    Engine(ClientState& impl, std::size_t limit)
        : impl_(impl), limit_(std::max<std::size_t>(1, limit)), max_limit_(limit_) {}
    ~Engine() {
        if (!running_.empty()) {
            impl_.transport.cancel_all();
        }
    }
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;
    Engine(Engine&&) = delete;
    Engine& operator=(Engine&&) = delete;

    /// Queues a call (ignored once the run is being cancelled).
    void submit(CallPtr c) {
        if (!cancelling_) {
            ready_.push_back(std::move(c));
        }
    }
    /// Queues a call ahead of every waiting one (e.g. the next listing page).
    void submit_first(CallPtr c) {
        if (!cancelling_) {
            ready_.push_front(std::move(c));
        }
    }

    /// Runs until every submitted call (and every call their continuations submit) is done.
    /// `tick` runs on this thread about once per `interval`. An exception from it (or from a
    /// continuation) cancels the transfers, lets critical calls (multipart Create/Complete)
    /// finish so that their uploads are known and can be aborted, and then propagates.
    void run(const std::function<void()>& tick = {},
             std::chrono::milliseconds interval = std::chrono::milliseconds(100));

    [[nodiscard]] std::uint32_t retries() const noexcept { return retries_; }

    /// Work that arrives from other threads while the engine runs (`put_chains_as_ready`):
    /// `pump()` submits what has arrived and returns false once nothing more will come;
    /// `idle_wait(t)` blocks up to `t` for more while no call is running. Whoever brings work
    /// calls `Transport::wakeup()` so that a wait for the network ends at once.
    void set_feed(std::function<bool()> pump,
                  std::function<void(std::chrono::milliseconds)> idle_wait) {
        pump_ = std::move(pump);
        idle_wait_ = std::move(idle_wait);
    }

private:
    using Clock = std::chrono::steady_clock;

    void start(const CallPtr& c);
    void hash_body(Call& c);
    void finish(const CallPtr& cp);
    void begin_cancel();
    void retry(const CallPtr& c,
               const std::string& what,
               const std::string& reason,
               const std::optional<std::chrono::milliseconds>& retry_after);
    void complete(Call& c, std::exception_ptr error);

    ClientState& impl_;
    std::size_t limit_;
    std::size_t max_limit_;
    std::size_t successes_ = 0;
    std::uint32_t retries_ = 0;
    std::deque<CallPtr> ready_;
    std::multimap<Clock::time_point, CallPtr> delayed_;
    std::map<Call*, CallPtr> running_;
    std::exception_ptr failure_;
    bool cancelling_ = false;
    std::function<bool()> pump_;
    std::function<void(std::chrono::milliseconds)> idle_wait_;
};

[[nodiscard]] CallPtr make_call(std::string operation, std::string method, std::string key);

/// Runs one call to completion; rethrows its error.
void run_one(ClientState& impl, const CallPtr& c);

/// "file is not what it was": an IoError's errno.
[[nodiscard]] std::error_code last_errno();

/// Opens a file to upload, read-only; its size in `size`. Throws IoError.
[[nodiscard]] std::shared_ptr<UniqueFd> open_for_reading(const std::filesystem::path& path,
                                                         std::uint64_t& size);

/// What a batch item reports: `step(key)` counts one finished request for progress; `end()`
/// ends the item, which lets the batch begin the next one; `operator()(key)` does both.
struct ItemDone {
    ProgressEmitter* progress;
    std::function<void()>* item_finished;
    void step(const std::string& key) const { progress->item_done(key); }
    void end() const { (*item_finished)(); }
    void operator()(const std::string& key) const {
        progress->item_done(key);
        (*item_finished)();
    }
};

/// Begins batch item `i` on `engine`; calls `done` once the item is over.
using SubmitItem = std::function<void(Engine& engine, std::size_t i, const ItemDone& done)>;

/// Runs `submit(engine, i, done)` for i in [0, n): items begin as earlier ones finish, at most
/// twice the request limit ahead (so a batch of 10,000 files holds a bounded number of open
/// files). `requests` is the progress total (0 = n). On failure or cancellation, the multipart
/// uploads left behind are aborted before the exception propagates.
void run_batch(ClientState& impl,
               std::size_t n,
               const BatchOptions& options,
               const SubmitItem& submit,
               std::size_t requests = 0);

/// `run_batch` over the chains `gate` lets through, in the order it lets them through (each
/// item still begins only while fewer than twice the request limit are active). `requests` is
/// the progress total (every item's); the `requests_of(i)` of items never begun count as done
/// at the end.
void run_batch_as_ready(ClientState& impl,
                        ChainGate& gate,
                        const BatchOptions& options,
                        const SubmitItem& submit,
                        std::size_t requests,
                        const std::function<std::size_t(std::size_t)>& requests_of);

/// Aborts the multipart uploads a cancelled or failed batch left behind (best effort).
void abort_leftovers(ClientState& impl) noexcept;

/// Runs `engine` to the end with `progress` told: `started`, then `first()` (the calls to begin
/// with), then `advanced` with the retries so far every `interval`. On failure or cancellation
/// the multipart uploads left behind are aborted before the exception propagates. The retries
/// are set at the end; `finished` is the caller's.
void run_with_progress(ClientState& impl,
                       Engine& engine,
                       ProgressEmitter& progress,
                       std::chrono::milliseconds interval,
                       const std::function<void()>& first);

/// The requests in flight a batch may use: its own limit within the client's, 1–256.
[[nodiscard]] std::size_t batch_limit(const ClientState& impl, const BatchOptions& options);

}  // namespace mip::detail::s3
