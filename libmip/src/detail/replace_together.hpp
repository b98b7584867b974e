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

/// The journal of a replacement in progress: `<dir>/.mip-replace.journal`.
inline constexpr std::string_view replace_journal_name = ".mip-replace.journal";

/// Writes every file to a temp sibling (fsynced), keeps each old file as a backup (hard link,
/// or a copy without hard links), records the set in `<dir>/.mip-replace.journal` (fsynced),
/// then renames the temps into place in the given order. When a step fails, the files already
/// replaced get their old content back (or are removed if they were new), every temp and backup
/// is removed, and an IoError names the file that failed. After success the directory is
/// fsynced, the journal removed, then the backups. A journal left by a killed run is rolled
/// back first (`recover_replace`); one of a live process is an IoError ("in use by pid N").
/// A file that already holds exactly its new bytes is not part of the set (not written, not
/// fsynced); when every file does, nothing is done.
void replace_files_together(const std::filesystem::path& dir,
                            const std::vector<FileContent>& files);

/// Crash recovery: if a run died between the renames of `replace_files_together` in `dir` (its
/// journal is there and its pid gone), puts every file of the set back as it was before that
/// run (old content from the backups, new files removed) and removes the journal. Returns a
/// description of what was restored ("" when there was nothing to do). Throws IoError when the
/// journal belongs to a live process or another host, or a file cannot be restored.
std::string recover_replace(const std::filesystem::path& dir);

}  // namespace mip::detail
