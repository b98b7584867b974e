#pragma once
/// \file local_store.hpp
/// A directory as a store: the embedded default. Each object is a file at its key's path (so a
/// `file://` URL to it works); writes go to a temp file in `<root>/.mip-tmp/` and are renamed into
/// place (fsync'd), so readers never see a partial object. Path segments that a file system
/// cannot hold as names (empty, `.`, `..`, `%`, control bytes) are percent-encoded.
///
/// **Example**
/// ```cpp
/// mip::LocalStore store("/srv/mip-store");
/// store.put({.key = "x.mhl.mip.json", .data = spec.to_json()});
/// std::optional<std::string> bytes = store.get("x.mhl.mip.json");
/// ```
///
/// Throws `IoError` (naming the key and path) for file-system failures and `SpecError` for keys
/// a store cannot hold. Thread-safety as `Store`: one thread at a time per object; several
/// processes may share a root (writes are atomic renames, create-only puts use `link(2)`, and
/// `if_match` puts compare and rename under `<root>/.mip-tmp/conditional.lock`, so they are
/// atomic among themselves as on S3).

#include <filesystem>

#include <mip/store.hpp>

namespace mip {

class LocalStore final : public Store {
public:
    /// Creates `root` if missing (unless `create` is false: a dry run reads a missing store as
    /// empty and writes nothing). Throws `IoError` when it cannot.
    explicit LocalStore(const std::filesystem::path& root, Logger logger = {}, bool create = true);

    [[nodiscard]] const std::filesystem::path& root() const noexcept { return root_; }
    /// The file holding `key` (whether or not it exists).
    [[nodiscard]] std::filesystem::path path_for(const std::string& key) const;

    [[nodiscard]] std::string describe() const override;
    [[nodiscard]] std::string default_base_url() const override;
    PutResult put(const PutRequest& request) override;
    [[nodiscard]] std::optional<std::string> get(const std::string& key) override;
    bool get_to_file(const std::string& key, const std::filesystem::path& destination) override;
    [[nodiscard]] std::optional<ObjectInfo> head(const std::string& key) override;
    [[nodiscard]] std::vector<ObjectInfo> list(const std::string& prefix,
                                               bool recursive = true) override;
    void remove(const std::string& key) override;
    /// Each object's bytes and ETag come from one open file, so they always belong together
    /// (an If-Match put after this read cannot miss a replacement in between).
    [[nodiscard]] std::vector<GetResult> get_many(const std::vector<GetRequest>& requests,
                                                  const BatchOptions& options = {}) override;

private:
    std::filesystem::path root_;
    Logger logger_;
};

}  // namespace mip
