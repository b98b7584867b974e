#pragma once
// Private: a channel's own settings, `channel.yaml` beside its `packages/` tree (spec
// mip-current §4, mip_channel_tools' assemble-index). Today it holds one setting the index
// carries: `mip_compatibility_floor`, the oldest mip client the channel's packages work with.

#include <filesystem>
#include <optional>
#include <string>

namespace mip::detail {

struct ChannelConfig {
    std::filesystem::path file;       ///< the channel.yaml read
    std::string compatibility_floor;  ///< "" = not set
};

/// The channel.yaml of a recipes directory: `<recipes>/channel.yaml`, else, when `--recipes`
/// names the `packages/` folder of a channel checkout, `<recipes>/../channel.yaml` (where
/// mip-core keeps it). nullopt when there is none.
[[nodiscard]] std::optional<std::filesystem::path> find_channel_yaml(
    const std::filesystem::path& recipes);

/// Reads a channel.yaml. Keys other than `mip_compatibility_floor` are the channel's own
/// (mip-core has `description`) and are left alone. Throws `SpecError` naming the file and
/// field for malformed YAML, a root that is not a mapping, or a floor that is not a numeric
/// version (`1`, `1.2.0`) — where mip_channel_tools only warns and drops it, libmip refuses:
/// an index silently without the floor the maintainer asked for tells old clients nothing.
/// `IoError` when the file cannot be read.
[[nodiscard]] ChannelConfig read_channel_config(const std::filesystem::path& file);

/// "" when `version` is a numeric version usable as a floor, else what is wrong with it.
[[nodiscard]] std::string check_compatibility_floor(const std::string& version);

}  // namespace mip::detail
