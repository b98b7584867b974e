#include "detail/s3_transport.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <curl/curl.h>
#include <unistd.h>

#include <mip/error.hpp>

#include "detail/http.hpp"

namespace mip::detail::s3 {

namespace {

constexpr std::size_t max_error_body = 1 << 20;

struct EasyDeleter {
    void operator()(CURL* h) const noexcept { curl_easy_cleanup(h); }
};
using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;

struct MultiDeleter {
    void operator()(CURLM* m) const noexcept { curl_multi_cleanup(m); }
};
using MultiPtr = std::unique_ptr<CURLM, MultiDeleter>;

struct SlistDeleter {
    void operator()(curl_slist* s) const noexcept { curl_slist_free_all(s); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

void check(CURLcode rc, const char* what) {
    if (rc != CURLE_OK) {
        throw Error(ErrorCode::internal,
                    std::string("libcurl setup failed (") + what + "): " + curl_easy_strerror(rc));
    }
}

// --- C callbacks: noexcept trampolines. ---

std::size_t read_cb(char* buffer, std::size_t size, std::size_t nitems, void* userdata) noexcept {
    auto* ex = static_cast<Exchange*>(userdata);
    const std::size_t room = size * nitems;
    if (ex->read_position >= ex->body_length) {
        return 0;
    }
    const std::size_t want = static_cast<std::size_t>(
        std::min<std::uint64_t>(room, ex->body_length - ex->read_position));
    if (ex->body_memory != nullptr) {
        std::memcpy(buffer, ex->body_memory->data() + ex->read_position, want);
        ex->read_position += want;
        return want;
    }
    for (;;) {
        const auto n = ::pread(ex->body_fd, buffer, want,
                               static_cast<off_t>(ex->body_offset + ex->read_position));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {  // error or the file shrank under us
            try {
                ex->callback_error = std::make_exception_ptr(
                    Error(ErrorCode::io, n < 0 ? std::string("read failed: ") + std::strerror(errno)
                                               : std::string("file shrank while uploading")));
            } catch (...) {
            }
            return CURL_READFUNC_ABORT;
        }
        ex->read_position += static_cast<std::uint64_t>(n);
        return static_cast<std::size_t>(n);
    }
}

int seek_cb(void* userdata, curl_off_t offset, int origin) noexcept {
    auto* ex = static_cast<Exchange*>(userdata);
    if (origin != SEEK_SET || offset < 0 || static_cast<std::uint64_t>(offset) > ex->body_length) {
        return CURL_SEEKFUNC_CANTSEEK;
    }
    ex->read_position = static_cast<std::uint64_t>(offset);
    return CURL_SEEKFUNC_OK;
}

std::size_t write_cb(char* data, std::size_t size, std::size_t nmemb, void* userdata) noexcept {
    auto* ex = static_cast<Exchange*>(userdata);
    const std::size_t n = size * nmemb;
    const bool success = ex->status >= 200 && ex->status < 300;
    if (success && ex->sink_fd >= 0) {
        std::size_t done = 0;
        while (done < n) {
            const auto w = ::write(ex->sink_fd, data + done, n - done);
            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w <= 0) {
                try {
                    ex->callback_error = std::make_exception_ptr(
                        Error(ErrorCode::io, std::string("write failed: ") + std::strerror(errno)));
                } catch (...) {
                }
                return 0;  // CURLE_WRITE_ERROR
            }
            done += static_cast<std::size_t>(w);
        }
        ex->sunk_bytes += n;
        return n;
    }
    try {
        if (!success && ex->response_body.size() >= max_error_body) {
            return n;  // keep the head of an error body only
        }
        ex->response_body.append(data, n);
    } catch (...) {
        ex->callback_error = std::current_exception();
        return 0;
    }
    return n;
}

std::size_t header_cb(char* data, std::size_t size, std::size_t nitems, void* userdata) noexcept {
    auto* ex = static_cast<Exchange*>(userdata);
    const std::size_t n = size * nitems;
    try {
        std::string_view line(data, n);
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
            line.remove_suffix(1);
        }
        if (line.rfind("HTTP/", 0) == 0) {  // a new status line (also after 100 Continue)
            ex->response_headers.clear();
            const auto sp = line.find(' ');
            if (sp != std::string_view::npos) {
                ex->status = std::strtol(std::string(line.substr(sp + 1, 3)).c_str(), nullptr, 10);
            }
            return n;
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) {
            return n;
        }
        std::string name(line.substr(0, colon));
        for (char& c : name) {
            if (c >= 'A' && c <= 'Z') {
                c = static_cast<char>(c - 'A' + 'a');
            }
        }
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
            value.remove_prefix(1);
        }
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
            value.remove_suffix(1);
        }
        ex->response_headers[name] = std::string(value);
    } catch (...) {
        ex->callback_error = std::current_exception();
        return 0;
    }
    return n;
}

}  // namespace

struct Transport::Impl {
    TransportOptions options;
    MultiPtr multi;
    std::vector<EasyPtr> idle;  // reset easy handles ready for reuse
    struct Running {
        EasyPtr easy;
        SlistPtr headers;
        Exchange* exchange = nullptr;
        char error[CURL_ERROR_SIZE] = {};
    };
    std::vector<std::unique_ptr<Running>> running;

    EasyPtr take_easy() {
        if (!idle.empty()) {
            EasyPtr e = std::move(idle.back());
            idle.pop_back();
            curl_easy_reset(e.get());
            return e;
        }
        EasyPtr e(curl_easy_init());
        if (!e) {
            throw Error(ErrorCode::internal, "curl_easy_init failed");
        }
        return e;
    }

    void release(std::unique_ptr<Running> r) {
        curl_multi_remove_handle(multi.get(), r->easy.get());
        if (idle.size() < 64) {
            idle.push_back(std::move(r->easy));
        }
    }
};

Transport::Transport(const TransportOptions& options) : impl_(std::make_unique<Impl>()) {
    ensure_curl_global_init();
    impl_->options = options;
    impl_->multi.reset(curl_multi_init());
    if (!impl_->multi) {
        throw Error(ErrorCode::internal, "curl_multi_init failed");
    }
    set_max_connections(options.max_connections);
}

Transport::~Transport() { cancel_all(); }

void Transport::set_max_connections(std::size_t n) {
    const long v = static_cast<long>(std::clamp<std::size_t>(n, 1, 1024));
    curl_multi_setopt(impl_->multi.get(), CURLMOPT_MAX_TOTAL_CONNECTIONS, v);
    curl_multi_setopt(impl_->multi.get(), CURLMOPT_MAX_HOST_CONNECTIONS, v);
    curl_multi_setopt(impl_->multi.get(), CURLMOPT_MAXCONNECTS, std::max<long>(v, 8));
}

void Transport::start(Exchange& ex) {
    auto r = std::make_unique<Impl::Running>();
    r->easy = impl_->take_easy();
    r->exchange = &ex;
    CURL* h = r->easy.get();
    const auto& o = impl_->options;

    ex.status = 0;
    ex.curl_code = 0;
    ex.curl_error.clear();
    ex.response_headers.clear();
    ex.response_body.clear();
    ex.sunk_bytes = 0;
    ex.callback_error = nullptr;
    ex.read_position = 0;
    ex.started = std::chrono::steady_clock::now();

    curl_slist* list = nullptr;
    for (const auto& line : ex.header_lines) {
        curl_slist* next = curl_slist_append(list, line.c_str());
        if (next == nullptr) {
            curl_slist_free_all(list);
            throw Error(ErrorCode::internal, "curl_slist_append failed");
        }
        list = next;
    }
    r->headers.reset(list);

    check(curl_easy_setopt(h, CURLOPT_URL, ex.url.c_str()), "URL");
    check(curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https"), "PROTOCOLS_STR");
    // Keys may hold "/./" and "/../": send the path exactly as encoded and signed.
    check(curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L), "PATH_AS_IS");
    check(curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->headers.get()), "HTTPHEADER");
    check(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L), "NOSIGNAL");
    check(curl_easy_setopt(h, CURLOPT_PRIVATE, r.get()), "PRIVATE");
    check(curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->error), "ERRORBUFFER");
    check(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb), "WRITEFUNCTION");
    check(curl_easy_setopt(h, CURLOPT_WRITEDATA, &ex), "WRITEDATA");
    check(curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb), "HEADERFUNCTION");
    check(curl_easy_setopt(h, CURLOPT_HEADERDATA, &ex), "HEADERDATA");
    // The attempt's own limit (what is left of its request's deadline) caps both timeouts.
    auto limit = o.request_timeout;
    if (ex.timeout.count() > 0 && (limit.count() == 0 || ex.timeout < limit)) {
        limit = ex.timeout;
    }
    auto connect = o.connect_timeout;
    if (limit.count() > 0 && limit < connect) {
        connect = limit;
    }
    check(curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect.count())),
          "CONNECTTIMEOUT_MS");
    if (o.stall_timeout.count() > 0) {
        check(curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L), "LOW_SPEED_LIMIT");
        check(
            curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                             std::max<long>(1, static_cast<long>(o.stall_timeout.count() / 1000))),
            "LOW_SPEED_TIME");
    }
    if (limit.count() > 0) {
        check(curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(limit.count())),
              "TIMEOUT_MS");
    }
    check(curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L), "TCP_KEEPALIVE");
    check(curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L), "SSL_VERIFYPEER");
    check(curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L), "SSL_VERIFYHOST");
    if (!o.ca_file.empty()) {
        check(curl_easy_setopt(h, CURLOPT_CAINFO, o.ca_file.c_str()), "CAINFO");
    }
    if (o.no_proxy) {
        check(curl_easy_setopt(h, CURLOPT_NOPROXY, "*"), "NOPROXY");
    }
    if (ex.fresh_connection) {
        check(curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L), "FRESH_CONNECT");
    }

    if (ex.method == "HEAD") {
        check(curl_easy_setopt(h, CURLOPT_NOBODY, 1L), "NOBODY");
    } else if (ex.has_body) {
        ex.body_length = ex.body_memory != nullptr ? ex.body_memory->size() : ex.body_length;
        check(curl_easy_setopt(h, CURLOPT_UPLOAD, 1L), "UPLOAD");
        check(curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb), "READFUNCTION");
        check(curl_easy_setopt(h, CURLOPT_READDATA, &ex), "READDATA");
        check(curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_cb), "SEEKFUNCTION");
        check(curl_easy_setopt(h, CURLOPT_SEEKDATA, &ex), "SEEKDATA");
        check(
            curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(ex.body_length)),
            "INFILESIZE_LARGE");
        if (ex.method != "PUT") {
            check(curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, ex.method.c_str()), "CUSTOMREQUEST");
        }
    } else if (ex.method != "GET") {
        check(curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, ex.method.c_str()), "CUSTOMREQUEST");
    }

    const CURLMcode mc = curl_multi_add_handle(impl_->multi.get(), h);
    if (mc != CURLM_OK) {
        throw Error(ErrorCode::internal,
                    std::string("curl_multi_add_handle failed: ") + curl_multi_strerror(mc));
    }
    impl_->running.push_back(std::move(r));
}

std::vector<Exchange*> Transport::poll(std::chrono::milliseconds timeout) {
    std::vector<Exchange*> finished;
    int still_running = 0;
    CURLMcode mc = curl_multi_perform(impl_->multi.get(), &still_running);
    if (mc != CURLM_OK) {
        throw Error(ErrorCode::internal,
                    std::string("curl_multi_perform failed: ") + curl_multi_strerror(mc));
    }
    auto collect = [&] {
        int queued = 0;
        while (CURLMsg* msg = curl_multi_info_read(impl_->multi.get(), &queued)) {
            if (msg->msg != CURLMSG_DONE) {
                continue;
            }
            Impl::Running* raw = nullptr;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &raw);
            auto it = std::find_if(impl_->running.begin(), impl_->running.end(),
                                   [&](const auto& p) { return p.get() == raw; });
            if (it == impl_->running.end()) {
                continue;
            }
            std::unique_ptr<Impl::Running> r = std::move(*it);
            impl_->running.erase(it);
            Exchange& ex = *r->exchange;
            ex.curl_code = static_cast<int>(msg->data.result);
            if (ex.curl_code != CURLE_OK) {
                ex.curl_error = r->error[0] != '\0'
                                    ? std::string(r->error)
                                    : std::string(curl_easy_strerror(msg->data.result));
            }
            long status = 0;
            curl_easy_getinfo(r->easy.get(), CURLINFO_RESPONSE_CODE, &status);
            if (status != 0) {
                ex.status = status;
            }
            ex.elapsed = std::chrono::steady_clock::now() - ex.started;
            impl_->release(std::move(r));
            finished.push_back(&ex);
        }
    };
    collect();
    if (!finished.empty() || impl_->running.empty()) {
        return finished;
    }
    int numfds = 0;
    mc = curl_multi_poll(impl_->multi.get(), nullptr, 0,
                         static_cast<int>(std::max<std::int64_t>(0, timeout.count())), &numfds);
    if (mc != CURLM_OK) {
        throw Error(ErrorCode::internal,
                    std::string("curl_multi_poll failed: ") + curl_multi_strerror(mc));
    }
    mc = curl_multi_perform(impl_->multi.get(), &still_running);
    if (mc != CURLM_OK) {
        throw Error(ErrorCode::internal,
                    std::string("curl_multi_perform failed: ") + curl_multi_strerror(mc));
    }
    collect();
    return finished;
}

void Transport::wakeup() noexcept { (void)curl_multi_wakeup(impl_->multi.get()); }

std::size_t Transport::in_flight() const noexcept { return impl_->running.size(); }

void Transport::cancel(Exchange& exchange) noexcept {
    auto it = std::find_if(impl_->running.begin(), impl_->running.end(),
                           [&](const auto& r) { return r->exchange == &exchange; });
    if (it == impl_->running.end()) {
        return;
    }
    std::unique_ptr<Impl::Running> r = std::move(*it);
    impl_->running.erase(it);
    curl_multi_remove_handle(impl_->multi.get(), r->easy.get());
}

void Transport::cancel_all() noexcept {
    for (auto& r : impl_->running) {
        curl_multi_remove_handle(impl_->multi.get(), r->easy.get());
    }
    impl_->running.clear();
}

}  // namespace mip::detail::s3
