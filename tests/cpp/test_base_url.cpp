// detail/base_url: the one check of a store's public base URL, against a real LocalStore and a
// real (unconnected) R2Client.

#include <string>

#include <catch2/catch.hpp>

#include <mip/error.hpp>
#include <mip/local_store.hpp>
#include <mip/r2_client.hpp>

#include "detail/base_url.hpp"
#include "test_support.hpp"

using mip::detail::resolve_base_url;
using mip::test::TempDir;

namespace {

mip::R2Client offline_client() {
    mip::R2Config c;
    c.endpoint = "https://acct.r2.cloudflarestorage.com";
    c.bucket = "bucket";
    c.prefix = "core/packages";
    c.access_key_id = "AKID";
    c.secret_access_key = "secret";
    return mip::R2Client(c);
}

std::string error_of(const std::string& configured, const mip::Store& store) {
    try {
        (void)resolve_base_url(configured, store, "--base-url");
    } catch (const mip::SpecError& e) {
        return e.what();
    }
    return "(accepted)";
}

}  // namespace

TEST_CASE("a local store defaults to its file:// URL; trailing slashes go", "[base_url]") {
    TempDir tmp;
    mip::LocalStore store(tmp / "store");
    CHECK_FALSE(mip::detail::is_s3_store(store));
    CHECK(resolve_base_url("", store, "index") == store.default_base_url());
    CHECK(resolve_base_url("https://example.org/core//", store, "index") ==
          "https://example.org/core");
    CHECK(resolve_base_url("file:///srv/store/", store, "index") == "file:///srv/store");
}

TEST_CASE("an S3 store needs an explicit https:// base URL", "[base_url]") {
    auto client = offline_client();
    CHECK(mip::detail::is_s3_store(client));
    CHECK(resolve_base_url("https://pkgs.example.org/core/", client, "--base-url") ==
          "https://pkgs.example.org/core");
    const auto missing = error_of("", client);
    CHECK(missing.find("base_url") != std::string::npos);
    CHECK(missing.find("is required with s3://bucket/core/packages") != std::string::npos);
    CHECK(error_of("file:///srv/store", client).find("must be an https:// URL for an S3 store") !=
          std::string::npos);
    CHECK(error_of("/", client).find("is required") != std::string::npos);
}

TEST_CASE("plain http is refused for every store", "[base_url]") {
    TempDir tmp;
    mip::LocalStore store(tmp / "store");
    auto client = offline_client();
    for (const mip::Store* s :
         {static_cast<const mip::Store*>(&store), static_cast<const mip::Store*>(&client)}) {
        const auto what = error_of("http://example.org/core", *s);
        CHECK(what.find("--base-url") != std::string::npos);
        CHECK(what.find("plain http is refused") != std::string::npos);
    }
}
