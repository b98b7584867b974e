#include "detail/sigv4.hpp"

#include <algorithm>
#include <ctime>

#include <mip/error.hpp>

#include "detail/crypto.hpp"
#include "detail/text.hpp"

namespace mip::detail::sigv4 {

namespace {

bool is_unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

std::string uri_encode(std::string_view text, bool keep_slash) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size() * 3 / 2);
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(digits[c >> 4U]);
            out.push_back(digits[c & 0x0FU]);
        }
    }
    return out;
}

std::string uri_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            const int hi = hex_digit_value(text[i + 1]);
            const int lo = hex_digit_value(text[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(text[i]);
    }
    return out;
}

std::string object_path(std::string_view bucket, std::string_view key) {
    std::string path = "/";
    if (bucket.empty()) {
        return path;
    }
    path += uri_encode(bucket, false);
    if (!key.empty()) {
        path += '/';
        path += uri_encode(key, true);
    }
    return path;
}

std::string canonical_query(const std::vector<QueryParam>& params) {
    std::vector<std::pair<std::string, std::string>> encoded;
    encoded.reserve(params.size());
    for (const auto& p : params) {
        encoded.emplace_back(uri_encode(p.name, false), uri_encode(p.value, false));
    }
    std::sort(encoded.begin(), encoded.end());
    std::string out;
    for (const auto& [name, value] : encoded) {
        if (!out.empty()) {
            out += '&';
        }
        out += name;
        out += '=';
        out += value;
    }
    return out;
}

std::vector<QueryParam> parse_query(std::string_view raw_query) {
    std::vector<QueryParam> params;
    while (!raw_query.empty()) {
        const auto amp = raw_query.find('&');
        const std::string_view pair = raw_query.substr(0, amp);
        raw_query = amp == std::string_view::npos ? std::string_view{} : raw_query.substr(amp + 1);
        if (pair.empty()) {
            continue;
        }
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos) {
            params.push_back({uri_decode(pair), ""});
        } else {
            params.push_back({uri_decode(pair.substr(0, eq)), uri_decode(pair.substr(eq + 1))});
        }
    }
    return params;
}

bool never_signed(std::string_view lower_name) {
    return lower_name == "expect" || lower_name == "accept" || lower_name == "user-agent" ||
           lower_name == "transfer-encoding" || lower_name == "authorization";
}

std::string normalize_header_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    bool pending_space = false;
    for (char c : value) {
        if (is_space(c)) {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space) {
            out.push_back(' ');
            pending_space = false;
        }
        out.push_back(c);
    }
    return out;
}

CanonicalHeaders canonical_headers(const std::vector<Header>& headers) {
    // Stable order of first appearance within one name; names sorted bytewise.
    std::map<std::string, std::string> joined;
    for (const auto& h : headers) {
        std::string name = ascii_lower(normalize_header_value(h.name));
        if (never_signed(name)) {
            continue;
        }
        std::string value = normalize_header_value(h.value);
        auto [it, inserted] = joined.try_emplace(std::move(name), value);
        if (!inserted) {
            it->second += ',';
            it->second += value;
        }
    }
    CanonicalHeaders out;
    for (const auto& [name, value] : joined) {
        out.block += name;
        out.block += ':';
        out.block += value;
        out.block += '\n';
        if (!out.signed_headers.empty()) {
            out.signed_headers += ';';
        }
        out.signed_headers += name;
    }
    return out;
}

std::string canonical_request(const Request& request) {
    const CanonicalHeaders headers = canonical_headers(request.headers);
    std::string out;
    out.reserve(256 + headers.block.size() + request.canonical_uri.size() +
                request.canonical_query.size());
    out += request.method;
    out += '\n';
    out += request.canonical_uri.empty() ? std::string("/") : request.canonical_uri;
    out += '\n';
    out += request.canonical_query;
    out += '\n';
    out += headers.block;
    out += '\n';
    out += headers.signed_headers;
    out += '\n';
    out += request.payload_hash;
    return out;
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): SigV4's order (AWS vectors)
std::string credential_scope(std::string_view date8,
                             std::string_view region,
                             std::string_view service) {
    std::string scope(date8);
    scope += '/';
    scope += region;
    scope += '/';
    scope += service;
    scope += "/aws4_request";
    return scope;
}

std::string string_to_sign(
    std::string_view amz_date,
    // NOLINTNEXTLINE(bugprone-easily-swappable-parameters): SigV4's order (AWS vectors)
    std::string_view scope,
    std::string_view canonical_request_text) {
    std::string out(algorithm);
    out += '\n';
    out += amz_date;
    out += '\n';
    out += scope;
    out += '\n';
    out += sha256_hex(canonical_request_text);
    return out;
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): SigV4's order (AWS vectors)
std::string derive_signing_key(std::string_view secret_access_key,
                               std::string_view date8,
                               std::string_view region,
                               std::string_view service) {
    std::string seed = "AWS4";
    seed += secret_access_key;
    const std::string k_date = hmac_sha256(seed, date8);
    const std::string k_region = hmac_sha256(k_date, region);
    const std::string k_service = hmac_sha256(k_region, service);
    return hmac_sha256(k_service, "aws4_request");
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): SigV4's order (AWS vectors)
std::string SigningKeyCache::get(std::string_view access_key_id,
                                 std::string_view secret_access_key,
                                 std::string_view date8,
                                 std::string_view region,
                                 std::string_view service) {
    std::string id(access_key_id);
    id += '\n';
    id += date8;
    id += '\n';
    id += region;
    id += '\n';
    id += service;
    {
        std::lock_guard lock(mutex_);
        if (auto it = keys_.find(id); it != keys_.end()) {
            return it->second;
        }
    }
    std::string key = derive_signing_key(secret_access_key, date8, region, service);
    std::lock_guard lock(mutex_);
    if (keys_.size() >= 8) {
        keys_.clear();  // dates roll over; keep the cache tiny
    }
    keys_.emplace(std::move(id), key);
    return key;
}

std::size_t SigningKeyCache::size() const {
    std::lock_guard lock(mutex_);
    return keys_.size();
}

Signature sign(const Credentials& credentials,
               const Request& request,
               // NOLINTNEXTLINE(bugprone-easily-swappable-parameters): SigV4's order (AWS vectors)
               std::string_view amz_date,
               std::string_view region,
               std::string_view service,
               SigningKeyCache* cache) {
    if (amz_date.size() != 16) {
        throw Error(ErrorCode::internal, "sigv4: malformed x-amz-date");
    }
    const std::string_view date8 = amz_date.substr(0, 8);
    Signature out;
    out.canonical_request = canonical_request(request);
    const std::string scope = credential_scope(date8, region, service);
    out.string_to_sign = string_to_sign(amz_date, scope, out.canonical_request);
    const std::string key =
        cache != nullptr
            ? cache->get(credentials.access_key_id, credentials.secret_access_key, date8, region,
                         service)
            : derive_signing_key(credentials.secret_access_key, date8, region, service);
    out.signature = hex_encode(hmac_sha256(key, out.string_to_sign));
    out.signed_headers = canonical_headers(request.headers).signed_headers;
    out.authorization = std::string(algorithm) + " Credential=" + credentials.access_key_id + "/" +
                        scope + ", SignedHeaders=" + out.signed_headers +
                        ", Signature=" + out.signature;
    return out;
}

std::string format_amz_date(std::chrono::system_clock::time_point when) {
    const std::time_t t = std::chrono::system_clock::to_time_t(when);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buffer[32];
    const std::size_t n = std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &tm);
    return std::string(buffer, n);
}

Signature sign_s3(const Credentials& credentials,
                  Request& request,
                  std::string_view host,
                  std::chrono::system_clock::time_point now,
                  std::string_view region,
                  SigningKeyCache* cache) {
    if (request.payload_hash.empty() || request.payload_hash.rfind("STREAMING-", 0) == 0) {
        throw Error(ErrorCode::internal,
                    "sigv4: x-amz-content-sha256 must be a hex digest or UNSIGNED-PAYLOAD");
    }
    const std::string amz_date = format_amz_date(now);
    request.headers.push_back({"host", std::string(host)});
    request.headers.push_back({"x-amz-date", amz_date});
    request.headers.push_back({"x-amz-content-sha256", request.payload_hash});
    if (!credentials.session_token.empty()) {
        request.headers.push_back({"x-amz-security-token", credentials.session_token});
    }
    return sign(credentials, request, amz_date, region, "s3", cache);
}

}  // namespace mip::detail::sigv4
