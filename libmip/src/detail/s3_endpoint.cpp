#include "detail/s3_endpoint.hpp"

#include <memory>
#include <optional>

#include <curl/curl.h>

#include <mip/error.hpp>

#include "detail/http.hpp"
#include "detail/text.hpp"

namespace mip::detail::s3 {

namespace {

struct UrlFree {
    void operator()(CURLU* u) const noexcept { curl_url_cleanup(u); }
};

/// A URL parsed by libcurl; nullopt-returning getters for absent parts.
class ParsedUrl {
public:
    ParsedUrl() : url_(curl_url()) {
        if (!url_) {
            throw std::bad_alloc();
        }
    }
    /// CURLUE_OK or the reason libcurl refused the URL.
    CURLUcode set(const std::string& text, unsigned int flags) {
        return curl_url_set(url_.get(), CURLUPART_URL, text.c_str(), flags);
    }
    [[nodiscard]] std::optional<std::string> get(CURLUPart part) const {
        char* value = nullptr;
        if (curl_url_get(url_.get(), part, &value, 0) != CURLUE_OK || value == nullptr) {
            return std::nullopt;
        }
        std::string out(value);
        curl_free(value);
        return out;
    }

private:
    std::unique_ptr<CURLU, UrlFree> url_;
};

SpecError endpoint_error(const std::string& shown, const std::string& what) {
    return SpecError("S3 endpoint '" + shown + "'" + what);
}

SpecError store_error(const std::string& url, const std::string& what) {
    return SpecError("--store", {{"store", "'" + url + "' " + what}});
}

}  // namespace

std::string trim_slashes(std::string s) {
    while (!s.empty() && s.front() == '/') {
        s.erase(s.begin());
    }
    while (!s.empty() && s.back() == '/') {
        s.pop_back();
    }
    return s;
}

Endpoint parse_endpoint(const std::string& url, bool allow_insecure_loopback) {
    const std::string shown = detail::redact_url(url);
    if (url.empty()) {
        throw SpecError("S3 endpoint is empty (set AWS_ENDPOINT_URL or --endpoint)");
    }
    if (url.find("://") == std::string::npos) {
        throw endpoint_error(shown, " is not a URL (expected https://host)");
    }
    ParsedUrl parsed;
    const CURLUcode rc = parsed.set(url, CURLU_NON_SUPPORT_SCHEME);
    if (rc != CURLUE_OK) {
        throw endpoint_error(shown, std::string(": malformed (") + curl_url_strerror(rc) + ")");
    }
    Endpoint ep;
    const std::string scheme = ascii_lower(parsed.get(CURLUPART_SCHEME).value_or(""));
    if (scheme != "https" && scheme != "http") {
        throw endpoint_error(shown, ": scheme must be https");
    }
    ep.https = scheme == "https";
    if (parsed.get(CURLUPART_USER) || parsed.get(CURLUPART_PASSWORD)) {
        throw endpoint_error(shown, " must not contain credentials");
    }
    const std::string path = parsed.get(CURLUPART_PATH).value_or("/");
    if ((path != "/" && !path.empty()) || parsed.get(CURLUPART_QUERY) ||
        parsed.get(CURLUPART_FRAGMENT)) {
        throw endpoint_error(shown, " must not have a path (path-style addressing adds /<bucket>)");
    }
    const std::string host = ascii_lower(parsed.get(CURLUPART_HOST).value_or(""));
    if (host.empty()) {
        throw endpoint_error(shown, ": malformed host or port");
    }
    const std::string port = parsed.get(CURLUPART_PORT).value_or("");
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

StoreLocation parse_store_url(const std::string& url) {
    if (url.rfind("s3://", 0) != 0) {
        throw store_error(url, "is not an s3:// URL");
    }
    // libcurl reads "s3:///x" as host "x": an empty bucket must be caught first.
    if (url.size() == 5 || url[5] == '/') {
        throw store_error(url, "has no bucket (s3://bucket/prefix)");
    }
    ParsedUrl parsed;
    // PATH_AS_IS: keys are bytes, "a/../b" is a prefix like any other.
    const CURLUcode rc =
        parsed.set(url, CURLU_NON_SUPPORT_SCHEME | CURLU_PATH_AS_IS | CURLU_ALLOW_SPACE);
    if (rc != CURLUE_OK) {
        throw store_error(url, std::string("is malformed (") + curl_url_strerror(rc) + ")");
    }
    if (parsed.get(CURLUPART_USER) || parsed.get(CURLUPART_PASSWORD)) {
        throw store_error(url, "must not contain credentials (they come from the environment)");
    }
    if (parsed.get(CURLUPART_PORT)) {
        throw store_error(url, "must not have a port (the endpoint has it: --endpoint)");
    }
    if (parsed.get(CURLUPART_QUERY) || parsed.get(CURLUPART_FRAGMENT)) {
        throw store_error(url, "must not have a query or fragment ('?' or '#')");
    }
    StoreLocation out;
    out.bucket = parsed.get(CURLUPART_HOST).value_or("");
    if (out.bucket.empty()) {
        throw store_error(url, "has no bucket (s3://bucket/prefix)");
    }
    out.prefix = trim_slashes(parsed.get(CURLUPART_PATH).value_or(""));
    if (out.prefix.find("//") != std::string::npos) {
        throw store_error(url, "has an empty path segment");
    }
    return out;
}

}  // namespace mip::detail::s3
