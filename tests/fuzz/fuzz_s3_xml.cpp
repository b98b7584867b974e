// libFuzzer target: the S3 XML response parsers of the R2 client (libmip/src/detail/s3_xml.hpp):
// error documents, ListObjectsV2 pages, multipart initiate/complete, ListMultipartUploads. A
// malformed body may only raise S3XmlError.
#include <cstdint>
#include <string_view>

#include "detail/s3_xml.hpp"

namespace s3 = mip::detail::s3;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view body(reinterpret_cast<const char*>(data), size);
    (void)s3::parse_error(body);
    (void)s3::unquote_etag(body);
    try {
        auto page = s3::parse_list_objects_v2(body);
        (void)page;
    } catch (const s3::S3XmlError&) {
    }
    try {
        (void)s3::parse_initiate_multipart(body);
    } catch (const s3::S3XmlError&) {
    }
    try {
        (void)s3::parse_complete_multipart(body);
    } catch (const s3::S3XmlError&) {
    }
    try {
        (void)s3::parse_list_multipart_uploads(body);
    } catch (const s3::S3XmlError&) {
    }
    return 0;
}
