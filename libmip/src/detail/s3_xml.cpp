#include "detail/s3_xml.hpp"

#include <charconv>

#include <pugixml.hpp>

namespace mip::detail::s3 {

namespace {

pugi::xml_document load(std::string_view body, const char* what) {
    pugi::xml_document doc;
    const auto result =
        doc.load_buffer(body.data(), body.size(), pugi::parse_default, pugi::encoding_utf8);
    if (!result) {
        throw S3XmlError(std::string("malformed ") + what + " XML: " + result.description());
    }
    return doc;
}

// Child by local name (S3 documents carry a default namespace, some servers a prefix).
pugi::xml_node child(const pugi::xml_node& node, std::string_view name) {
    for (auto c : node.children()) {
        std::string_view n = c.name();
        if (const auto colon = n.find(':'); colon != std::string_view::npos) {
            n = n.substr(colon + 1);
        }
        if (n == name) {
            return c;
        }
    }
    return {};
}

std::string text(const pugi::xml_node& node, std::string_view name) {
    return child(node, name).text().as_string();
}

std::string_view local_name(const pugi::xml_node& node) {
    std::string_view n = node.name();
    if (const auto colon = n.find(':'); colon != std::string_view::npos) {
        n = n.substr(colon + 1);
    }
    return n;
}

std::uint64_t to_u64(const std::string& s) {
    std::uint64_t v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size()) {
        throw S3XmlError("malformed number '" + s + "' in S3 XML");
    }
    return v;
}

std::string xml_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

}  // namespace

std::optional<ErrorBody> parse_error(std::string_view body) {
    if (body.find("Error") == std::string_view::npos) {
        return std::nullopt;
    }
    pugi::xml_document doc;
    if (!doc.load_buffer(body.data(), body.size(), pugi::parse_default, pugi::encoding_utf8)) {
        return std::nullopt;
    }
    const auto root = doc.document_element();
    if (local_name(root) != "Error") {
        return std::nullopt;
    }
    return ErrorBody{text(root, "Code"), text(root, "Message"), text(root, "RequestId")};
}

ListPage parse_list_objects_v2(std::string_view body) {
    const auto doc = load(body, "ListObjectsV2");
    const auto root = doc.document_element();
    if (local_name(root) != "ListBucketResult") {
        throw S3XmlError("unexpected ListObjectsV2 document <" + std::string(root.name()) + ">");
    }
    ListPage page;
    for (auto node : root.children()) {
        const auto name = local_name(node);
        if (name == "Contents") {
            ObjectInfo info;
            info.key = text(node, "Key");
            info.size = to_u64(text(node, "Size"));
            info.etag = unquote_etag(text(node, "ETag"));
            info.last_modified = text(node, "LastModified");
            page.objects.push_back(std::move(info));
        } else if (name == "CommonPrefixes") {
            page.common_prefixes.push_back(text(node, "Prefix"));
        }
    }
    const std::string truncated = text(root, "IsTruncated");
    page.truncated = truncated == "true";
    page.next_continuation_token = text(root, "NextContinuationToken");
    if (page.truncated && page.next_continuation_token.empty()) {
        throw S3XmlError("ListObjectsV2 page is truncated but has no NextContinuationToken");
    }
    return page;
}

std::string parse_initiate_multipart(std::string_view body) {
    const auto doc = load(body, "CreateMultipartUpload");
    std::string id = text(doc.document_element(), "UploadId");
    if (id.empty()) {
        throw S3XmlError("CreateMultipartUpload response has no UploadId");
    }
    return id;
}

std::string parse_complete_multipart(std::string_view body) {
    const auto doc = load(body, "CompleteMultipartUpload");
    const auto root = doc.document_element();
    // S3 and R2 answer <CompleteMultipartUploadResult>; moto says ...Response. Either way an
    // <Error> root was handled before, so read the ETag.
    if (local_name(root).rfind("CompleteMultipartUpload", 0) != 0) {
        throw S3XmlError("unexpected CompleteMultipartUpload document <" +
                         std::string(root.name()) + ">");
    }
    return unquote_etag(text(root, "ETag"));
}

std::string parse_copy_object(std::string_view body) {
    const auto doc = load(body, "CopyObject");
    const auto root = doc.document_element();
    if (local_name(root) != "CopyObjectResult") {
        throw S3XmlError("unexpected CopyObject document <" + std::string(root.name()) + ">");
    }
    return unquote_etag(text(root, "ETag"));
}

std::string complete_multipart_body(
    const std::vector<std::pair<std::uint32_t, std::string>>& parts) {
    std::string out =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
    for (const auto& [number, etag] : parts) {
        out += "<Part><PartNumber>";
        out += std::to_string(number);
        out += "</PartNumber><ETag>";
        out += xml_escape(etag);
        out += "</ETag></Part>";
    }
    out += "</CompleteMultipartUpload>";
    return out;
}

UploadsPage parse_list_multipart_uploads(std::string_view body) {
    const auto doc = load(body, "ListMultipartUploads");
    const auto root = doc.document_element();
    UploadsPage page;
    for (auto node : root.children()) {
        if (local_name(node) == "Upload") {
            page.uploads.push_back(
                {text(node, "Key"), text(node, "UploadId"), text(node, "Initiated")});
        }
    }
    page.truncated = text(root, "IsTruncated") == "true";
    page.next_key_marker = text(root, "NextKeyMarker");
    page.next_upload_id_marker = text(root, "NextUploadIdMarker");
    return page;
}

std::string unquote_etag(std::string_view etag) {
    if (etag.rfind("W/", 0) == 0) {
        etag.remove_prefix(2);
    }
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
        etag = etag.substr(1, etag.size() - 2);
    }
    return std::string(etag);
}

}  // namespace mip::detail::s3
