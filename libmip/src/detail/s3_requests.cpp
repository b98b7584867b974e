#include "detail/s3_requests.hpp"

#include <cstdlib>

#include <mip/error.hpp>

namespace mip::detail::s3 {

std::string quote_etag(const std::string& etag) {
    if (etag == "*" || (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"')) {
        return etag;
    }
    return "\"" + etag + "\"";
}

std::exception_ptr malformed(const ClientState& impl, const Call& c, const std::string& what) {
    RemoteErrorInfo info;
    info.http_status = static_cast<int>(c.status);
    info.bucket = impl.config.bucket;
    info.key = impl.relative_key(c.key);
    info.operation = c.operation;
    info.request_id = c.header("x-amz-request-id");
    return std::make_exception_ptr(
        RemoteError(c.operation + " " + impl.target(c) + ": " + what, std::move(info)));
}

ObjectInfo info_from_head(const ClientState& impl, const Call& c) {
    ObjectInfo info;
    info.key = impl.relative_key(c.key);
    info.size = std::strtoull(c.header("content-length").c_str(), nullptr, 10);
    info.etag = unquote_etag(c.header("etag"));
    info.last_modified = c.header("last-modified");
    return info;
}

CallPtr head_call(const ClientState& impl, const std::string& key) {
    auto c = make_call("HeadObject", "HEAD", impl.full_key(key));
    c->accepted = {404};
    return c;
}

void add_put_headers(Call& c, const PutOptions& o, bool conditional) {
    if (!o.content_type.empty()) {
        c.headers.push_back({"content-type", o.content_type});
    }
    if (!o.cache_control.empty()) {
        c.headers.push_back({"cache-control", o.cache_control});
    }
    if (conditional && o.if_none_match) {
        c.headers.push_back({"if-none-match", "*"});
    }
    if (conditional && !o.if_match.empty()) {
        c.headers.push_back({"if-match", quote_etag(o.if_match)});
    }
}

/// A finished GetObject as a GetResult (404 = absent, 304 = not modified).
void fill_get_result(GetResult& r, Call& call, const std::string& if_none_match) {
    r.attempts = call.attempts;
    if (call.error) {
        r.error = call.error;
    } else if (call.status == 304) {
        r.found = true;
        r.not_modified = true;
        r.etag = unquote_etag(if_none_match);
    } else if (call.status != 404) {
        r.found = true;
        r.data = std::move(call.exchange.response_body);
        r.etag = unquote_etag(call.header("etag"));
    }
}

/// One ListObjectsV2 page request.
CallPtr list_call(const std::string& s3_prefix, bool recursive, const std::string& token) {
    auto c = make_call("ListObjectsV2", "GET", "");
    c->query = {{"list-type", "2"}, {"max-keys", "1000"}};
    if (!s3_prefix.empty()) {
        c->query.push_back({"prefix", s3_prefix});
    }
    if (!recursive) {
        c->query.push_back({"delimiter", "/"});
    }
    if (!token.empty()) {
        c->query.push_back({"continuation-token", token});
    }
    return c;
}

/// A page's body, parsed; a malformed one is a RemoteError naming the request.
ListPage parse_page(const ClientState& impl, const Call& c) {
    try {
        return parse_list_objects_v2(c.response_body());
    } catch (const S3XmlError& e) {
        std::rethrow_exception(malformed(impl, c, e.what()));
    }
}

CallPtr get_call(
    const ClientState& impl,
    // NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the key, then its expected ETag
    const std::string& key,
    const std::string& if_none_match) {
    auto c = make_call("GetObject", "GET", impl.full_key(key));
    c->accepted = {404, 304};
    if (!if_none_match.empty()) {
        c->headers.push_back({"if-none-match", quote_etag(if_none_match)});
    }
    return c;
}

}  // namespace mip::detail::s3
