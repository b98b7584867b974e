#pragma once
// Private hashing helpers over OpenSSL EVP. No secrets are ever logged by callers.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace mip::detail {

[[nodiscard]] std::string to_hex(std::string_view bytes);

/// Incremental SHA-256.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(std::string_view data);
    void update(const void* data, std::size_t size);
    [[nodiscard]] std::string digest();  ///< raw 32 bytes; the object can not be reused
    [[nodiscard]] std::string hex_digest() { return to_hex(digest()); }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
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
