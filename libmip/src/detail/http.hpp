#pragma once
// Private plain-HTTP(S) client for downloads and public GETs (libcurl easy). S3 requests go
// through the R2 client instead.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <mip/log.hpp>

namespace mip::detail {

/// Calls curl_global_init exactly once per process (thread-safe).
void ensure_curl_global_init();

struct HttpOptions {
    std::chrono::seconds connect_timeout{30};
    std::chrono::seconds stall_timeout{60};  ///< abort when no byte arrives for this long
    /// One deadline for the whole request: every attempt, retry and backoff (never more).
    std::chrono::seconds total_timeout{900};
    unsigned retries = 3;  ///< on connection errors and 5xx/429, with backoff
    /// http_download: bytes the body may have (0 = no limit). A larger Content-Length is refused
    /// before the body, a longer body stops there: ArchiveError naming the URL and the limit.
    std::uint64_t max_bytes = 0;
    std::string ca_file;
    Logger logger;
};

struct HttpResponse {
    long status = 0;
    std::string body;
};

/// GET into memory. `file://` supported. Throws NetworkError on transport failure after retries;
/// HTTP error statuses are returned, not thrown.
[[nodiscard]] HttpResponse http_get(const std::string& url, const HttpOptions& options);

/// GET into a file (written to a temp name, renamed on success). Returns the hex sha256 of the
/// bytes. Throws NetworkError / RemoteError (status ≥ 400) / IoError.
std::string http_download(const std::string& url,
                          const std::filesystem::path& destination,
                          const HttpOptions& options);

/// URL without userinfo and query (for messages and records).
[[nodiscard]] std::string redact_url(const std::string& url);

}  // namespace mip::detail
