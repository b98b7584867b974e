#pragma once
// Private hashing helpers over OpenSSL EVP. No secrets are ever logged by callers.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "detail/text.hpp"

namespace mip::detail {

enum class DigestAlgorithm { sha256, md5 };

/// An incremental digest.
class Digest {
public:
    explicit Digest(DigestAlgorithm algorithm);
    ~Digest();
    Digest(const Digest&) = delete;
    Digest& operator=(const Digest&) = delete;
    Digest(Digest&&) = delete;
    Digest& operator=(Digest&&) = delete;
    void update(std::string_view data);
    void update(const void* data, std::size_t size);
    [[nodiscard]] std::string digest();  ///< raw bytes; the object can not be reused
    [[nodiscard]] std::string hex_digest() { return hex_encode(digest()); }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Incremental SHA-256.
class Sha256 : public Digest {
public:
    Sha256() : Digest(DigestAlgorithm::sha256) {}
};

/// Incremental MD5 (S3 ETags of single-part objects; never for security).
class Md5 : public Digest {
public:
    Md5() : Digest(DigestAlgorithm::md5) {}
};

[[nodiscard]] std::string sha256_hex(std::string_view data);
[[nodiscard]] std::string sha256_raw(std::string_view data);
[[nodiscard]] std::string sha256_file_hex(const std::filesystem::path& path);
[[nodiscard]] std::string md5_hex(std::string_view data);
[[nodiscard]] std::string md5_file_hex(const std::filesystem::path& path);
[[nodiscard]] std::string md5_base64(std::string_view data);
[[nodiscard]] std::string base64(std::string_view bytes);
/// Raw 32-byte HMAC-SHA256.
[[nodiscard]] std::string hmac_sha256(std::string_view key, std::string_view data);
/// Cryptographically random hex string of `bytes` bytes.
[[nodiscard]] std::string random_hex(std::size_t bytes);

}  // namespace mip::detail
