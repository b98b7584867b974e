#pragma once
// AWS Signature Version 4 for S3/R2, as small pure functions (never CURLOPT_AWS_SIGV4).
//
// The rules (see docs/r2.md and shared/spec/s3-r2.md §1):
// - canonical URI: every byte except A-Z a-z 0-9 - _ . ~ and '/' is percent-encoded once, in
//   upper-case hex; no `.`/`..` removal and no `//` collapsing. The wire URL is built with the
//   same encoder, so the wire path and the canonical path are identical.
// - query: names and values use the same encoder (which also encodes '/'); the encoded
//   (name, value) pairs are sorted in byte order; a value-less parameter is written `name=`.
// - headers: lower-cased names, trimmed values with inner whitespace runs collapsed, sorted;
//   repeated headers joined with ',' in the order given. `expect`, `accept`, `user-agent`,
//   `transfer-encoding` and `authorization` are never signed.
// Nothing here logs; secrets only ever flow into HMAC inputs.

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace mip::detail::sigv4 {

/// Hex SHA-256 of the empty string (the payload hash of a body-less request).
inline constexpr std::string_view empty_payload_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
inline constexpr std::string_view unsigned_payload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";

/// S3 URI encoding: every byte except `A-Z a-z 0-9 - _ . ~` becomes `%XX` (upper-case hex);
/// `/` is kept when `keep_slash` (paths) and encoded otherwise (query names and values).
[[nodiscard]] std::string uri_encode(std::string_view text, bool keep_slash);

/// Decodes `%XX` escapes (invalid escapes are kept literally). `+` stays `+`.
[[nodiscard]] std::string uri_decode(std::string_view text);

/// The encoded path of an object in path-style addressing: `/<bucket>/<key>` (or `/<bucket>` for
/// an empty key, `/` for an empty bucket). Used for the wire URL and the canonical URI alike.
[[nodiscard]] std::string object_path(std::string_view bucket, std::string_view key);

/// One query parameter, unencoded. `has_value = false` is written `name=` all the same.
struct QueryParam {
    std::string name;
    std::string value;
};

/// `name=value&...` with names and values encoded and the pairs sorted by encoded (name, value).
/// The same string serves as the canonical query and the wire query.
[[nodiscard]] std::string canonical_query(const std::vector<QueryParam>& params);

/// Splits a raw (already encoded) query string into decoded parameters ("a=1&b" → a=1, b=).
[[nodiscard]] std::vector<QueryParam> parse_query(std::string_view raw_query);

struct Header {
    std::string name;
    std::string value;
};

/// True for headers that must never be signed (libcurl adds or changes them).
[[nodiscard]] bool never_signed(std::string_view lower_name);

/// Trims and collapses runs of whitespace (space, tab, CR, LF) into one space.
[[nodiscard]] std::string normalize_header_value(std::string_view value);

struct CanonicalHeaders {
    std::string block;           ///< "name:value\n" per signed header, sorted
    std::string signed_headers;  ///< "a;b;c"
};

/// Canonical header block and signed-header list of `headers` (never-signed ones are dropped).
[[nodiscard]] CanonicalHeaders canonical_headers(const std::vector<Header>& headers);

/// What the signer needs, all of it already in canonical (encoded) form.
struct Request {
    std::string method;           ///< "GET", "PUT", ...
    std::string canonical_uri;    ///< encoded path, e.g. from object_path()
    std::string canonical_query;  ///< from canonical_query()
    std::vector<Header> headers;  ///< the headers to sign, as sent (host with its port)
    std::string payload_hash;     ///< hex SHA-256 of the body, or UNSIGNED-PAYLOAD
};

[[nodiscard]] std::string canonical_request(const Request& request);

/// `yyyymmdd/<region>/<service>/aws4_request`
[[nodiscard]] std::string credential_scope(std::string_view date8,
                                           std::string_view region,
                                           std::string_view service);

[[nodiscard]] std::string string_to_sign(std::string_view amz_date,
                                         std::string_view scope,
                                         std::string_view canonical_request_text);

/// The derived signing key: HMAC chain "AWS4"+secret → date → region → service → aws4_request.
[[nodiscard]] std::string derive_signing_key(std::string_view secret_access_key,
                                             std::string_view date8,
                                             std::string_view region,
                                             std::string_view service);

/// Thread-safe cache of signing keys per (access key, date, region, service). Holds at most a
/// handful of entries (one per day in practice). Never exposes its content.
class SigningKeyCache {
public:
    [[nodiscard]] std::string get(std::string_view access_key_id,
                                  std::string_view secret_access_key,
                                  std::string_view date8,
                                  std::string_view region,
                                  std::string_view service);
    [[nodiscard]] std::size_t size() const;

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::string> keys_;
};

struct Credentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;  ///< "" = none
};

struct Signature {
    std::string canonical_request;
    std::string string_to_sign;
    std::string signed_headers;
    std::string signature;      ///< hex
    std::string authorization;  ///< the full Authorization header value (a secret-derived value)
};

/// Signs exactly `request.headers` (test entry point: it does not require
/// x-amz-content-sha256). `amz_date` is `YYYYMMDDTHHMMSSZ`. `cache` may be null.
[[nodiscard]] Signature sign(const Credentials& credentials,
                             const Request& request,
                             std::string_view amz_date,
                             std::string_view region,
                             std::string_view service,
                             SigningKeyCache* cache = nullptr);

/// `YYYYMMDDTHHMMSSZ` of a UTC time point.
[[nodiscard]] std::string format_amz_date(std::chrono::system_clock::time_point when);

/// The S3 production path: adds `host`, `x-amz-date`, `x-amz-content-sha256` (required, throws
/// mip::Error(internal) when `payload_hash` is empty or a STREAMING-* value) and
/// `x-amz-security-token` (when a session token is set) to `request.headers`, then signs.
/// Returns the signature; `request.headers` then holds every header to send besides
/// `Authorization`.
[[nodiscard]] Signature sign_s3(const Credentials& credentials,
                                Request& request,
                                std::string_view host,
                                std::chrono::system_clock::time_point now,
                                std::string_view region,
                                SigningKeyCache* cache = nullptr);

}  // namespace mip::detail::sigv4
