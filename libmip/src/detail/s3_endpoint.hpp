#pragma once
// Private: the two URLs of an S3/R2 store, parsed with libcurl's URL API (curl_url): the
// endpoint (`https://host[:port]`) and the store URL (`s3://bucket[/prefix]`).

#include <string>

namespace mip::detail::s3 {

/// An S3 endpoint: where requests go and what they sign as `Host`.
struct Endpoint {
    std::string base;         ///< scheme://host[:port], host lower-cased, no default port
    std::string host_header;  ///< host[:port], the port only when not the scheme's default
    bool https = true;
    bool loopback = false;  ///< 127.0.0.1, localhost or [::1]
    bool operator==(const Endpoint&) const = default;
};

/// Parses an endpoint URL: `https://host[:port]` (a trailing `/` is allowed), or `http://` on a
/// loopback host when `allow_insecure_loopback`. IPv6 hosts are bracketed (`https://[::1]:9000`)
/// and come out in curl's normal form. Throws `SpecError` (URL shown without credentials) for
/// an empty or malformed URL, another scheme, userinfo, a path, query or fragment, a bad port,
/// or plain http elsewhere.
[[nodiscard]] Endpoint parse_endpoint(const std::string& url, bool allow_insecure_loopback);

/// The bucket and key prefix of a store URL.
struct StoreLocation {
    std::string bucket;
    std::string prefix;  ///< without leading or trailing `/`; "" = the whole bucket
    bool operator==(const StoreLocation&) const = default;
};

/// Parses `s3://bucket[/prefix]` (trailing and leading slashes of the prefix dropped, the prefix
/// kept byte for byte: no dot-segment removal, no percent-decoding). Throws `SpecError` (subject
/// `--store`, field `store`) when the URL is not `s3://`, has no bucket, or has userinfo, a port,
/// a query, a fragment or an empty path segment.
[[nodiscard]] StoreLocation parse_store_url(const std::string& url);

/// `s` without leading and trailing `/`.
[[nodiscard]] std::string trim_slashes(std::string s);

}  // namespace mip::detail::s3
