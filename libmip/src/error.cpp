#include <utility>

#include <mip/error.hpp>

#include "detail/text.hpp"

namespace mip {

const char* to_string(ErrorCode code) noexcept {
    switch (code) {
        case ErrorCode::internal:
            return "internal";
        case ErrorCode::build_failed:
            return "build_failed";
        case ErrorCode::invalid_spec:
            return "invalid_spec";
        case ErrorCode::io:
            return "io";
        case ErrorCode::archive:
            return "archive";
        case ErrorCode::network:
            return "network";
        case ErrorCode::remote:
            return "remote";
        case ErrorCode::auth:
            return "auth";
        case ErrorCode::cancelled:
            return "cancelled";
        case ErrorCode::lock_mismatch:
            return "lock_mismatch";
    }
    return "unknown";
}

// Every message is valid UTF-8 (bytes of a hostile file name or sidecar are written as \xNN):
// it goes to terminals, JSON documents and Python str.
Error::Error(ErrorCode code, const std::string& message)
    : std::runtime_error(detail::escape_invalid_utf8(message)), code_(code) {}

namespace {
std::string join_issues(const std::string& subject, const std::vector<Issue>& issues) {
    std::string out = subject.empty() ? std::string("invalid specification") : subject;
    out += ": ";
    bool first = true;
    for (const auto& issue : issues) {
        if (!first) {
            out += "; ";
        }
        first = false;
        if (!issue.field.empty()) {
            out += "field '" + issue.field + "' ";
        }
        out += issue.message;
    }
    if (issues.empty()) {
        out += "invalid";
    }
    return out;
}

std::string remote_message(const std::string& message, const RemoteErrorInfo& info) {
    std::string out = message;
    std::string extra;
    auto add = [&extra](const std::string& k, const std::string& v) {
        if (!v.empty()) {
            extra += (extra.empty() ? "" : ", ") + k + v;
        }
    };
    if (info.http_status != 0) {
        add("HTTP ", std::to_string(info.http_status));
    }
    add("", info.s3_code);
    add("request id ", info.request_id);
    if (!extra.empty() && out.find(extra) == std::string::npos) {
        out += " (" + extra + ")";
    }
    return out;
}
}  // namespace

SpecError::SpecError(const std::string& subject, std::vector<Issue> issues)
    : Error(ErrorCode::invalid_spec, join_issues(subject, issues)),
      subject_(detail::escape_invalid_utf8(subject)),
      issues_(std::move(issues)) {
    for (auto& issue : issues_) {  // valid UTF-8 like what(): they become Python str
        issue.field = detail::escape_invalid_utf8(issue.field);
        issue.message = detail::escape_invalid_utf8(issue.message);
    }
}

SpecError::SpecError(const std::string& message) : Error(ErrorCode::invalid_spec, message) {}

BuildError::BuildError(std::string package, const std::string& message)
    : Error(ErrorCode::build_failed, package.empty() ? message : package + ": " + message),
      package_(std::move(package)) {}

IoError::IoError(const std::string& message, std::string path, std::error_code ec)
    : Error(ErrorCode::io,
            message + (path.empty() ? "" : ": " + path) + (ec ? " (" + ec.message() + ")" : "")),
      path_(std::move(path)),
      ec_(ec) {}

ArchiveError::ArchiveError(const std::string& message) : Error(ErrorCode::archive, message) {}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters)
NetworkError::NetworkError(const std::string& message, std::string url, int curl_code)
    : Error(ErrorCode::network, message), url_(std::move(url)), curl_code_(curl_code) {}

RemoteError::RemoteError(const std::string& message, RemoteErrorInfo info)
    : RemoteError(ErrorCode::remote, message, std::move(info)) {}

RemoteError::RemoteError(ErrorCode code, const std::string& message, RemoteErrorInfo info)
    : Error(code, remote_message(message, info)), info_(std::move(info)) {}

AuthError::AuthError(const std::string& message, RemoteErrorInfo info)
    : RemoteError(ErrorCode::auth, message, std::move(info)) {}

namespace {
std::string join_differences(const std::vector<std::string>& differences) {
    std::string out = "lock mismatch";
    for (const auto& d : differences) {
        out += "; " + d;
    }
    return out;
}
}  // namespace

LockMismatch::LockMismatch(std::vector<std::string> differences)
    : Error(ErrorCode::lock_mismatch, join_differences(differences)),
      differences_(std::move(differences)) {}

Cancelled::Cancelled() : Error(ErrorCode::cancelled, "cancelled") {}
Cancelled::Cancelled(const std::string& message) : Error(ErrorCode::cancelled, message) {}

}  // namespace mip
