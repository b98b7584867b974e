// mip-build upload: publish bundled .mhl files and sidecars into the store.
#include "app.hpp"

namespace mip::cli {

void add_upload_command(CLI::App& app, GlobalOptions& g) {
    auto* sub = app.add_subcommand(
        "upload", "Upload <build-dir>/bundled/*.mhl and their sidecars to the store");
    add_selection_options(*sub, g);
    add_store_options(*sub, g);
    MIP_FIELD_OPTION(*sub, g.pipeline.upload, input_dir,
                     "Bundled .mhl files (default <build-dir>/bundled)");
    sub->callback([&g]() { g.action = [&g]() { return print_stage(g, run_upload(g.pipeline)); }; });
}

}  // namespace mip::cli
