// detail/s3_endpoint: the endpoint and store URLs parsed with libcurl's curl_url, on the edge
// cases a hand parser got wrong or never saw: ports, userinfo, IPv6, trailing slashes, case,
// queries, and the `s3://bucket/prefix` forms.

#include <string>

#include <catch2/catch.hpp>

#include <mip/error.hpp>

#include "detail/s3_endpoint.hpp"

using mip::detail::s3::Endpoint;
using mip::detail::s3::parse_endpoint;
using mip::detail::s3::parse_store_url;
using mip::detail::s3::StoreLocation;

namespace {

std::string endpoint_error(const std::string& url, bool loopback_ok = false) {
    try {
        (void)parse_endpoint(url, loopback_ok);
    } catch (const mip::SpecError& e) {
        return e.what();
    }
    return "(accepted)";
}

std::string store_error(const std::string& url) {
    try {
        (void)parse_store_url(url);
    } catch (const mip::SpecError& e) {
        return e.what();
    }
    return "(accepted)";
}

}  // namespace

TEST_CASE("endpoint: host lower-cased, default ports and a trailing slash dropped", "[s3_url]") {
    CHECK(parse_endpoint("https://Acct.R2.CloudflareStorage.com", false) ==
          Endpoint{"https://acct.r2.cloudflarestorage.com", "acct.r2.cloudflarestorage.com", true,
                   false});
    CHECK(parse_endpoint("HTTPS://example.com:443/", false) ==
          Endpoint{"https://example.com", "example.com", true, false});
    CHECK(parse_endpoint("https://example.com:8443", false) ==
          Endpoint{"https://example.com:8443", "example.com:8443", true, false});
    CHECK(parse_endpoint("https://example.com:", false).host_header == "example.com");
}

TEST_CASE("endpoint: loopback hosts, IPv6 included, may use http with the flag", "[s3_url]") {
    CHECK(parse_endpoint("http://127.0.0.1:9000", true) ==
          Endpoint{"http://127.0.0.1:9000", "127.0.0.1:9000", false, true});
    CHECK(parse_endpoint("http://LOCALHOST:80", true) ==
          Endpoint{"http://localhost", "localhost", false, true});
    CHECK(parse_endpoint("http://[::1]:9000/", true) ==
          Endpoint{"http://[::1]:9000", "[::1]:9000", false, true});
    // curl's normal form of the IPv6 loopback counts as loopback too.
    CHECK(parse_endpoint("http://[0:0:0:0:0:0:0:1]:80", true).loopback);
    CHECK(parse_endpoint("https://[2001:db8::1]:9000", false).host_header == "[2001:db8::1]:9000");
    CHECK(endpoint_error("http://127.0.0.1:9000").find("--allow-insecure-loopback") !=
          std::string::npos);
    CHECK(endpoint_error("http://10.0.0.1:9000", true).find("refusing plain http") !=
          std::string::npos);
}

TEST_CASE("endpoint: what is refused, and why", "[s3_url]") {
    CHECK(endpoint_error("").find("is empty") != std::string::npos);
    CHECK(endpoint_error("example.com").find("is not a URL") != std::string::npos);
    CHECK(endpoint_error("ftp://example.com").find("scheme must be https") != std::string::npos);
    CHECK(endpoint_error("https://example.com/bucket").find("must not have a path") !=
          std::string::npos);
    CHECK(endpoint_error("https://example.com?x=1").find("must not have a path") !=
          std::string::npos);
    CHECK(endpoint_error("https://example.com#top").find("must not have a path") !=
          std::string::npos);
    CHECK(endpoint_error("https://example.com:99999").find("malformed") != std::string::npos);
    CHECK(endpoint_error("https://example.com:http").find("malformed") != std::string::npos);
    CHECK(endpoint_error("https://[::1").find("malformed") != std::string::npos);
    CHECK(endpoint_error("https://exa mple.com").find("malformed") != std::string::npos);
    SECTION("userinfo is refused without showing the secret") {
        for (const char* url : {"https://user:hunter2@example.com", "https://hunter2@example.com",
                                "https://@example.com"}) {
            const auto what = endpoint_error(url);
            CHECK(what.find("must not contain credentials") != std::string::npos);
            CHECK(what.find("hunter2") == std::string::npos);
        }
    }
}

TEST_CASE("store URL: bucket and prefix, slashes trimmed, bytes kept", "[s3_url]") {
    CHECK(parse_store_url("s3://bucket") == StoreLocation{"bucket", ""});
    CHECK(parse_store_url("s3://bucket/") == StoreLocation{"bucket", ""});
    CHECK(parse_store_url("s3://bucket/core/packages") == StoreLocation{"bucket", "core/packages"});
    CHECK(parse_store_url("s3://bucket/core/packages/") ==
          StoreLocation{"bucket", "core/packages"});
    CHECK(parse_store_url("s3://bucket//x") == StoreLocation{"bucket", "x"});
    CHECK(parse_store_url("s3://my-bucket.v2/P") == StoreLocation{"my-bucket.v2", "P"});
    // Keys are bytes: no dot-segment removal, no percent-decoding, spaces allowed.
    CHECK(parse_store_url("s3://b/a/../c") == StoreLocation{"b", "a/../c"});
    CHECK(parse_store_url("s3://b/a%20b") == StoreLocation{"b", "a%20b"});
    CHECK(parse_store_url("s3://b/a b") == StoreLocation{"b", "a b"});
    CHECK(parse_store_url("s3://b/\xC3\xA9t\xC3\xA9") == StoreLocation{"b", "\xC3\xA9t\xC3\xA9"});
}

TEST_CASE("store URL: what is refused, and why", "[s3_url]") {
    CHECK(store_error("https://bucket/p").find("is not an s3:// URL") != std::string::npos);
    CHECK(store_error("s3://").find("has no bucket") != std::string::npos);
    // libcurl alone would read this as bucket "x".
    CHECK(store_error("s3:///x").find("has no bucket") != std::string::npos);
    CHECK(store_error("s3://b/a//c").find("empty path segment") != std::string::npos);
    CHECK(store_error("s3://key:secret@b/p").find("must not contain credentials") !=
          std::string::npos);
    CHECK(store_error("s3://b:9000/p").find("must not have a port") != std::string::npos);
    CHECK(store_error("s3://b/p?x=1").find("query or fragment") != std::string::npos);
    CHECK(store_error("s3://b/p#f").find("query or fragment") != std::string::npos);
    CHECK(store_error("s3://b/p").find("(accepted)") != std::string::npos);
    CHECK(store_error("s3:///x").find("--store") != std::string::npos);
}
