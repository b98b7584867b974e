#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mip/error.hpp>
#include <mip/r2_client.hpp>

#include "detail/fs.hpp"
#include "detail/http.hpp"
#include "detail/s3_retry.hpp"
#include "detail/s3_store.hpp"
#include "detail/s3_transport.hpp"
#include "detail/s3_xml.hpp"
#include "detail/sigv4.hpp"

namespace mip {

namespace {

namespace sv = detail::sigv4;
namespace s3 = detail::s3;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::uint64_t min_part_size = 5 * mebibyte;
constexpr std::uint64_t max_part_size = 5ULL * 1024 * mebibyte;
constexpr std::uint64_t max_parts = 10000;

// ------------------------------------------------------------------------------------------
// Endpoint

struct Endpoint {
    std::string base;         ///< scheme://host[:port]
    std::string host_header;  ///< host[:port], the port only when not the default
    bool https = true;
    bool loopback = false;
};

std::string lower(std::string s) {
    for (char& c : s) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return s;
}

Endpoint parse_endpoint(const std::string& url, bool allow_insecure_loopback) {
    const std::string shown = detail::redact_url(url);
    const auto sep = url.find("://");
    if (url.empty()) {
        throw SpecError("S3 endpoint is empty (set AWS_ENDPOINT_URL or --endpoint)");
    }
    if (sep == std::string::npos) {
        throw SpecError("S3 endpoint '" + shown + "' is not a URL (expected https://host)");
    }
    Endpoint ep;
    const std::string scheme = lower(url.substr(0, sep));
    if (scheme != "https" && scheme != "http") {
        throw SpecError("S3 endpoint '" + shown + "': scheme must be https");
    }
    ep.https = scheme == "https";
    std::string rest = url.substr(sep + 3);
    const auto end = rest.find_first_of("/?#");
    std::string authority = rest.substr(0, end);
    const std::string path = end == std::string::npos ? std::string() : rest.substr(end);
    if (authority.find('@') != std::string::npos) {
        throw SpecError("S3 endpoint '" + shown + "' must not contain credentials");
    }
    if (!path.empty() && path != "/") {
        throw SpecError("S3 endpoint '" + shown +
                        "' must not have a path (path-style addressing adds /<bucket>)");
    }
    std::string host;
    std::string port;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string::npos) {
            throw SpecError("S3 endpoint '" + shown + "': malformed IPv6 address");
        }
        host = authority.substr(0, close + 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') {
                throw SpecError("S3 endpoint '" + shown + "': malformed host");
            }
            port = authority.substr(close + 2);
        }
    } else {
        const auto colon = authority.rfind(':');
        host = authority.substr(0, colon);
        if (colon != std::string::npos) {
            port = authority.substr(colon + 1);
        }
    }
    host = lower(host);
    if (host.empty() ||
        (!port.empty() && (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
                               return c >= '0' && c <= '9';
                           })))) {
        throw SpecError("S3 endpoint '" + shown + "': malformed host or port");
    }
    const bool default_port =
        port.empty() || (ep.https && port == "443") || (!ep.https && port == "80");
    ep.host_header = default_port ? host : host + ":" + port;
    ep.base = scheme + "://" + ep.host_header;
    ep.loopback = host == "127.0.0.1" || host == "localhost" || host == "[::1]";
    if (!ep.https && !(allow_insecure_loopback && ep.loopback)) {
        throw SpecError("refusing plain http:// S3 endpoint '" + shown +
                        "': use https:// (http:// is allowed only for 127.0.0.1, localhost or "
                        "::1 with --allow-insecure-loopback)");
    }
    return ep;
}

std::string trim_slashes(std::string s) {
    while (!s.empty() && s.front() == '/') {
        s.erase(s.begin());
    }
    while (!s.empty() && s.back() == '/') {
        s.pop_back();
    }
    return s;
}

std::string quote_etag(const std::string& etag) {
    if (etag == "*" || (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"')) {
        return etag;
    }
    return "\"" + etag + "\"";
}

bool is_sha256_hex(const std::string& s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

bool looks_like_md5(const std::string& etag) {
    return etag.size() == 32 && std::all_of(etag.begin(), etag.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::string utc_now_text() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf, n);
}

// ------------------------------------------------------------------------------------------
// Files and digests

struct FileDescriptor {
    int fd = -1;
    explicit FileDescriptor(int f) : fd(f) {}
    ~FileDescriptor() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    FileDescriptor(FileDescriptor&&) = delete;
    FileDescriptor& operator=(FileDescriptor&&) = delete;
};

std::error_code last_errno() { return {errno, std::generic_category()}; }

std::shared_ptr<FileDescriptor> open_for_reading(const std::filesystem::path& path,
                                                 std::uint64_t& size) {
    auto f = std::make_shared<FileDescriptor>(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (f->fd < 0) {
        throw IoError("cannot open file for upload", path.string(), last_errno());
    }
    struct stat st {};
    if (::fstat(f->fd, &st) != 0) {
        throw IoError("cannot stat file for upload", path.string(), last_errno());
    }
    if (!S_ISREG(st.st_mode)) {
        throw IoError("not a regular file", path.string());
    }
    size = static_cast<std::uint64_t>(st.st_size);
    return f;
}

struct MdCtxDeleter {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

class Digester {
public:
    Digester() : sha_(EVP_MD_CTX_new()), md5_(EVP_MD_CTX_new()) {
        if (!sha_ || !md5_ || EVP_DigestInit_ex(sha_.get(), EVP_sha256(), nullptr) != 1 ||
            EVP_DigestInit_ex(md5_.get(), EVP_md5(), nullptr) != 1) {
            throw Error(ErrorCode::internal, "OpenSSL digest init failed");
        }
    }
    void update(const char* data, std::size_t n, bool with_md5) {
        EVP_DigestUpdate(sha_.get(), data, n);
        if (with_md5) {
            EVP_DigestUpdate(md5_.get(), data, n);
        }
    }
    std::string sha256_hex() { return finish(sha_.get()); }
    std::string md5_hex() { return finish(md5_.get()); }

private:
    static std::string finish(EVP_MD_CTX* ctx) {
        unsigned char out[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        EVP_DigestFinal_ex(ctx, out, &len);
        static constexpr char digits[] = "0123456789abcdef";
        std::string hex;
        for (unsigned i = 0; i < len; ++i) {
            hex.push_back(digits[out[i] >> 4U]);
            hex.push_back(digits[out[i] & 0x0FU]);
        }
        return hex;
    }
    MdCtx sha_;
    MdCtx md5_;
};

// ------------------------------------------------------------------------------------------
// One logical S3 request, possibly retried.

struct Call {
    std::string operation;  ///< "PutObject"
    std::string method;
    std::string key;  ///< full key ("" = bucket level)
    std::vector<sv::QueryParam> query;
    std::vector<sv::Header> headers;  ///< extra signed headers
    bool has_body = false;
    std::string body;                       ///< owned body, or...
    const std::string* body_ref = nullptr;  ///< ...a caller-owned one
    std::shared_ptr<FileDescriptor> file;   ///< ...or a file range
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
    bool fresh_connection = false;
    bool ambiguous = false;  ///< an earlier attempt got no answer (it may have landed)
    s3::Exchange exchange;

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

// ------------------------------------------------------------------------------------------
// The client's state, shared by the engine and the operations.

struct ClientState {
    R2Config config;
    Endpoint endpoint;
    sv::Credentials credentials;
    sv::SigningKeyCache keys;
    s3::RetryPolicy policy;
    s3::Transport transport;
    std::mt19937_64 rng{std::random_device{}()};
    mutable std::mutex stats_mutex;
    R2Stats stats;
    std::map<std::string, std::string> active_uploads;  ///< upload id → full key

    ClientState(R2Config c, Endpoint e)
        : config(std::move(c)),
          endpoint(std::move(e)),
          credentials{config.access_key_id, config.secret_access_key, config.session_token},
          policy{config.retries, config.backoff_base, config.backoff_cap},
          transport(s3::TransportOptions{config.max_in_flight, config.ca_file,
                                         config.connect_timeout, config.stall_timeout,
                                         config.request_timeout, endpoint.loopback}) {}

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
        if (s3::is_auth_failure(status)) {
            return std::make_exception_ptr(AuthError(text, std::move(info)));
        }
        return std::make_exception_ptr(RemoteError(text, std::move(info)));
    }
};

// ------------------------------------------------------------------------------------------
// The engine: runs calls on the client's multi handle, on the calling thread.

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
    void run(const std::function<void()>& tick = {}, milliseconds interval = milliseconds(100)) {
        auto next_tick = Clock::now() + interval;
        while (!ready_.empty() || !delayed_.empty() || !running_.empty()) {
            auto now = Clock::now();
            while (!delayed_.empty() && delayed_.begin()->first <= now) {
                ready_.push_back(std::move(delayed_.begin()->second));
                delayed_.erase(delayed_.begin());
            }
            while (!ready_.empty() && running_.size() < limit_) {
                CallPtr c = std::move(ready_.front());
                ready_.pop_front();
                start(c);
            }
            milliseconds wait(100);
            now = Clock::now();
            if (!delayed_.empty()) {
                wait =
                    std::min(wait, std::chrono::ceil<milliseconds>(delayed_.begin()->first - now));
            }
            if (tick && !cancelling_) {
                wait = std::min(wait, std::chrono::ceil<milliseconds>(next_tick - now));
            }
            wait = std::max(wait, milliseconds(0));
            if (running_.empty()) {
                if (ready_.empty() && wait.count() > 0) {
                    std::this_thread::sleep_for(wait);  // backoff: nothing else to do
                }
            } else {
                // At least 1 ms: a zero progress interval must not turn this into a busy loop.
                wait = std::max(wait, milliseconds(ready_.empty() ? 1 : 0));
                for (s3::Exchange* ex : impl_.transport.poll(wait)) {
                    auto it = running_.find(static_cast<Call*>(ex->owner));
                    if (it == running_.end()) {
                        continue;
                    }
                    CallPtr c = std::move(it->second);
                    running_.erase(it);
                    finish(c);
                }
            }
            if (failure_ && !cancelling_) {
                begin_cancel();
            }
            if (tick && !cancelling_ && Clock::now() >= next_tick) {
                next_tick = Clock::now() + interval;
                try {
                    tick();
                } catch (...) {
                    failure_ = std::current_exception();
                    begin_cancel();
                }
            }
        }
        if (failure_) {
            std::rethrow_exception(failure_);
        }
    }

    [[nodiscard]] std::uint32_t retries() const noexcept { return retries_; }

private:
    void start(const CallPtr& c) {
        try {
            ++c->attempts;
            if (c->payload_hash.empty()) {
                hash_body(*c);
            }
            if (c->sink_fd >= 0) {
                if (::ftruncate(c->sink_fd, 0) != 0 || ::lseek(c->sink_fd, 0, SEEK_SET) != 0) {
                    throw IoError("cannot rewind download file", "", last_errno());
                }
            }
            sv::Request req;
            req.method = c->method;
            req.canonical_uri = sv::object_path(impl_.config.bucket, c->key);
            req.canonical_query = sv::canonical_query(c->query);
            req.headers = c->headers;
            req.payload_hash = c->payload_hash;
            // A fresh timestamp and signature for every attempt.
            const auto sig =
                sv::sign_s3(impl_.credentials, req, impl_.endpoint.host_header,
                            std::chrono::system_clock::now(), impl_.config.region, &impl_.keys);
            s3::Exchange& ex = c->exchange;
            ex.method = c->method;
            ex.url = impl_.endpoint.base + req.canonical_uri +
                     (req.canonical_query.empty() ? "" : "?" + req.canonical_query);
            ex.header_lines.clear();
            for (const auto& h : req.headers) {
                ex.header_lines.push_back(h.name + ": " + h.value);
            }
            ex.header_lines.push_back("Authorization: " + sig.authorization);
            if (c->has_body) {
                // libcurl 7.88 would send Expect: 100-continue and stall 1 s against R2.
                ex.header_lines.emplace_back("Expect:");
            }
            ex.has_body = c->has_body;
            ex.body_memory = nullptr;
            ex.body_fd = -1;
            if (c->has_body) {
                if (c->file) {
                    ex.body_fd = c->file->fd;
                    ex.body_offset = c->offset;
                    ex.body_length = c->length;
                } else {
                    ex.body_memory = c->body_ref != nullptr ? c->body_ref : &c->body;
                }
            }
            ex.sink_fd = c->sink_fd;
            ex.fresh_connection = c->fresh_connection;
            ex.owner = c.get();
            impl_.count_request();
            impl_.transport.start(ex);
            running_.emplace(c.get(), c);
        } catch (...) {
            complete(*c, std::current_exception());
        }
    }

    void hash_body(Call& c) {
        if (!c.has_body) {
            c.payload_hash = std::string(sv::empty_payload_sha256);
            return;
        }
        Digester d;
        if (c.file) {
            std::vector<char> buf(1 << 20);
            std::uint64_t done = 0;
            while (done < c.length) {
                const auto want =
                    static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), c.length - done));
                const auto n =
                    ::pread(c.file->fd, buf.data(), want, static_cast<off_t>(c.offset + done));
                if (n < 0 && errno == EINTR) {
                    continue;
                }
                if (n <= 0) {
                    throw IoError(
                        n < 0 ? "cannot read file for upload" : "file shrank during upload",
                        c.file_path.string(), last_errno());
                }
                d.update(buf.data(), static_cast<std::size_t>(n), c.want_md5);
                done += static_cast<std::uint64_t>(n);
            }
        } else {
            const std::string& b = c.body_ref != nullptr ? *c.body_ref : c.body;
            d.update(b.data(), b.size(), c.want_md5);
        }
        c.payload_hash = d.sha256_hex();
        if (c.want_md5) {
            c.body_md5 = d.md5_hex();
        }
    }

    void finish(const CallPtr& cp) {
        Call& c = *cp;
        s3::Exchange& ex = c.exchange;
        c.status = ex.status;
        const auto& log = impl_.config.logger;
        if (log.enabled(LogLevel::debug)) {
            log.debug(c.operation + " " + impl_.target(c) + ": " +
                      (ex.curl_code != 0 ? "curl " + std::to_string(ex.curl_code)
                                         : "HTTP " + std::to_string(ex.status)) +
                      " in " +
                      std::to_string(std::chrono::duration_cast<milliseconds>(ex.elapsed).count()) +
                      " ms (attempt " + std::to_string(c.attempts) + ")");
        }
        if (ex.callback_error) {
            complete(c, ex.callback_error);
            return;
        }
        if (ex.curl_code != 0) {
            const std::string reason = "curl " + std::to_string(ex.curl_code);
            if (s3::retryable_curl_code(ex.curl_code) && c.attempts <= impl_.policy.max_retries) {
                c.ambiguous = true;
                c.fresh_connection = true;
                retry(cp, reason + " (" + ex.curl_error + ")", reason, std::nullopt);
                return;
            }
            impl_.count(false, reason);
            complete(c, std::make_exception_ptr(NetworkError(
                            c.operation + " " + impl_.target(c) + ": " + ex.curl_error +
                                " [after " + std::to_string(c.attempts) + " attempts]",
                            detail::redact_url(ex.url), ex.curl_code)));
            return;
        }
        c.fresh_connection = false;
        const long status = ex.status;
        std::optional<s3::ErrorBody> err;
        bool ok = status >= 200 && status < 300;
        if (ok && c.error_in_200) {
            err = s3::parse_error(ex.response_body);
            ok = !err.has_value();
        }
        if (!ok && !err && status >= 300) {
            err = s3::parse_error(ex.response_body);
        }
        const std::string code = err ? err->code : std::string();
        const bool accepted =
            std::find(c.accepted.begin(), c.accepted.end(), status) != c.accepted.end() &&
            code != "NoSuchBucket";
        if (ok || accepted) {
            if (limit_ < max_limit_ && ++successes_ % 8 == 0) {
                ++limit_;  // recover slowly after throttling
            }
            complete(c, nullptr);
            return;
        }
        std::string request_id = c.header("x-amz-request-id");
        if (request_id.empty() && err) {
            request_id = err->request_id;
        }
        const std::string reason = code.empty() ? "HTTP " + std::to_string(status) : code;
        if (s3::retryable_response(status, code, c.attempts) &&
            c.attempts <= impl_.policy.max_retries) {
            if (s3::is_throttle(status, code) && limit_ > 1) {
                limit_ = std::max<std::size_t>(1, limit_ / 2);
                impl_.config.logger.info("throttled (" + reason +
                                         "): lowering requests in flight to " +
                                         std::to_string(limit_));
            }
            const auto retry_after =
                s3::parse_retry_after(c.header("retry-after"), std::chrono::system_clock::now());
            retry(cp,
                  "HTTP " + std::to_string(status) + (code.empty() ? "" : " " + code) +
                      (request_id.empty() ? "" : " (request id " + request_id + ")"),
                  reason, retry_after);
            return;
        }
        impl_.count(false, reason);
        complete(
            c, impl_.remote_error(c, status, code, err ? err->message : std::string(), request_id));
    }

    void begin_cancel() {
        cancelling_ = true;
        ready_.clear();
        delayed_.clear();
        for (auto it = running_.begin(); it != running_.end();) {
            if (it->second->critical) {
                ++it;
                continue;
            }
            impl_.transport.cancel(it->second->exchange);
            it = running_.erase(it);
        }
    }

    void retry(const CallPtr& c,
               const std::string& what,
               const std::string& reason,
               const std::optional<milliseconds>& retry_after) {
        if (cancelling_) {
            complete(*c, failure_);
            return;
        }
        impl_.count(true, reason);
        ++retries_;
        const auto delay = s3::retry_delay(impl_.policy, c->attempts - 1, retry_after, impl_.rng);
        impl_.config.logger.info("retry " + std::to_string(c->attempts) + "/" +
                                 std::to_string(impl_.policy.max_retries) + " " + c->operation +
                                 " " + impl_.target(*c) + ": " + what + "; next attempt in " +
                                 std::to_string(delay.count()) + " ms");
        delayed_.emplace(Clock::now() + delay, c);
    }

    void complete(Call& c, std::exception_ptr error) {
        c.error = std::move(error);
        if (!c.done) {
            return;
        }
        try {
            auto done = std::move(c.done);
            c.done = nullptr;
            done(c);
        } catch (...) {
            if (!failure_) {
                failure_ = std::current_exception();
            }
        }
    }

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
};

CallPtr make_call(std::string operation, std::string method, std::string key) {
    auto c = std::make_shared<Call>();
    c->operation = std::move(operation);
    c->method = std::move(method);
    c->key = std::move(key);
    return c;
}

/// Runs one call to completion; rethrows its error.
void run_one(ClientState& impl, const CallPtr& c) {
    Engine engine(impl, 1);
    engine.submit(c);
    engine.run();
    if (c->error) {
        std::rethrow_exception(c->error);
    }
}

std::exception_ptr malformed(const ClientState& impl, const Call& c, const std::string& what) {
    RemoteErrorInfo info;
    info.http_status = static_cast<int>(c.status);
    info.bucket = impl.config.bucket;
    info.key = impl.relative_key(c.key);
    info.operation = c.operation;
    info.request_id = c.header("x-amz-request-id");
    return std::make_exception_ptr(
        RemoteError(c.operation + " " + impl.target(c) + ": " + what, std::move(info)));
}

ObjectInfo info_from_head(const ClientState& impl, const Call& c) {
    ObjectInfo info;
    info.key = impl.relative_key(c.key);
    info.size = std::strtoull(c.header("content-length").c_str(), nullptr, 10);
    info.etag = s3::unquote_etag(c.header("etag"));
    info.last_modified = c.header("last-modified");
    return info;
}

CallPtr head_call(const ClientState& impl, const std::string& key) {
    auto c = make_call("HeadObject", "HEAD", impl.full_key(key));
    c->accepted = {404};
    return c;
}

void add_put_headers(Call& c, const PutOptions& o, bool conditional) {
    if (!o.content_type.empty()) {
        c.headers.push_back({"content-type", o.content_type});
    }
    if (!o.cache_control.empty()) {
        c.headers.push_back({"cache-control", o.cache_control});
    }
    if (conditional && o.if_none_match) {
        c.headers.push_back({"if-none-match", "*"});
    }
    if (conditional && !o.if_match.empty()) {
        c.headers.push_back({"if-match", quote_etag(o.if_match)});
    }
}

// ------------------------------------------------------------------------------------------
// PutObject and multipart uploads, as continuations on an Engine.

struct PutJob : std::enable_shared_from_this<PutJob> {
    ClientState& impl;
    Engine& engine;
    const PutRequest& request;
    PutResult& out;
    std::function<void()> on_finished;
    std::string key;  // full key
    std::shared_ptr<FileDescriptor> file;
    std::uint64_t size = 0;
    // multipart
    MultipartPlan plan;
    std::string upload_id;
    std::vector<std::string> etags;
    std::uint32_t next_part = 1;
    std::uint32_t parts_running = 0;
    std::uint32_t parts_done = 0;
    std::exception_ptr error;

    PutJob(ClientState& i, Engine& e, const PutRequest& r, PutResult& o, std::function<void()> f)
        : impl(i), engine(e), request(r), out(o), on_finished(std::move(f)) {}

    void finish() {
        if (on_finished) {
            auto f = std::move(on_finished);
            on_finished = nullptr;
            f();
        }
    }
    void fail(std::exception_ptr e) {
        out.error = std::move(e);
        finish();
    }

    void begin() {
        out.key = request.key;
        key = impl.full_key(request.key);
        if (!request.copy_from.empty()) {
            copy_object();
            return;
        }
        try {
            if (!request.sha256.empty() && !is_sha256_hex(request.sha256)) {
                throw SpecError("put " + request.key,
                                {{"sha256", "must be 64 lowercase hex digits"}});
            }
            if (request.file) {
                file = open_for_reading(*request.file, size);
            }
        } catch (...) {
            fail(std::current_exception());
            return;
        }
        if (request.file && size >= impl.config.multipart_threshold) {
            begin_multipart();
        } else {
            single_put();
        }
    }

    void single_put() {
        auto c = make_call("PutObject", "PUT", key);
        c->has_body = true;
        // A known digest is signed as is (the server checks it); else hash the body, and keep
        // its MD5 to check the ETag.
        c->payload_hash = request.sha256;
        c->want_md5 = request.sha256.empty();
        if (file) {
            c->file = file;
            c->file_path = *request.file;
            c->length = size;
        } else {
            c->body_ref = &request.data;
        }
        const PutOptions& o = request.options;
        add_put_headers(*c, o, true);
        if (o.if_none_match || !o.if_match.empty()) {
            c->accepted = {412};
        }
        auto self = shared_from_this();
        c->done = [self](Call& call) { self->single_put_done(call); };
        engine.submit(std::move(c));
    }

    void single_put_done(Call& c) {
        out.attempts += c.attempts;
        if (c.error) {
            fail(c.error);
            return;
        }
        if (c.status == 412) {
            if (request.options.if_none_match && request.options.accept_existing_size) {
                check_existing_size();
                return;
            }
            if (c.ambiguous && request.options.if_none_match && !c.body_md5.empty()) {
                // An earlier attempt may have landed: confirm with HEAD (ETag == our MD5).
                confirm_landed(c.body_md5);
                return;
            }
            out.precondition_failed = true;
            finish();
            return;
        }
        out.etag = s3::unquote_etag(c.header("etag"));
        if (looks_like_md5(out.etag) && !c.body_md5.empty() && out.etag != c.body_md5) {
            fail(malformed(
                impl, c,
                "ETag " + out.etag + " is not the MD5 of the bytes sent (" + c.body_md5 + ")"));
            return;
        }
        out.written = true;
        finish();
    }

    void confirm_landed(const std::string& md5) {
        auto h = head_call(impl, request.key);
        auto self = shared_from_this();
        h->done = [self, md5](Call& call) {
            self->out.attempts += call.attempts;
            if (call.error) {
                self->fail(call.error);
                return;
            }
            const bool ours = call.status == 200 && s3::unquote_etag(call.header("etag")) == md5;
            self->out.written = ours;
            self->out.precondition_failed = !ours;
            self->out.etag = ours ? md5 : std::string();
            self->finish();
        };
        engine.submit(std::move(h));
    }

    /// 412 on a create-only put of a content-addressed key: the object there must have our size.
    void check_existing_size() {
        auto h = head_call(impl, request.key);
        auto self = shared_from_this();
        h->done = [self](Call& call) {
            self->out.attempts += call.attempts;
            if (call.error) {
                self->fail(call.error);
                return;
            }
            self->accept_existing(call);
        };
        engine.submit(std::move(h));
    }

    /// After a HEAD of an existing object: accepted when its size is the expected one.
    void accept_existing(const Call& head) {
        const auto info = info_from_head(impl, head);
        const auto expected = *request.options.accept_existing_size;
        if (head.status == 200 && info.size == expected) {
            out.precondition_failed = true;
            out.etag = info.etag;
            finish();
            return;
        }
        fail(malformed(impl, head,
                       head.status == 200
                           ? "exists with a different size (" + std::to_string(info.size) +
                                 " bytes, expected " + std::to_string(expected) + ")"
                           : "answered 412 to a create-only put, but the object is not there"));
    }

    // --- CopyObject ---

    void copy_object() {
        auto c = make_call("CopyObject", "PUT", key);
        c->has_body = true;  // empty: S3 wants a Content-Length on PUT
        c->headers.push_back(
            {"x-amz-copy-source",
             sv::object_path(impl.config.bucket, impl.full_key(request.copy_from))});
        c->headers.push_back({"x-amz-metadata-directive", "REPLACE"});
        add_put_headers(*c, request.options, true);
        c->accepted = {};
        if (request.options.if_none_match || !request.options.if_match.empty()) {
            c->accepted = {412};
        }
        c->error_in_200 = true;  // a copy can fail after its 200 has started
        auto self = shared_from_this();
        c->done = [self](Call& call) {
            self->out.attempts += call.attempts;
            if (call.error) {
                self->fail(call.error);
                return;
            }
            if (call.status == 412) {
                self->out.precondition_failed = true;
                self->finish();
                return;
            }
            try {
                self->out.etag = s3::parse_copy_object(call.response_body());
            } catch (const s3::S3XmlError& e) {
                self->fail(malformed(self->impl, call, e.what()));
                return;
            }
            self->out.written = true;
            self->finish();
        };
        engine.submit(std::move(c));
    }

    // --- multipart ---

    void begin_multipart() {
        try {
            plan = plan_multipart(size, impl.config.part_size);
        } catch (...) {
            fail(std::current_exception());
            return;
        }
        const PutOptions& o = request.options;
        if (o.if_none_match || !o.if_match.empty()) {
            // Conditions are checked with a HEAD before the upload (no conditional Complete).
            auto h = head_call(impl, request.key);
            auto self = shared_from_this();
            h->done = [self](Call& call) {
                self->out.attempts += call.attempts;
                if (call.error) {
                    self->fail(call.error);
                    return;
                }
                const PutOptions& opt = self->request.options;
                const bool exists = call.status == 200;
                if (exists && opt.if_none_match && opt.accept_existing_size) {
                    self->accept_existing(call);
                    return;
                }
                const bool ok = opt.if_none_match
                                    ? !exists
                                    : exists && s3::unquote_etag(call.header("etag")) ==
                                                    s3::unquote_etag(opt.if_match);
                if (!ok) {
                    self->out.precondition_failed = true;
                    self->finish();
                    return;
                }
                self->create_upload();
            };
            engine.submit(std::move(h));
            return;
        }
        create_upload();
    }

    void create_upload() {
        auto c = make_call("CreateMultipartUpload", "POST", key);
        c->query = {{"uploads", ""}};
        c->has_body = true;
        c->critical = true;
        add_put_headers(*c, request.options, false);
        auto self = shared_from_this();
        c->done = [self](Call& call) {
            self->out.attempts += call.attempts;
            if (call.error) {
                self->fail(call.error);
                return;
            }
            try {
                self->upload_id = s3::parse_initiate_multipart(call.response_body());
            } catch (const s3::S3XmlError& e) {
                self->fail(malformed(self->impl, call, e.what()));
                return;
            }
            {
                std::lock_guard lock(self->impl.stats_mutex);
                ++self->impl.stats.multipart_uploads;
            }
            self->impl.active_uploads[self->upload_id] = self->key;
            self->etags.assign(self->plan.part_count, std::string());
            self->launch_parts();
        };
        engine.submit(std::move(c));
    }

    void launch_parts() {
        while (!error && next_part <= plan.part_count &&
               parts_running < impl.config.parts_in_flight) {
            const std::uint32_t n = next_part++;
            auto c = make_call("UploadPart", "PUT", key);
            c->query = {{"partNumber", std::to_string(n)}, {"uploadId", upload_id}};
            c->has_body = true;
            c->file = file;
            c->file_path = *request.file;
            c->offset = static_cast<std::uint64_t>(n - 1) * plan.part_size;
            c->length = std::min(plan.part_size, size - c->offset);
            ++parts_running;
            auto self = shared_from_this();
            c->done = [self, n](Call& call) { self->part_done(n, call); };
            engine.submit(std::move(c));
        }
    }

    void part_done(std::uint32_t n, Call& c) {
        --parts_running;
        out.attempts += c.attempts;
        if (c.error && !error) {
            error = c.error;
        } else if (!c.error) {
            etags[n - 1] = c.header("etag");
            if (etags[n - 1].empty() && !error) {
                error = malformed(impl, c, "UploadPart " + std::to_string(n) + " returned no ETag");
            }
            ++parts_done;
        }
        if (error) {
            if (parts_running == 0) {
                abort_upload();
            }
            return;
        }
        if (parts_done == plan.part_count) {
            complete_upload();
        } else {
            launch_parts();
        }
    }

    void complete_upload() {
        std::vector<std::pair<std::uint32_t, std::string>> parts;
        for (std::uint32_t i = 0; i < plan.part_count; ++i) {
            parts.emplace_back(i + 1, etags[i]);
        }
        auto c = make_call("CompleteMultipartUpload", "POST", key);
        c->query = {{"uploadId", upload_id}};
        c->has_body = true;
        c->body = s3::complete_multipart_body(parts);
        c->headers.push_back({"content-type", "application/xml"});
        c->error_in_200 = true;
        c->critical = true;
        auto self = shared_from_this();
        c->done = [self](Call& call) { self->complete_done(call); };
        engine.submit(std::move(c));
    }

    void complete_done(Call& c) {
        out.attempts += c.attempts;
        if (c.error) {
            bool no_such_upload = false;
            try {
                std::rethrow_exception(c.error);
            } catch (const RemoteError& e) {
                no_such_upload = e.s3_code() == "NoSuchUpload";
            } catch (...) {
            }
            if (no_such_upload && c.ambiguous) {
                // A retried Complete whose first attempt landed: confirm with HEAD.
                confirm_completed();
                return;
            }
            error = c.error;
            abort_upload();
            return;
        }
        try {
            out.etag = s3::parse_complete_multipart(c.response_body());
        } catch (const s3::S3XmlError& e) {
            error = malformed(impl, c, e.what());
            abort_upload();
            return;
        }
        impl.active_uploads.erase(upload_id);
        out.written = true;
        finish();
    }

    void confirm_completed() {
        auto h = head_call(impl, request.key);
        auto self = shared_from_this();
        h->done = [self](Call& call) {
            self->out.attempts += call.attempts;
            self->impl.active_uploads.erase(self->upload_id);
            if (call.error) {
                self->fail(call.error);
                return;
            }
            const auto info = info_from_head(self->impl, call);
            if (call.status == 200 && info.size == self->size) {
                self->out.etag = info.etag;
                self->out.written = true;
                self->finish();
                return;
            }
            self->fail(malformed(self->impl, call,
                                 "CompleteMultipartUpload answered NoSuchUpload and the object is "
                                 "not there"));
        };
        engine.submit(std::move(h));
    }

    void abort_upload() {
        auto c = make_call("AbortMultipartUpload", "DELETE", key);
        c->query = {{"uploadId", upload_id}};
        c->accepted = {404};
        auto self = shared_from_this();
        c->done = [self](Call& call) {
            self->out.attempts += call.attempts;
            if (!call.error) {
                self->impl.active_uploads.erase(self->upload_id);
                std::lock_guard lock(self->impl.stats_mutex);
                ++self->impl.stats.multipart_aborts;
            } else {
                self->impl.config.logger.warning("could not abort multipart upload " +
                                                 self->upload_id + " of s3://" +
                                                 self->impl.config.bucket + "/" + self->key);
            }
            self->fail(self->error);
        };
        engine.submit(std::move(c));
    }
};

/// Aborts the multipart uploads a cancelled or failed batch left behind (best effort).
void abort_leftovers(ClientState& impl) noexcept {
    try {
        if (impl.active_uploads.empty()) {
            return;
        }
        Engine engine(impl, 8);
        const auto count = impl.active_uploads.size();
        for (const auto& [id, key] : impl.active_uploads) {
            auto c = make_call("AbortMultipartUpload", "DELETE", key);
            c->query = {{"uploadId", id}};
            c->accepted = {404};
            engine.submit(std::move(c));
        }
        impl.active_uploads.clear();
        engine.run();
        std::lock_guard lock(impl.stats_mutex);
        impl.stats.multipart_aborts += count;
    } catch (...) {
        impl.active_uploads.clear();
    }
}

/// Progress for a batch: counters updated by continuations, events sent on this thread.
class BatchProgress {
public:
    BatchProgress(const BatchOptions& options, std::size_t total) : options_(options) {
        event_.stage = options.stage;
        event_.total = total;
    }
    void started() {
        if (options_.progress) {
            event_.phase = ProgressPhase::started;
            options_.progress(event_);
        }
    }
    void add_to_total(std::size_t n) { event_.total += n; }
    void item_done(const std::string& key) {
        ++event_.done;
        event_.item = key;
    }
    void tick(std::uint32_t retries) {
        if (options_.progress) {
            event_.phase = ProgressPhase::advanced;
            event_.retries = retries;
            options_.progress(event_);
        }
    }
    void finished(std::uint32_t retries) {
        if (options_.progress) {
            event_.phase = ProgressPhase::finished;
            event_.retries = retries;
            options_.progress(event_);
        }
    }

private:
    const BatchOptions& options_;
    ProgressEvent event_;
};

/// What a batch item reports: `step(key)` counts one finished request for progress;
/// `operator()(key)` also ends the item, which lets the batch begin the next one.
struct ItemDone {
    BatchProgress* progress;
    std::function<void()>* item_finished;
    void step(const std::string& key) const { progress->item_done(key); }
    void end() const { (*item_finished)(); }
    void operator()(const std::string& key) const {
        progress->item_done(key);
        (*item_finished)();
    }
};

/// Runs `submit(engine, i, done)` for i in [0, n): items begin as earlier ones finish, at most
/// twice the request limit ahead (so a batch of 10,000 files holds a bounded number of open
/// files), and `done` must be called once per item. `requests` is the progress total.
template <typename Submit>
void run_batch(ClientState& impl,
               std::size_t n,
               const BatchOptions& options,
               Submit submit,
               std::size_t requests = 0) {
    const std::size_t limit =
        std::clamp<std::size_t>(std::min(options.max_in_flight, impl.config.max_in_flight), 1, 256);
    BatchProgress progress(options, requests == 0 ? n : requests);
    Engine engine(impl, limit);
    const std::size_t window = 2 * limit;
    std::size_t next = 0;
    std::size_t active = 0;
    bool feeding = false;
    std::function<void()> item_finished;
    const ItemDone done{&progress, &item_finished};
    // Not recursive: an item failing inside submit() only lowers `active` for the loop above it.
    auto feed = [&] {
        if (feeding) {
            return;
        }
        feeding = true;
        while (next < n && active < window) {
            ++active;
            submit(engine, next++, done);
        }
        feeding = false;
    };
    item_finished = [&] {
        --active;
        feed();
    };
    progress.started();
    try {
        feed();
        engine.run([&] { progress.tick(engine.retries()); }, options.progress_interval);
    } catch (...) {
        abort_leftovers(impl);
        throw;
    }
    progress.finished(engine.retries());
}

}  // namespace

struct R2Client::Impl : ClientState {
    using ClientState::ClientState;
    /// One network operation at a time per client: the multi handle, the signing state and the
    /// upload bookkeeping belong to the thread holding it (callers such as the prepare stage may
    /// use one store from several worker threads).
    std::mutex operation_mutex;
};

// ------------------------------------------------------------------------------------------
// Public API

MultipartPlan plan_multipart(std::uint64_t object_size, std::uint64_t configured_part_size) {
    std::uint64_t part = std::max(configured_part_size, (object_size + max_parts - 1) / max_parts);
    part = (part + mebibyte - 1) / mebibyte * mebibyte;  // whole MiB
    part = std::max(part, min_part_size);
    if (part > max_part_size) {
        throw SpecError(
            "object of " + std::to_string(object_size) +
            " bytes is too large for a multipart upload (10,000 parts of at most 5 GiB)");
    }
    const std::uint64_t count = object_size == 0 ? 1 : (object_size + part - 1) / part;
    if (count > max_parts) {
        throw SpecError("multipart upload would need " + std::to_string(count) + " parts");
    }
    return {part, static_cast<std::uint32_t>(count)};
}

R2Config R2Config::from_environment(const std::string& endpoint) {
    std::map<std::string, std::string> env;
    for (const char* name :
         {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"}) {
        if (const char* value = std::getenv(name)) {
            env[name] = value;
        }
    }
    return from_environment(env, endpoint);
}

R2Config R2Config::from_environment(const std::map<std::string, std::string>& environment,
                                    const std::string& endpoint) {
    auto get = [&](const char* name) {
        auto it = environment.find(name);
        return it == environment.end() ? std::string() : it->second;
    };
    auto require = [&](const char* name) {
        std::string v = get(name);
        if (v.empty()) {
            throw AuthError(std::string(name) +
                                " is not set: S3/R2 credentials come from the environment "
                                "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL)",
                            RemoteErrorInfo{});
        }
        return v;
    };
    R2Config c;
    c.access_key_id = require("AWS_ACCESS_KEY_ID");
    c.secret_access_key = require("AWS_SECRET_ACCESS_KEY");
    c.session_token = get("AWS_SESSION_TOKEN");
    c.endpoint = endpoint.empty() ? require("AWS_ENDPOINT_URL") : endpoint;
    return c;
}

R2Client::R2Client(R2Config config) {
    config.prefix = trim_slashes(config.prefix);
    if (config.bucket.empty() || config.bucket.find('/') != std::string::npos) {
        throw SpecError("S3 bucket name '" + config.bucket + "' is empty or contains '/'");
    }
    if (config.access_key_id.empty() || config.secret_access_key.empty()) {
        throw AuthError("S3 credentials are empty (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)",
                        RemoteErrorInfo{});
    }
    if (config.max_in_flight < 1 || config.max_in_flight > 256) {
        throw SpecError("max_in_flight must be between 1 and 256 (got " +
                        std::to_string(config.max_in_flight) + ")");
    }
    if (config.parts_in_flight < 1 || config.parts_in_flight > 64) {
        throw SpecError("parts_in_flight must be between 1 and 64");
    }
    if (config.part_size < min_part_size || config.part_size > max_part_size) {
        throw SpecError("part_size must be between 5 MiB and 5 GiB");
    }
    if (config.multipart_threshold < 1) {
        throw SpecError("multipart_threshold must be at least 1 byte");
    }
    if (config.region.empty()) {
        config.region = "auto";
    }
    Endpoint ep = parse_endpoint(config.endpoint, config.allow_insecure_loopback);
    impl_ = std::make_unique<Impl>(std::move(config), std::move(ep));
}

R2Client::~R2Client() = default;

const std::string& R2Client::bucket() const noexcept { return impl_->config.bucket; }
const std::string& R2Client::prefix() const noexcept { return impl_->config.prefix; }
const std::string& R2Client::endpoint() const noexcept { return impl_->endpoint.base; }

std::string R2Client::describe() const {
    return "s3://" + impl_->config.bucket +
           (impl_->config.prefix.empty() ? "" : "/" + impl_->config.prefix);
}

std::string R2Client::default_base_url() const { return {}; }

PutResult R2Client::put(const PutRequest& request) {
    std::lock_guard lock(impl_->operation_mutex);
    PutResult out;
    {
        Engine engine(*impl_, impl_->config.parts_in_flight);
        try {
            auto job = std::make_shared<PutJob>(*impl_, engine, request, out, nullptr);
            job->begin();
            engine.run();
        } catch (...) {
            abort_leftovers(*impl_);
            throw;
        }
    }
    if (out.error) {
        std::rethrow_exception(out.error);
    }
    return out;
}

std::vector<PutResult> R2Client::put_many(const std::vector<PutRequest>& requests,
                                          const BatchOptions& options) {
    std::lock_guard lock(impl_->operation_mutex);
    std::vector<PutResult> results(requests.size());
    run_batch(*impl_, requests.size(), options, [&](Engine& engine, std::size_t i, auto done) {
        auto job = std::make_shared<PutJob>(*impl_, engine, requests[i], results[i],
                                            [&results, i, done] { done(results[i].key); });
        job->begin();
    });
    return results;
}

std::vector<std::vector<PutResult>> R2Client::put_chains(
    const std::vector<std::vector<PutRequest>>& chains, const BatchOptions& options) {
    std::lock_guard lock(impl_->operation_mutex);
    std::vector<std::vector<PutResult>> results(chains.size());
    std::size_t requests = 0;
    for (std::size_t i = 0; i < chains.size(); ++i) {
        results[i].resize(chains[i].size());
        for (std::size_t k = 0; k < chains[i].size(); ++k) {
            results[i][k].key = chains[i][k].key;
        }
        requests += chains[i].size();
    }
    // Step k's completion begins step k + 1; a failed step ends its chain (the rest count as
    // done for progress, not attempted).
    std::vector<std::function<void(std::size_t)>> step(chains.size());
    run_batch(
        *impl_, chains.size(), options,
        [&](Engine& engine, std::size_t i, const ItemDone& done) {
            step[i] = [this, &engine, &chains, &results, &step, i, done](std::size_t k) {
                if (k == chains[i].size()) {
                    done.end();
                    return;
                }
                auto job = std::make_shared<PutJob>(
                    *impl_, engine, chains[i][k], results[i][k], [&results, &step, i, k, done] {
                        done.step(results[i][k].key);
                        if (!results[i][k].error) {
                            step[i](k + 1);
                            return;
                        }
                        for (std::size_t rest = k + 1; rest < results[i].size(); ++rest) {
                            done.step(results[i][rest].key);
                        }
                        done.end();
                    });
                job->begin();
            };
            step[i](0);
        },
        requests);
    return results;
}

namespace {

/// A finished GetObject as a GetResult (404 = absent, 304 = not modified).
void fill_get_result(GetResult& r, Call& call, const std::string& if_none_match) {
    r.attempts = call.attempts;
    if (call.error) {
        r.error = call.error;
    } else if (call.status == 304) {
        r.found = true;
        r.not_modified = true;
        r.etag = s3::unquote_etag(if_none_match);
    } else if (call.status != 404) {
        r.found = true;
        r.data = std::move(call.exchange.response_body);
        r.etag = s3::unquote_etag(call.header("etag"));
    }
}

/// One ListObjectsV2 page request.
CallPtr list_call(const std::string& s3_prefix, bool recursive, const std::string& token) {
    auto c = make_call("ListObjectsV2", "GET", "");
    c->query = {{"list-type", "2"}, {"max-keys", "1000"}};
    if (!s3_prefix.empty()) {
        c->query.push_back({"prefix", s3_prefix});
    }
    if (!recursive) {
        c->query.push_back({"delimiter", "/"});
    }
    if (!token.empty()) {
        c->query.push_back({"continuation-token", token});
    }
    return c;
}

/// A page's body, parsed; a malformed one is a RemoteError naming the request.
s3::ListPage parse_page(const ClientState& impl, const Call& c) {
    try {
        return s3::parse_list_objects_v2(c.response_body());
    } catch (const s3::S3XmlError& e) {
        std::rethrow_exception(malformed(impl, c, e.what()));
    }
}

CallPtr get_call(const ClientState& impl,
                 const std::string& key,
                 const std::string& if_none_match) {
    auto c = make_call("GetObject", "GET", impl.full_key(key));
    c->accepted = {404, 304};
    if (!if_none_match.empty()) {
        c->headers.push_back({"if-none-match", quote_etag(if_none_match)});
    }
    return c;
}

}  // namespace

std::optional<std::string> R2Client::get(const std::string& key) {
    std::lock_guard lock(impl_->operation_mutex);
    auto c = get_call(*impl_, key, "");
    run_one(*impl_, c);
    if (c->status == 404) {
        return std::nullopt;
    }
    return std::move(c->exchange.response_body);
}

std::vector<GetResult> R2Client::get_many(const std::vector<GetRequest>& requests,
                                          const BatchOptions& options) {
    std::lock_guard lock(impl_->operation_mutex);
    std::vector<GetResult> results(requests.size());
    run_batch(*impl_, requests.size(), options, [&](Engine& engine, std::size_t i, auto done) {
        auto c = get_call(*impl_, requests[i].key, requests[i].if_none_match);
        results[i].key = requests[i].key;
        c->done = [&results, &requests, i, done](Call& call) {
            fill_get_result(results[i], call, requests[i].if_none_match);
            done(results[i].key);
        };
        engine.submit(std::move(c));
    });
    return results;
}

bool R2Client::get_to_file(const std::string& key, const std::filesystem::path& destination) {
    std::lock_guard lock(impl_->operation_mutex);
    const auto tmp = detail::temp_sibling(destination);
    FileDescriptor fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.fd < 0) {
        throw IoError("cannot create download file", tmp.string(), last_errno());
    }
    struct Unlink {
        const std::filesystem::path& path;
        bool keep = false;
        ~Unlink() {
            if (!keep) {
                ::unlink(path.c_str());
            }
        }
    } cleanup{tmp};
    auto c = get_call(*impl_, key, "");
    c->accepted = {404};
    c->sink_fd = fd.fd;
    run_one(*impl_, c);
    if (c->status == 404) {
        return false;
    }
    if (::fsync(fd.fd) != 0) {
        throw IoError("cannot fsync download file", tmp.string(), last_errno());
    }
    detail::rename_path(tmp, destination);
    cleanup.keep = true;
    return true;
}

std::optional<ObjectInfo> R2Client::head(const std::string& key) {
    std::lock_guard lock(impl_->operation_mutex);
    auto c = head_call(*impl_, key);
    run_one(*impl_, c);
    if (c->status == 404) {
        return std::nullopt;
    }
    return info_from_head(*impl_, *c);
}

std::vector<HeadResult> R2Client::head_many(const std::vector<std::string>& keys,
                                            const BatchOptions& options) {
    std::lock_guard lock(impl_->operation_mutex);
    std::vector<HeadResult> results(keys.size());
    run_batch(*impl_, keys.size(), options, [&](Engine& engine, std::size_t i, auto done) {
        auto c = head_call(*impl_, keys[i]);
        results[i].key = keys[i];
        ClientState* impl = impl_.get();
        c->done = [&results, i, done, impl](Call& call) {
            HeadResult& r = results[i];
            r.attempts = call.attempts;
            if (call.error) {
                r.error = call.error;
            } else if (call.status != 404) {
                r.info = info_from_head(*impl, call);
            }
            done(r.key);
        };
        engine.submit(std::move(c));
    });
    return results;
}

std::vector<ObjectInfo> R2Client::list(const std::string& prefix, bool recursive) {
    std::lock_guard lock(impl_->operation_mutex);
    const std::string s3_prefix =
        impl_->config.prefix.empty() ? prefix : impl_->config.prefix + "/" + prefix;
    std::vector<ObjectInfo> out;
    std::string token;
    std::set<std::string> seen_tokens;
    for (;;) {
        auto c = list_call(s3_prefix, recursive, token);
        run_one(*impl_, c);
        s3::ListPage page = parse_page(*impl_, *c);
        for (auto& o : page.objects) {
            o.key = impl_->relative_key(o.key);
            out.push_back(std::move(o));
        }
        if (!page.truncated) {
            break;
        }
        if (!seen_tokens.insert(page.next_continuation_token).second) {
            std::rethrow_exception(
                malformed(*impl_, *c, "ListObjectsV2 repeated a continuation token"));
        }
        token = page.next_continuation_token;
    }
    std::sort(out.begin(), out.end(),
              [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    return out;
}

std::vector<ListedObject> R2Client::list_and_get(const std::string& prefix,
                                                 bool recursive,
                                                 const ListedGetFilter& want,
                                                 const BatchOptions& options) {
    std::lock_guard lock(impl_->operation_mutex);
    const std::string s3_prefix =
        impl_->config.prefix.empty() ? prefix : impl_->config.prefix + "/" + prefix;
    const std::size_t limit = std::clamp<std::size_t>(
        std::min(options.max_in_flight, impl_->config.max_in_flight), 1, 256);
    BatchProgress progress(options, 0);  // the total grows page by page
    Engine engine(*impl_, limit);
    std::deque<ListedObject> out;  // stable addresses for the GETs' continuations
    std::set<std::string> seen_tokens;
    std::function<void(const std::string&)> request_page = [&](const std::string& token) {
        auto c = list_call(s3_prefix, recursive, token);
        c->done = [&](Call& call) {
            if (call.error) {
                std::rethrow_exception(call.error);  // ends the run with this error
            }
            s3::ListPage page = parse_page(*impl_, call);
            // The next page first, ahead of this page's GETs.
            if (page.truncated) {
                if (!seen_tokens.insert(page.next_continuation_token).second) {
                    std::rethrow_exception(
                        malformed(*impl_, call, "ListObjectsV2 repeated a continuation token"));
                }
                request_page(page.next_continuation_token);
            }
            std::size_t wanted = 0;
            for (auto& o : page.objects) {
                o.key = impl_->relative_key(o.key);
                out.push_back({std::move(o), std::nullopt});
                ListedObject& slot = out.back();
                auto request = want(slot.info);
                if (!request) {
                    continue;
                }
                ++wanted;
                slot.got.emplace();
                slot.got->key = request->key;
                auto g = get_call(*impl_, request->key, request->if_none_match);
                g->done = [&slot, &progress, inm = request->if_none_match](Call& got) {
                    fill_get_result(*slot.got, got, inm);
                    progress.item_done(slot.got->key);
                };
                engine.submit(std::move(g));
            }
            progress.add_to_total(wanted);
        };
        engine.submit_first(std::move(c));
    };
    progress.started();
    request_page("");
    engine.run([&] { progress.tick(engine.retries()); }, options.progress_interval);
    progress.finished(engine.retries());
    std::vector<ListedObject> sorted(std::make_move_iterator(out.begin()),
                                     std::make_move_iterator(out.end()));
    std::sort(sorted.begin(), sorted.end(),
              [](const ListedObject& a, const ListedObject& b) { return a.info.key < b.info.key; });
    return sorted;
}

void R2Client::remove(const std::string& key) {
    std::lock_guard lock(impl_->operation_mutex);
    auto c = make_call("DeleteObject", "DELETE", impl_->full_key(key));
    c->accepted = {404};
    run_one(*impl_, c);
}

std::vector<MultipartUploadInfo> R2Client::list_multipart_uploads(const std::string& prefix) {
    std::lock_guard lock(impl_->operation_mutex);
    const std::string s3_prefix =
        impl_->config.prefix.empty() ? prefix : impl_->config.prefix + "/" + prefix;
    std::vector<MultipartUploadInfo> out;
    std::string key_marker;
    std::string id_marker;
    for (int page_no = 0; page_no < 100000; ++page_no) {
        auto c = make_call("ListMultipartUploads", "GET", "");
        c->query = {{"uploads", ""}};
        if (!s3_prefix.empty()) {
            c->query.push_back({"prefix", s3_prefix});
        }
        if (!key_marker.empty()) {
            c->query.push_back({"key-marker", key_marker});
        }
        if (!id_marker.empty()) {
            c->query.push_back({"upload-id-marker", id_marker});
        }
        run_one(*impl_, c);
        s3::UploadsPage page;
        try {
            page = s3::parse_list_multipart_uploads(c->response_body());
        } catch (const s3::S3XmlError& e) {
            std::rethrow_exception(malformed(*impl_, *c, e.what()));
        }
        for (const auto& u : page.uploads) {
            out.push_back({impl_->relative_key(u.key), u.upload_id, u.initiated});
        }
        if (!page.truncated ||
            (page.next_key_marker == key_marker && page.next_upload_id_marker == id_marker)) {
            break;
        }
        key_marker = page.next_key_marker;
        id_marker = page.next_upload_id_marker;
    }
    return out;
}

void R2Client::abort_multipart_upload(const std::string& key, const std::string& upload_id) {
    std::lock_guard lock(impl_->operation_mutex);
    auto c = make_call("AbortMultipartUpload", "DELETE", impl_->full_key(key));
    c->query = {{"uploadId", upload_id}};
    c->accepted = {404};
    run_one(*impl_, c);
}

R2Stats R2Client::stats() const {
    std::lock_guard lock(impl_->stats_mutex);
    return impl_->stats;
}

void R2Client::reset_stats() {
    std::lock_guard lock(impl_->stats_mutex);
    impl_->stats = {};
}

// ------------------------------------------------------------------------------------------

namespace detail {

std::unique_ptr<Store> open_s3_store(const std::string& url, const StoreOptions& options) {
    if (url.rfind("s3://", 0) != 0) {
        throw SpecError("--store", {{"store", "'" + url + "' is not an s3:// URL"}});
    }
    const std::string rest = url.substr(5);
    const auto slash = rest.find('/');
    const std::string bucket = rest.substr(0, slash);
    const std::string prefix =
        slash == std::string::npos ? std::string() : trim_slashes(rest.substr(slash + 1));
    if (bucket.empty()) {
        throw SpecError("--store", {{"store", "'" + url + "' has no bucket (s3://bucket/prefix)"}});
    }
    if (prefix.find("//") != std::string::npos) {
        throw SpecError("--store", {{"store", "'" + url + "' has an empty path segment"}});
    }
    R2Config config = R2Config::from_environment(options.endpoint);
    config.bucket = bucket;
    config.prefix = prefix;
    config.logger = options.logger;
    config.allow_insecure_loopback = options.allow_insecure_loopback;
    config.ca_file = options.ca_file;
    config.max_in_flight = std::clamp<std::size_t>(options.max_in_flight, 1, 256);
    return std::make_unique<R2Client>(std::move(config));
}

}  // namespace detail

}  // namespace mip
