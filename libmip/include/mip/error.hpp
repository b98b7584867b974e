#pragma once
/// \file error.hpp
/// The libmip error tree. Every exception libmip throws derives from `mip::Error`, carries a
/// semantic `ErrorCode` (stable; the CLI maps it to an exit code and the Python bindings to an
/// exception class) and a one-line `what()` that names the item and never holds a secret.
///
/// **Example**
/// ```cpp
/// try {
///     auto spec = mip::PackageSpec::load("build/prepared/x-1.0-any-none-any.dir/mip.json");
/// } catch (const mip::SpecError& e) {       // every issue at once
///     for (const auto& issue : e.issues()) { std::cerr << issue.field << ": " << issue.message; }
/// } catch (const mip::Error& e) {           // anything else libmip throws
///     std::cerr << mip::to_string(e.code()) << ": " << e.what();  // "io: cannot read ..."
/// }
/// ```
///
/// The error classes are immutable values: copy, rethrow and read them from any thread. Their
/// constructors throw only `std::bad_alloc`.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace mip {

/// Semantic error categories. Values are stable: bindings and the CLI rely on them.
enum class ErrorCode : int {
    internal = 1,        ///< a bug or an unexpected state
    build_failed = 2,    ///< a recipe or compile script failed
    invalid_spec = 3,    ///< recipe or metadata invalid (see `SpecError::issues()`)
    io = 4,              ///< local file system
    archive = 5,         ///< reading or writing a zip archive
    network = 6,         ///< transport failure (DNS, connect, TLS, timeout)
    remote = 7,          ///< the server answered with an error
    auth = 8,            ///< credentials missing, rejected or not allowed
    cancelled = 9,       ///< a callback or stop token cancelled the call
    lock_mismatch = 10,  ///< `--from-lock` inputs differ from the lock
};

/// Stable snake_case name of a code ("invalid_spec").
[[nodiscard]] const char* to_string(ErrorCode code) noexcept;

/// One problem found while validating a recipe or metadata.
struct Issue {
    std::string field;    ///< field path, e.g. "dependencies[2]" or "prepare.download_zip.url"
    std::string message;  ///< what is wrong, e.g. "must not contain '/'"
    bool operator==(const Issue&) const = default;
};

/// Root of every libmip exception.
class Error : public std::runtime_error {
public:
    Error(ErrorCode code, const std::string& message);
    [[nodiscard]] ErrorCode code() const noexcept { return code_; }

private:
    ErrorCode code_;
};

/// Invalid recipe or metadata. Holds every issue found at once.
class SpecError : public Error {
public:
    /// `subject` names the package and/or file ("mathutils: prepare.yaml").
    SpecError(const std::string& subject, std::vector<Issue> issues);
    explicit SpecError(const std::string& message);
    [[nodiscard]] const std::string& subject() const noexcept { return subject_; }
    [[nodiscard]] const std::vector<Issue>& issues() const noexcept { return issues_; }

private:
    std::string subject_;
    std::vector<Issue> issues_;
};

/// A recipe build or compile script failed (non-zero exit, exception, timeout).
class BuildError : public Error {
public:
    BuildError(std::string package, const std::string& message);
    [[nodiscard]] const std::string& package() const noexcept { return package_; }

private:
    std::string package_;
};

/// Local file-system failure.
class IoError : public Error {
public:
    IoError(const std::string& message, std::string path, std::error_code ec = {});
    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] std::error_code error_code() const noexcept { return ec_; }

private:
    std::string path_;
    std::error_code ec_;
};

/// A zip archive could not be written, read or trusted (zip-slip, ZIP64, symlinks...).
class ArchiveError : public Error {
public:
    explicit ArchiveError(const std::string& message);
};

/// Transport failure: nothing (or nothing usable) came back from the server.
class NetworkError : public Error {
public:
    NetworkError(const std::string& message, std::string url, int curl_code = 0);
    [[nodiscard]] const std::string& url() const noexcept { return url_; }
    [[nodiscard]] int curl_code() const noexcept { return curl_code_; }

private:
    std::string url_;
    int curl_code_;
};

/// The server answered with an error status.
struct RemoteErrorInfo {
    int http_status = 0;
    std::string s3_code;     ///< e.g. "NoSuchBucket"; empty when the body had none
    std::string request_id;  ///< x-amz-request-id or the XML RequestId
    std::string bucket;
    std::string key;
    std::string operation;  ///< e.g. "PutObject"
};

class RemoteError : public Error {
public:
    RemoteError(const std::string& message, RemoteErrorInfo info);
    RemoteError(ErrorCode code, const std::string& message, RemoteErrorInfo info);
    [[nodiscard]] const RemoteErrorInfo& info() const noexcept { return info_; }
    [[nodiscard]] int http_status() const noexcept { return info_.http_status; }
    [[nodiscard]] const std::string& s3_code() const noexcept { return info_.s3_code; }
    [[nodiscard]] const std::string& request_id() const noexcept { return info_.request_id; }

private:
    RemoteErrorInfo info_;
};

/// Credentials missing or rejected (403 SignatureDoesNotMatch, InvalidAccessKeyId, ...).
class AuthError : public RemoteError {
public:
    AuthError(const std::string& message, RemoteErrorInfo info);
};

/// `--from-lock`: the recipe, sources or results differ from the lock. Lists every difference.
class LockMismatch : public Error {
public:
    explicit LockMismatch(std::vector<std::string> differences);
    [[nodiscard]] const std::vector<std::string>& differences() const noexcept {
        return differences_;
    }

private:
    std::vector<std::string> differences_;
};

/// The caller cancelled (callback threw `Cancelled`, or a stop was requested).
class Cancelled : public Error {
public:
    Cancelled();
    explicit Cancelled(const std::string& message);
};

}  // namespace mip
