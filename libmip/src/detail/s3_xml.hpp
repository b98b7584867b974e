#pragma once
// S3 XML bodies (pugixml): error documents, ListObjectsV2 pages, multipart initiate/complete,
// ListMultipartUploads. Parsers throw S3XmlError on a malformed document; callers turn it into a
// mip::RemoteError naming the operation.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <mip/store.hpp>

namespace mip::detail::s3 {

class S3XmlError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct ErrorBody {
    std::string code;
    std::string message;
    std::string request_id;
};

/// The `<Error>` document in `body` (also when it is the root of a 200 response), or nullopt.
[[nodiscard]] std::optional<ErrorBody> parse_error(std::string_view body);

struct ListPage {
    std::vector<ObjectInfo> objects;  ///< full keys (with the store prefix)
    std::vector<std::string> common_prefixes;
    bool truncated = false;
    std::string next_continuation_token;
};

[[nodiscard]] ListPage parse_list_objects_v2(std::string_view body);

/// UploadId of an InitiateMultipartUploadResult.
[[nodiscard]] std::string parse_initiate_multipart(std::string_view body);

/// ETag of a CompleteMultipartUploadResult (unquoted). An `<Error>` root is reported by
/// parse_error(), which callers check first.
[[nodiscard]] std::string parse_complete_multipart(std::string_view body);

/// ETag of a CopyObjectResult (unquoted).
[[nodiscard]] std::string parse_copy_object(std::string_view body);

/// `<CompleteMultipartUpload>` with one `<Part>` per (part number, ETag as returned).
[[nodiscard]] std::string complete_multipart_body(
    const std::vector<std::pair<std::uint32_t, std::string>>& parts);

struct UploadEntry {
    std::string key;
    std::string upload_id;
    std::string initiated;
};

struct UploadsPage {
    std::vector<UploadEntry> uploads;
    bool truncated = false;
    std::string next_key_marker;
    std::string next_upload_id_marker;
};

[[nodiscard]] UploadsPage parse_list_multipart_uploads(std::string_view body);

/// `"abc"` → `abc` (also `W/"abc"` → `abc`).
[[nodiscard]] std::string unquote_etag(std::string_view etag);

}  // namespace mip::detail::s3
