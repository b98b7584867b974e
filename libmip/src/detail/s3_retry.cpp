#include "detail/s3_retry.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>

#include <curl/curl.h>

namespace mip::detail::s3 {

bool retryable_curl_code(int curl_code) {
    switch (static_cast<CURLcode>(curl_code)) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_AGAIN:
            return true;
        default:
            return false;
    }
}

bool retryable_response(long http_status, std::string_view s3_code, unsigned attempts_so_far) {
    if (s3_code == "ExpiredRequest") {
        return attempts_so_far <= 1;
    }
    if (s3_code == "InternalError" || s3_code == "SlowDown" || s3_code == "ServiceUnavailable" ||
        s3_code == "RequestTimeout") {
        return true;
    }
    return http_status == 429 || http_status == 500 || http_status == 502 || http_status == 503 ||
           http_status == 504;
}

bool is_throttle(long http_status, std::string_view s3_code) {
    return http_status == 429 || s3_code == "SlowDown";
}

bool is_auth_failure(long http_status) { return http_status == 401 || http_status == 403; }

std::chrono::milliseconds full_jitter(const RetryPolicy& policy,
                                      unsigned retry,
                                      std::mt19937_64& rng) {
    const auto base = std::max<std::int64_t>(policy.base.count(), 0);
    const auto cap = std::max<std::int64_t>(policy.cap.count(), 0);
    std::int64_t ceiling = base;
    for (unsigned i = 0; i < retry && ceiling < cap; ++i) {
        ceiling *= 2;
    }
    ceiling = std::min(ceiling, cap);
    std::uniform_int_distribution<std::int64_t> dist(0, ceiling);
    return std::chrono::milliseconds(dist(rng));
}

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) {
    while (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\r')) {
        value.remove_suffix(1);
    }
    if (value.empty()) {
        return std::nullopt;
    }
    std::int64_t seconds = 0;
    const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc{} && p == value.data() + value.size()) {
        if (seconds < 0) {
            return std::nullopt;
        }
        return std::chrono::milliseconds(seconds * 1000);
    }
    std::tm tm{};
    const std::string text(value);
    if (strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) == nullptr) {
        return std::nullopt;
    }
    const auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
    if (when <= now) {
        return std::chrono::milliseconds(0);
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(when - now);
}

std::chrono::milliseconds retry_delay(const RetryPolicy& policy,
                                      unsigned retry,
                                      const std::optional<std::chrono::milliseconds>& retry_after,
                                      std::mt19937_64& rng) {
    if (retry_after) {
        return std::min(*retry_after, policy.cap);
    }
    return full_jitter(policy, retry, rng);
}

}  // namespace mip::detail::s3
