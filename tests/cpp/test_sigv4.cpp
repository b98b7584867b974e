// SigV4 signer: public vectors (AWS S3 API reference, awslabs/aws-c-auth), botocore-generated S3
// vectors (tests/data/sigv4/botocore_vectors.json) and the encoding rules of s3-r2.md §1.

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <mip/error.hpp>

#include "detail/crypto.hpp"
#include "detail/sigv4.hpp"
#include "detail/text.hpp"

namespace sigv4 = mip::detail::sigv4;
namespace fs = std::filesystem;

namespace {

const fs::path data_dir = fs::path(MIP_TEST_DATA_DIR) / "sigv4";

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// --- AWS S3 API reference, "Signature Calculations for the Authorization Header: Transferring
// Payload in a Single Chunk" (credentials and date shared by all four examples).
const sigv4::Credentials s3_doc_credentials{"AKIAIOSFODNN7EXAMPLE",
                                            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
constexpr const char* s3_doc_date = "20130524T000000Z";
constexpr const char* s3_doc_host = "examplebucket.s3.amazonaws.com";

sigv4::Request s3_doc_get(std::string uri, const std::vector<sigv4::QueryParam>& query) {
    sigv4::Request r;
    r.method = "GET";
    r.canonical_uri = std::move(uri);
    r.canonical_query = sigv4::canonical_query(query);
    r.payload_hash = std::string(sigv4::empty_payload_sha256);
    r.headers = {{"Host", s3_doc_host},
                 {"x-amz-date", s3_doc_date},
                 {"x-amz-content-sha256", r.payload_hash}};
    return r;
}

// "YYYYMMDDTHHMMSSZ" → time point (UTC).
std::chrono::system_clock::time_point time_of(const std::string& amz_date) {
    std::tm tm{};
    tm.tm_year = std::stoi(amz_date.substr(0, 4)) - 1900;
    tm.tm_mon = std::stoi(amz_date.substr(4, 2)) - 1;
    tm.tm_mday = std::stoi(amz_date.substr(6, 2));
    tm.tm_hour = std::stoi(amz_date.substr(9, 2));
    tm.tm_min = std::stoi(amz_date.substr(11, 2));
    tm.tm_sec = std::stoi(amz_date.substr(13, 2));
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace

TEST_CASE("sigv4 reproduces the four AWS S3 reference examples", "[sigv4]") {
    SECTION("GET object with Range") {
        auto r = s3_doc_get(sigv4::object_path("", "") + "test.txt", {});
        r.headers.push_back({"Range", "bytes=0-9"});
        const auto sig = sigv4::sign(s3_doc_credentials, r, s3_doc_date, "us-east-1", "s3");
        CHECK(sig.signed_headers == "host;range;x-amz-content-sha256;x-amz-date");
        CHECK(sig.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
        CHECK(sig.authorization ==
              "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
              "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
              "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    }
    SECTION("PUT object with a $ in the key, a Date header and a storage class") {
        const std::string body = "Welcome to Amazon S3.";
        sigv4::Request r;
        r.method = "PUT";
        r.canonical_uri = "/" + sigv4::uri_encode("test$file.text", true);
        CHECK(r.canonical_uri == "/test%24file.text");
        r.payload_hash = mip::detail::sha256_hex(body);
        CHECK(r.payload_hash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
        r.headers = {{"Host", s3_doc_host},
                     {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                     {"x-amz-date", s3_doc_date},
                     {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                     {"x-amz-content-sha256", r.payload_hash}};
        const auto sig = sigv4::sign(s3_doc_credentials, r, s3_doc_date, "us-east-1", "s3");
        CHECK(sig.signed_headers ==
              "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
        CHECK(sig.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    }
    SECTION("GET bucket lifecycle: a value-less parameter is signed as name=") {
        const auto r = s3_doc_get("/", {{"lifecycle", ""}});
        CHECK(r.canonical_query == "lifecycle=");
        const auto sig = sigv4::sign(s3_doc_credentials, r, s3_doc_date, "us-east-1", "s3");
        CHECK(sig.signed_headers == "host;x-amz-content-sha256;x-amz-date");
        CHECK(sig.signature == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    }
    SECTION("GET bucket listing with max-keys and prefix") {
        const auto r = s3_doc_get("/", {{"prefix", "J"}, {"max-keys", "2"}});
        CHECK(r.canonical_query == "max-keys=2&prefix=J");
        const auto sig = sigv4::sign(s3_doc_credentials, r, s3_doc_date, "us-east-1", "s3");
        CHECK(sig.signature == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    }
}

namespace {

struct SuiteCase {
    std::string method;
    std::string raw_target;
    std::vector<sigv4::Header> headers;
    std::string expected_signed_headers;
    std::string expected_signature;
};

// Parses an aws-c-auth `header-signed-request.txt`: request line, headers (continuation lines
// start with whitespace), the Authorization header giving the expected result.
SuiteCase parse_suite_case(const std::string& text) {
    SuiteCase c;
    std::istringstream in(text);
    std::string line;
    std::getline(in, line);
    const auto sp1 = line.find(' ');
    const auto sp2 = line.rfind(' ');
    c.method = line.substr(0, sp1);
    c.raw_target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    while (std::getline(in, line) && !line.empty()) {
        if ((line[0] == ' ' || line[0] == '\t') && !c.headers.empty()) {
            // A folded line is one more value of the same header (aws-c-auth's reading).
            c.headers.push_back({c.headers.back().name, line});
            continue;
        }
        const auto colon = line.find(':');
        c.headers.push_back({line.substr(0, colon), line.substr(colon + 1)});
    }
    for (auto it = c.headers.begin(); it != c.headers.end(); ++it) {
        if (mip::detail::ascii_lower(it->name) == "authorization") {
            const std::string& v = it->value;
            const auto sh = v.find("SignedHeaders=") + 14;
            c.expected_signed_headers = v.substr(sh, v.find(',', sh) - sh);
            c.expected_signature = v.substr(v.find("Signature=") + 10);
            c.headers.erase(it);
            break;
        }
    }
    return c;
}

}  // namespace

TEST_CASE("sigv4 matches the S3-applicable aws-c-auth suite cases", "[sigv4]") {
    const fs::path suite = data_dir / "aws-c-auth";
    std::vector<fs::path> cases;
    for (const auto& entry : fs::directory_iterator(suite)) {
        if (entry.is_directory()) {
            cases.push_back(entry.path());
        }
    }
    std::sort(cases.begin(), cases.end());
    REQUIRE(cases.size() >= 20);
    for (const auto& dir : cases) {
        const auto name = dir.filename().string();
        INFO("case " << name);
        const auto context = nlohmann::json::parse(slurp(dir / "context.json"));
        const auto c = parse_suite_case(slurp(dir / "header-signed-request.txt"));
        REQUIRE(!c.expected_signature.empty());
        sigv4::Credentials creds{context["credentials"]["access_key_id"],
                                 context["credentials"]["secret_access_key"], ""};
        sigv4::Request r;
        r.method = c.method;
        const auto q = c.raw_target.find('?');
        // The suite writes the target as it would be typed: decode once, encode by S3 rules.
        r.canonical_uri = sigv4::uri_encode(sigv4::uri_decode(c.raw_target.substr(0, q)), true);
        if (q != std::string::npos) {
            r.canonical_query =
                sigv4::canonical_query(sigv4::parse_query(c.raw_target.substr(q + 1)));
        }
        // These cases do not sign x-amz-content-sha256 (sign_body: false): the test entry point
        // signs exactly the headers given.
        for (const auto& h : c.headers) {
            if (mip::detail::ascii_lower(h.name) != "x-amz-content-sha256") {
                r.headers.push_back(h);
            }
        }
        r.payload_hash = std::string(sigv4::empty_payload_sha256);
        const auto sig =
            sigv4::sign(creds, r, "20150830T123600Z", context["region"].get<std::string>(),
                        context["service"].get<std::string>());
        CHECK(sig.signed_headers == c.expected_signed_headers);
        CHECK(sig.signature == c.expected_signature);
    }
}

TEST_CASE("sigv4 get-vanilla anchor and its canonical request", "[sigv4]") {
    sigv4::Request r;
    r.method = "GET";
    r.canonical_uri = "/";
    r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
    r.payload_hash = std::string(sigv4::empty_payload_sha256);
    const auto sig = sigv4::sign({"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""}, r,
                                 "20150830T123600Z", "us-east-1", "service");
    CHECK(sig.canonical_request ==
          "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sig.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST_CASE("sigv4 matches botocore's S3SigV4Auth on R2-style requests", "[sigv4]") {
    const auto doc = nlohmann::json::parse(slurp(data_dir / "botocore_vectors.json"));
    const sigv4::Credentials creds{doc["access_key_id"], doc["secret_access_key"], ""};
    const std::string amz_date = doc["amz_date"];
    REQUIRE(doc["cases"].size() >= 6);
    for (const auto& c : doc["cases"]) {
        INFO("case " << c["name"].get<std::string>());
        sigv4::Request r;
        r.method = c["method"];
        r.canonical_uri =
            sigv4::object_path(c["bucket"].get<std::string>(), c["key"].get<std::string>());
        std::vector<sigv4::QueryParam> query;
        for (const auto& q : c["query"]) {
            query.push_back({q[0], q[1]});
        }
        r.canonical_query = sigv4::canonical_query(query);
        r.payload_hash = mip::detail::sha256_hex(c["body"].get<std::string>());
        CHECK(r.payload_hash == c["payload_sha256"].get<std::string>());
        for (const auto& h : c["headers"]) {
            r.headers.push_back({h[0], h[1]});
        }
        const auto pinned = sigv4::sign_s3(creds, r, c["host"].get<std::string>(),
                                           time_of(amz_date), c["region"].get<std::string>());
        CHECK(pinned.canonical_request == c["canonical_request"].get<std::string>());
        CHECK(pinned.string_to_sign == c["string_to_sign"].get<std::string>());
        CHECK(pinned.signature == c["signature"].get<std::string>());
        // The wire URL is built from the same strings (the generator kept its own query order).
        const std::string expected_url = c["url"];
        const auto q = expected_url.find('?');
        CHECK(std::string(c["scheme"]) + "://" + std::string(c["host"]) + r.canonical_uri ==
              expected_url.substr(0, q));
        if (q != std::string::npos) {
            CHECK(sigv4::canonical_query(sigv4::parse_query(expected_url.substr(q + 1))) ==
                  r.canonical_query);
        }
    }
}

TEST_CASE("sigv4 encodes keys once, by S3 rules", "[sigv4]") {
    CHECK(sigv4::uri_encode("a b+c=d:e@f%g~h_i-j.k/l", true) ==
          "a%20b%2Bc%3Dd%3Ae%40f%25g~h_i-j.k/l");
    CHECK(sigv4::uri_encode("a/b", false) == "a%2Fb");
    CHECK(sigv4::uri_encode("\xC3\xA9", true) == "%C3%A9");
    CHECK(sigv4::uri_encode("%41", true) == "%2541");  // never treated as pre-encoded
    CHECK(sigv4::object_path("test", "./a//b/../c") == "/test/./a//b/../c");
    CHECK(sigv4::object_path("test", "") == "/test");
    CHECK(sigv4::object_path("", "") == "/");
    CHECK(sigv4::uri_decode("a%20b%2Bc+d%zz%4") == "a b+c+d%zz%4");
}

TEST_CASE("sigv4 sorts encoded query pairs, not joined strings", "[sigv4]") {
    // "upload-id=…" < "upload=…" as strings, but the pair ("upload", …) sorts first.
    CHECK(sigv4::canonical_query({{"upload-id", "q"}, {"upload", "z"}}) == "upload=z&upload-id=q");
    CHECK(sigv4::canonical_query({{"b", "2"}, {"a", "2"}, {"a", "1"}}) == "a=1&a=2&b=2");
    CHECK(sigv4::canonical_query({{"uploads", ""}}) == "uploads=");
    CHECK(sigv4::canonical_query({{"continuation-token", "a+b/c=="}, {"prefix", "index/"}}) ==
          "continuation-token=a%2Bb%2Fc%3D%3D&prefix=index%2F");
    const auto parsed = sigv4::parse_query("b=%2F&a&c=x%3Dy");
    REQUIRE(parsed.size() == 3);
    CHECK(parsed[0].name == "b");
    CHECK(parsed[0].value == "/");
    CHECK(parsed[1].name == "a");
    CHECK(parsed[1].value.empty());
    CHECK(parsed[2].value == "x=y");
}

TEST_CASE("sigv4 never signs expect, accept, user-agent or transfer-encoding", "[sigv4]") {
    const auto h = sigv4::canonical_headers({{"Expect", ""},
                                             {"Accept", "*/*"},
                                             {"User-Agent", "curl"},
                                             {"Transfer-Encoding", "chunked"},
                                             {"Host", "127.0.0.1:9000"},
                                             {"X-Amz-Meta-A", "  x   y  "},
                                             {"x-amz-meta-a", "z"}});
    CHECK(h.signed_headers == "host;x-amz-meta-a");
    CHECK(h.block == "host:127.0.0.1:9000\nx-amz-meta-a:x y,z\n");
}

TEST_CASE("sign_s3 adds host with port, date, payload hash and session token", "[sigv4]") {
    sigv4::Request r;
    r.method = "PUT";
    r.canonical_uri = sigv4::object_path("test", "k");
    r.payload_hash = std::string(sigv4::empty_payload_sha256);
    r.headers = {{"if-none-match", "*"}};
    const auto when = std::chrono::system_clock::time_point{std::chrono::seconds{1700000000}};
    const auto sig = sigv4::sign_s3({"AK", "SECRET", "TOKEN"}, r, "127.0.0.1:9000", when, "auto");
    CHECK(sig.signed_headers ==
          "host;if-none-match;x-amz-content-sha256;x-amz-date;x-amz-security-token");
    CHECK(sig.canonical_request.find("host:127.0.0.1:9000\n") != std::string::npos);
    CHECK(sig.canonical_request.find("x-amz-date:20231114T221320Z\n") != std::string::npos);
    CHECK(sig.authorization.rfind("AWS4-HMAC-SHA256 Credential=AK/20231114/auto/s3/aws4_request, ",
                                  0) == 0);
    CHECK(sig.authorization.find("SECRET") == std::string::npos);
    sigv4::Request streaming = r;
    streaming.headers.clear();
    streaming.payload_hash = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
    CHECK_THROWS_AS(sigv4::sign_s3({"AK", "SECRET", ""}, streaming, "h", when, "auto"), mip::Error);
    sigv4::Request missing = r;
    missing.headers.clear();
    missing.payload_hash.clear();
    CHECK_THROWS_AS(sigv4::sign_s3({"AK", "SECRET", ""}, missing, "h", when, "auto"), mip::Error);
}

TEST_CASE("signing-key cache is shared safely between threads", "[sigv4]") {
    sigv4::SigningKeyCache cache;
    const std::string expected = sigv4::derive_signing_key("secret", "20250101", "auto", "s3");
    std::vector<std::thread> threads;
    std::vector<int> ok(8, 0);
    for (std::size_t t = 0; t < ok.size(); ++t) {
        threads.emplace_back([&, t] {
            int good = 1;
            for (int i = 0; i < 500; ++i) {
                good &= static_cast<int>(cache.get("AK", "secret", "20250101", "auto", "s3") ==
                                         expected);
                good &= static_cast<int>(cache.get("AK", "secret", "20250102", "auto", "s3") !=
                                         expected);
            }
            ok[t] = good;
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    CHECK(std::all_of(ok.begin(), ok.end(), [](int v) { return v == 1; }));
    CHECK(cache.size() == 2);
}
