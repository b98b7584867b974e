#include "detail/s3_engine.hpp"

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mip/error.hpp>

#include "detail/crypto.hpp"
#include "detail/http.hpp"
#include "detail/s3_xml.hpp"

namespace mip::detail::s3 {

using std::chrono::milliseconds;

std::string utc_now_text() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf, n);
}

std::error_code last_errno() { return {errno, std::generic_category()}; }

std::shared_ptr<UniqueFd> open_for_reading(const std::filesystem::path& path, std::uint64_t& size) {
    auto f = std::make_shared<UniqueFd>(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!f->valid()) {
        throw IoError("cannot open file for upload", path.string(), last_errno());
    }
    struct stat st {};
    if (::fstat(f->get(), &st) != 0) {
        throw IoError("cannot stat file for upload", path.string(), last_errno());
    }
    if (!S_ISREG(st.st_mode)) {
        throw IoError("not a regular file", path.string());
    }
    size = static_cast<std::uint64_t>(st.st_size);
    return f;
}

void Engine::run(const std::function<void()>& tick, milliseconds interval) {
    auto next_tick = Clock::now() + interval;
    bool more = false;  // work may still arrive through the feed
    auto pump = [&] {
        if (!pump_ || cancelling_) {
            more = false;
            return;
        }
        try {
            more = pump_();
        } catch (...) {
            more = false;
            failure_ = std::current_exception();
            begin_cancel();
        }
    };
    pump();
    while (more || !ready_.empty() || !delayed_.empty() || !running_.empty()) {
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
            wait = std::min(wait, std::chrono::ceil<milliseconds>(delayed_.begin()->first - now));
        }
        if (tick && !cancelling_) {
            wait = std::min(wait, std::chrono::ceil<milliseconds>(next_tick - now));
        }
        wait = std::max(wait, milliseconds(0));
        if (running_.empty()) {
            if (ready_.empty() && more && idle_wait_) {
                idle_wait_(std::max(wait, milliseconds(1)));  // until work arrives
            } else if (ready_.empty() && wait.count() > 0) {
                std::this_thread::sleep_for(wait);  // backoff: nothing else to do
            }
        } else {
            // At least 1 ms: a zero progress interval must not turn this into a busy loop.
            wait = std::max(wait, milliseconds(ready_.empty() ? 1 : 0));
            for (Exchange* ex : impl_.transport.poll(wait)) {
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
        pump();
    }
    if (failure_) {
        std::rethrow_exception(failure_);
    }
}

void Engine::start(const CallPtr& c) {
    try {
        const auto deadline = impl_.config.request_deadline;
        if (c->attempts == 0 && deadline.count() > 0) {
            c->deadline = Clock::now() + deadline;
        }
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
        Exchange& ex = c->exchange;
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
                ex.body_fd = c->file->get();
                ex.body_offset = c->offset;
                ex.body_length = c->length;
            } else {
                ex.body_memory = c->body_ref != nullptr ? c->body_ref : &c->body;
            }
        }
        ex.sink_fd = c->sink_fd;
        ex.fresh_connection = c->fresh_connection;
        ex.timeout = milliseconds(0);
        if (c->deadline != Clock::time_point{}) {
            ex.timeout =
                std::max(milliseconds(1),
                         std::chrono::duration_cast<milliseconds>(c->deadline - Clock::now()));
        }
        ex.owner = c.get();
        impl_.count_request();
        impl_.transport.start(ex);
        running_.emplace(c.get(), c);
    } catch (...) {
        complete(*c, std::current_exception());
    }
}

void Engine::hash_body(Call& c) {
    if (!c.has_body) {
        c.payload_hash = std::string(sv::empty_payload_sha256);
        return;
    }
    Sha256 sha;
    Md5 md5;
    if (c.file) {
        std::vector<char> buf(1 << 20);
        std::uint64_t done = 0;
        while (done < c.length) {
            const auto want =
                static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), c.length - done));
            const auto n =
                ::pread(c.file->get(), buf.data(), want, static_cast<off_t>(c.offset + done));
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                throw IoError(n < 0 ? "cannot read file for upload" : "file shrank during upload",
                              c.file_path.string(), last_errno());
            }
            sha.update(buf.data(), static_cast<std::size_t>(n));
            if (c.want_md5) {
                md5.update(buf.data(), static_cast<std::size_t>(n));
            }
            done += static_cast<std::uint64_t>(n);
        }
    } else {
        const std::string& b = c.body_ref != nullptr ? *c.body_ref : c.body;
        sha.update(b);
        if (c.want_md5) {
            md5.update(b);
        }
    }
    c.payload_hash = sha.hex_digest();
    if (c.want_md5) {
        c.body_md5 = md5.hex_digest();
    }
}

void Engine::finish(const CallPtr& cp) {
    Call& c = *cp;
    Exchange& ex = c.exchange;
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
        if (retryable_curl_code(ex.curl_code) && c.attempts <= impl_.policy.max_retries) {
            c.ambiguous = true;
            c.fresh_connection = true;
            retry(cp, reason + " (" + ex.curl_error + ")", reason, std::nullopt);
            return;
        }
        impl_.count(false, reason);
        complete(c, std::make_exception_ptr(
                        NetworkError(c.operation + " " + impl_.target(c) + ": " + ex.curl_error +
                                         " [after " + std::to_string(c.attempts) + " attempts]",
                                     detail::redact_url(ex.url), ex.curl_code)));
        return;
    }
    c.fresh_connection = false;
    const long status = ex.status;
    std::optional<ErrorBody> err;
    bool ok = status >= 200 && status < 300;
    if (ok && c.error_in_200) {
        err = parse_error(ex.response_body);
        ok = !err.has_value();
    }
    if (!ok && !err && status >= 300) {
        err = parse_error(ex.response_body);
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
    if (retryable_response(status, code, c.attempts) && c.attempts <= impl_.policy.max_retries) {
        if (is_throttle(status, code) && limit_ > 1) {
            limit_ = std::max<std::size_t>(1, limit_ / 2);
            impl_.config.logger.info("throttled (" + reason + "): lowering requests in flight to " +
                                     std::to_string(limit_));
        }
        const auto retry_after =
            parse_retry_after(c.header("retry-after"), std::chrono::system_clock::now());
        retry(cp,
              "HTTP " + std::to_string(status) + (code.empty() ? "" : " " + code) +
                  (request_id.empty() ? "" : " (request id " + request_id + ")"),
              reason, retry_after);
        return;
    }
    impl_.count(false, reason);
    complete(c,
             impl_.remote_error(c, status, code, err ? err->message : std::string(), request_id));
}

void Engine::begin_cancel() {
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

void Engine::retry(const CallPtr& c,
                   // NOLINTNEXTLINE(bugprone-easily-swappable-parameters): what failed, then why
                   const std::string& what,
                   const std::string& reason,
                   const std::optional<milliseconds>& retry_after) {
    if (cancelling_) {
        complete(*c, failure_);
        return;
    }
    const auto delay = retry_delay(impl_.policy, c->attempts - 1, retry_after, impl_.rng);
    if (c->deadline != Clock::time_point{} && Clock::now() + delay >= c->deadline) {
        impl_.count(false, reason);
        const auto seconds =
            std::chrono::duration_cast<std::chrono::seconds>(impl_.config.request_deadline);
        complete(*c, std::make_exception_ptr(NetworkError(
                         c->operation + " " + impl_.target(*c) + ": " + what + " [after " +
                             std::to_string(c->attempts) +
                             (c->attempts == 1 ? " attempt" : " attempts") + "; the deadline of " +
                             std::to_string(seconds.count()) +
                             " s for the whole request, retries included (--request-deadline), "
                             "passed]",
                         detail::redact_url(c->exchange.url), c->exchange.curl_code)));
        return;
    }
    impl_.count(true, reason);
    ++retries_;
    impl_.config.logger.info("retry " + std::to_string(c->attempts) + "/" +
                             std::to_string(impl_.policy.max_retries) + " " + c->operation + " " +
                             impl_.target(*c) + ": " + what + "; next attempt in " +
                             std::to_string(delay.count()) + " ms");
    delayed_.emplace(Clock::now() + delay, c);
}

void Engine::complete(Call& c, std::exception_ptr error) {
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

std::size_t batch_limit(const ClientState& impl, const BatchOptions& options) {
    return std::clamp<std::size_t>(std::min(options.max_in_flight, impl.config.max_in_flight), 1,
                                   256);
}

void run_batch(ClientState& impl,
               std::size_t n,
               const BatchOptions& options,
               const SubmitItem& submit,
               std::size_t requests) {
    const std::size_t limit = batch_limit(impl, options);
    ProgressEmitter progress(options.progress, options.stage, requests == 0 ? n : requests);
    Engine engine(impl, limit);
    const std::size_t window = 2 * limit;
    std::size_t next = 0;
    std::size_t active = 0;
    bool feeding = false;
    std::function<void()> item_finished;
    const ItemDone done{&progress, &item_finished};
    // Not recursive: an item failing inside submit() only lowers `active` for the loop
    // above it.
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
    run_with_progress(impl, engine, progress, options.progress_interval, feed);
    progress.finished();
}

void run_with_progress(ClientState& impl,
                       Engine& engine,
                       ProgressEmitter& progress,
                       std::chrono::milliseconds interval,
                       const std::function<void()>& first) {
    progress.started();
    try {
        if (first) {
            first();
        }
        engine.run(
            [&] {
                progress.set_retries(engine.retries());
                progress.advanced();
            },
            interval);
    } catch (...) {
        abort_leftovers(impl);
        throw;
    }
    progress.set_retries(engine.retries());
}

}  // namespace mip::detail::s3

namespace mip::detail::s3 {

void run_batch_as_ready(ClientState& impl,
                        ChainGate& gate,
                        const BatchOptions& options,
                        const SubmitItem& submit,
                        std::size_t requests,
                        const std::function<std::size_t(std::size_t)>& requests_of) {
    const std::size_t limit = batch_limit(impl, options);
    ProgressEmitter progress(options.progress, options.stage, requests);
    std::size_t started_requests = 0;
    Engine engine(impl, limit);
    const std::size_t window = 2 * limit;
    std::size_t active = 0;
    std::function<void()> item_finished = [&] { --active; };
    const ItemDone done{&progress, &item_finished};
    // Items begin from the engine's loop only (never inside a continuation), so `active`
    // needs no guard against re-entry.
    auto pump = [&] {
        if (active < window) {
            for (auto i : gate.take(window - active, std::chrono::milliseconds(0))) {
                ++active;
                started_requests += requests_of(i);
                submit(engine, i, done);
            }
        }
        return !gate.settled();
    };
    engine.set_feed(pump, [&](std::chrono::milliseconds wait) {
        if (active >= window) {  // the active items wait for a retry's backoff
            std::this_thread::sleep_for(wait);
            return;
        }
        for (auto i : gate.take(window - active, wait)) {
            ++active;
            started_requests += requests_of(i);
            submit(engine, i, done);
        }
    });
    struct Unhook {
        ChainGate& gate;
        explicit Unhook(ChainGate& g) : gate(g) {}
        Unhook(const Unhook&) = delete;
        Unhook& operator=(const Unhook&) = delete;
        Unhook(Unhook&&) = delete;
        Unhook& operator=(Unhook&&) = delete;
        ~Unhook() { gate.on_decided(nullptr); }
    } unhook{gate};
    gate.on_decided([&impl] { impl.transport.wakeup(); });
    run_with_progress(impl, engine, progress, options.progress_interval, {});
    for (std::size_t k = started_requests; k < requests; ++k) {
        progress.count_done();  // the steps of dropped chains, as a failed chain's rest
    }
    progress.finished();
}

}  // namespace mip::detail::s3
