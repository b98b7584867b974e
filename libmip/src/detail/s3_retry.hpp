#pragma once
// Retry policy for S3/R2 requests (shared/spec/s3-r2.md §5), as pure functions.
//   retry:     connection failures, 429, 500, 502, 503, 504, InternalError, SlowDown,
//              ServiceUnavailable, RequestTimeout; ExpiredRequest once.
//   fail fast: every other 4xx (AuthError for 401/403), 501.
//   backoff:   full jitter, uniform in [0, min(cap, base * 2^retry)], or Retry-After when given.

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace mip::detail::s3 {

struct RetryPolicy {
    unsigned max_retries = 5;
    std::chrono::milliseconds base{200};
    std::chrono::milliseconds cap{20000};
};

/// A libcurl result worth retrying (connect, resolve, timeout, send/recv, empty reply, reset,
/// TLS handshake, partial file...).
[[nodiscard]] bool retryable_curl_code(int curl_code);

/// An HTTP answer worth retrying. `attempts_so_far` limits ExpiredRequest to one retry.
[[nodiscard]] bool retryable_response(long http_status,
                                      std::string_view s3_code,
                                      unsigned attempts_so_far);

/// 429 or SlowDown: the server asks us to slow down (the in-flight limit is lowered).
[[nodiscard]] bool is_throttle(long http_status, std::string_view s3_code);

/// 401/403: credentials, signature, scope or clock (mip::AuthError).
[[nodiscard]] bool is_auth_failure(long http_status);

/// Full jitter for the `retry`-th retry (0-based): uniform in [0, min(cap, base * 2^retry)].
[[nodiscard]] std::chrono::milliseconds full_jitter(const RetryPolicy& policy,
                                                    unsigned retry,
                                                    std::mt19937_64& rng);

/// The delay a `Retry-After` header asks for (delta-seconds or an HTTP date), or nullopt.
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

/// The delay before the next attempt: Retry-After when present (at most `cap`), else jitter.
[[nodiscard]] std::chrono::milliseconds retry_delay(
    const RetryPolicy& policy,
    unsigned retry,
    const std::optional<std::chrono::milliseconds>& retry_after,
    std::mt19937_64& rng);

}  // namespace mip::detail::s3
