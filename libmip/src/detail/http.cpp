#include "detail/http.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include <curl/curl.h>

#include <mip/error.hpp>

#include "detail/crypto.hpp"
#include "detail/fs.hpp"
#include "detail/s3_retry.hpp"

namespace mip::detail {

void ensure_curl_global_init() {
    static std::once_flag once;
    std::call_once(once, []() { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string redact_url(const std::string& url) {
    std::string out = url;
    auto scheme = out.find("://");
    if (scheme != std::string::npos) {
        auto host_start = scheme + 3;
        auto path_start = out.find('/', host_start);
        auto at = out.rfind('@', path_start == std::string::npos ? out.size() : path_start);
        if (at != std::string::npos && at >= host_start) {
            out.erase(host_start, at + 1 - host_start);
        }
    }
    auto q = out.find('?');
    if (q != std::string::npos) {
        out.erase(q);
    }
    return out;
}

namespace {
struct EasyDeleter {
    void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};

struct Sink {
    std::string* memory = nullptr;
    std::FILE* file = nullptr;
    Sha256* hash = nullptr;
    bool failed = false;
    std::uint64_t received = 0;
    std::uint64_t limit = 0;  ///< 0 = none
    bool too_large = false;
};

size_t write_cb(char* data, size_t size, size_t nmemb, void* userdata) noexcept {
    auto* sink = static_cast<Sink*>(userdata);
    size_t n = size * nmemb;
    sink->received += n;
    if (sink->limit != 0 && sink->received > sink->limit) {
        sink->too_large = true;
        return 0;
    }
    try {
        if (sink->memory != nullptr) {
            sink->memory->append(data, n);
        }
        if (sink->file != nullptr && std::fwrite(data, 1, n, sink->file) != n) {
            sink->failed = true;
            return 0;
        }
        if (sink->hash != nullptr) {
            sink->hash->update(data, n);
        }
    } catch (...) {
        sink->failed = true;
        return 0;
    }
    return n;
}

/// Downloads share the S3 client's retry rules: the same transient curl errors, full jitter.
bool retryable(CURLcode code) { return s3::retryable_curl_code(static_cast<int>(code)); }

using Clock = std::chrono::steady_clock;

/// One deadline for a whole request, retries and backoff included (`total_timeout`).
struct Deadline {
    Clock::time_point at;
    explicit Deadline(const HttpOptions& o) : at(Clock::now() + o.total_timeout) {}
    [[nodiscard]] std::chrono::milliseconds left() const {
        return std::max(std::chrono::milliseconds(1),
                        std::chrono::duration_cast<std::chrono::milliseconds>(at - Clock::now()));
    }
    [[nodiscard]] bool passed() const { return Clock::now() >= at; }
};

/// Sleeps before retry `attempt`; false (no sleep) when the deadline would pass meanwhile.
bool backoff(unsigned attempt, const Deadline& deadline) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    auto delay = s3::full_jitter(s3::RetryPolicy{}, attempt, rng);
    if (Clock::now() + delay >= deadline.at) {
        return false;
    }
    std::this_thread::sleep_for(delay);
    return true;
}

/// " (the deadline of N s … passed after K attempts)".
std::string deadline_note(const HttpOptions& options, unsigned attempts) {
    return " (the deadline of " + std::to_string(options.total_timeout.count()) +
           " s for the whole request, retries included, passed after " + std::to_string(attempts) +
           (attempts == 1 ? " attempt)" : " attempts)");
}

long perform(const std::string& url,
             const HttpOptions& options,
             const Deadline& deadline,
             Sink& sink,
             CURLcode& code,
             std::string& error_text) {
    ensure_curl_global_init();
    std::unique_ptr<CURL, EasyDeleter> curl(curl_easy_init());
    if (!curl) {
        throw Error(ErrorCode::internal, "curl_easy_init failed");
    }
    char errbuf[CURL_ERROR_SIZE] = {0};
    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    const auto left = deadline.left();
    curl_easy_setopt(
        c, CURLOPT_CONNECTTIMEOUT_MS,
        static_cast<long>(
            std::min<std::chrono::milliseconds>(options.connect_timeout, left).count()));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(left.count()));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.stall_timeout.count()));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "libmip/" MIP_VERSION);
    if (!options.ca_file.empty()) {
        curl_easy_setopt(c, CURLOPT_CAINFO, options.ca_file.c_str());
    }
    if (options.max_bytes != 0) {
        curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                         static_cast<curl_off_t>(std::min<std::uint64_t>(
                             options.max_bytes, static_cast<std::uint64_t>(INT64_MAX))));
        sink.limit = options.max_bytes;
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    code = curl_easy_perform(c);
    error_text = errbuf[0] != 0 ? errbuf : curl_easy_strerror(code);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (code == CURLE_OK && url.rfind("file://", 0) == 0) {
        status = 200;
    }
    return status;
}
}  // namespace

HttpResponse http_get(const std::string& url, const HttpOptions& options) {
    std::string shown = redact_url(url);
    const Deadline deadline(options);
    for (unsigned attempt = 0;; ++attempt) {
        HttpResponse response;
        Sink sink;
        sink.memory = &response.body;
        CURLcode code = CURLE_OK;
        std::string error_text;
        response.status = perform(url, options, deadline, sink, code, error_text);
        bool transient = (code != CURLE_OK && retryable(code)) ||
                         (code == CURLE_OK && (response.status == 429 || response.status >= 500));
        bool out_of_time = deadline.passed();
        if (transient && attempt < options.retries && !out_of_time) {
            options.logger.info(
                "GET " + shown + ": " +
                (code != CURLE_OK ? error_text : "HTTP " + std::to_string(response.status)) +
                "; retry " + std::to_string(attempt + 1) + "/" + std::to_string(options.retries));
            if (backoff(attempt, deadline)) {
                continue;
            }
            out_of_time = true;
        }
        if (code == CURLE_FILE_COULDNT_READ_FILE) {
            response.status = 404;
            response.body.clear();
            return response;
        }
        if (code != CURLE_OK) {
            std::string message = "GET " + shown;
            message += " failed: " + error_text;
            if (out_of_time) {
                message += deadline_note(options, attempt + 1);
            }
            throw NetworkError(message, shown, static_cast<int>(code));
        }
        return response;
    }
}

std::string http_download(const std::string& url,
                          const std::filesystem::path& destination,
                          const HttpOptions& options) {
    std::string shown = redact_url(url);
    const Deadline deadline(options);
    for (unsigned attempt = 0;; ++attempt) {
        auto tmp = temp_sibling(destination);
        std::FILE* f = std::fopen(tmp.c_str(), "wb");
        if (f == nullptr) {
            throw IoError("cannot create download file", tmp.string());
        }
        Sha256 hash;
        Sink sink;
        sink.file = f;
        sink.hash = &hash;
        CURLcode code = CURLE_OK;
        std::string error_text;
        long status = 0;
        try {
            status = perform(url, options, deadline, sink, code, error_text);
        } catch (...) {
            std::fclose(f);
            std::filesystem::remove(tmp);
            throw;
        }
        bool close_ok = std::fclose(f) == 0;
        if (sink.failed || !close_ok) {
            std::filesystem::remove(tmp);
            throw IoError("cannot write download", destination.string());
        }
        if (sink.too_large || code == CURLE_FILESIZE_EXCEEDED) {
            std::filesystem::remove(tmp);
            throw ArchiveError("download of " + shown +
                               " refused: it is larger than the limit of " +
                               std::to_string(options.max_bytes >> 20) +
                               " MiB (raise it with --max-download-mib)");
        }
        bool transient = (code != CURLE_OK && retryable(code)) ||
                         (code == CURLE_OK && (status == 429 || status >= 500));
        bool out_of_time = deadline.passed();
        if (transient && attempt < options.retries && !out_of_time) {
            std::filesystem::remove(tmp);
            options.logger.info("download " + shown + ": " +
                                (code != CURLE_OK ? error_text : "HTTP " + std::to_string(status)) +
                                "; retry " + std::to_string(attempt + 1) + "/" +
                                std::to_string(options.retries));
            if (backoff(attempt, deadline)) {
                continue;
            }
            out_of_time = true;
        }
        if (code != CURLE_OK) {
            std::filesystem::remove(tmp);
            std::string message = "download of " + shown;
            message += " failed: " + error_text;
            if (out_of_time) {
                message += deadline_note(options, attempt + 1);
            }
            throw NetworkError(message, shown, static_cast<int>(code));
        }
        if (status >= 400) {
            std::filesystem::remove(tmp);
            RemoteErrorInfo info;
            info.http_status = static_cast<int>(status);
            info.operation = "GET";
            throw RemoteError("download of " + shown + " failed", info);
        }
        rename_path(tmp, destination);
        return hash.hex_digest();
    }
}

}  // namespace mip::detail
