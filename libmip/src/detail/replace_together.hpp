#pragma once
// Private: replace several files of one directory together or not at all (the channel site:
// index.json, packages.html, feed.json, feed.xml). Errors are mip::IoError.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace mip::detail {

struct FileContent {
    std::string name;  ///< a plain file name inside the directory
    std::string_view data;
};

/// Writes every file to a temp sibling (fsynced), then renames them into place in the given
/// order, each old file first hard-linked (or, without hard links, copied) to a backup. When a
/// step fails, the files already replaced get their old content back (or are removed if they
/// were new), every temp and backup is removed, and an IoError names the file that failed. After
/// success the directory is fsynced and the backups removed. Stale temps of a killed earlier run
/// are removed first.
void replace_files_together(const std::filesystem::path& dir,
                            const std::vector<FileContent>& files);

}  // namespace mip::detail
