#pragma once
// Private: the S3 requests of the R2 client as `Call`s (s3_engine.hpp), and what their answers
// mean: HeadObject, GetObject, ListObjectsV2 pages, PUT headers, malformed-answer errors.

#include <exception>
#include <string>

#include <mip/store.hpp>

#include "detail/s3_engine.hpp"
#include "detail/s3_xml.hpp"

namespace mip::detail::s3 {

/// `"etag"` quoted for If-Match / If-None-Match (`*` and quoted values as they are).
[[nodiscard]] std::string quote_etag(const std::string& etag);

/// A RemoteError for an answer that does not make sense, naming the request.
[[nodiscard]] std::exception_ptr malformed(const ClientState& impl,
                                           const Call& c,
                                           const std::string& what);

/// HeadObject (404 is an answer: absent).
[[nodiscard]] CallPtr head_call(const ClientState& impl, const std::string& key);
/// The ObjectInfo of a finished HeadObject.
[[nodiscard]] ObjectInfo info_from_head(const ClientState& impl, const Call& c);

/// GetObject (404 absent, 304 not modified are answers); `if_none_match` = "" for none.
[[nodiscard]] CallPtr get_call(const ClientState& impl,
                               const std::string& key,
                               const std::string& if_none_match);
/// A finished GetObject as a GetResult (404 = absent, 304 = not modified).
void fill_get_result(GetResult& r, Call& call, const std::string& if_none_match);

/// One ListObjectsV2 page request (`s3_prefix` includes the client's prefix).
[[nodiscard]] CallPtr list_call(const std::string& s3_prefix,
                                bool recursive,
                                const std::string& token);
/// A page's body, parsed; a malformed one is a RemoteError naming the request.
[[nodiscard]] ListPage parse_page(const ClientState& impl, const Call& c);

/// Content-Type, Cache-Control and, when `conditional`, If-None-Match / If-Match.
void add_put_headers(Call& c, const PutOptions& o, bool conditional);

}  // namespace mip::detail::s3
