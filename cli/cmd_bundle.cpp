// mip-build bundle: zip each prepared .dir into a deterministic .mhl plus its sidecar.
#include "app.hpp"

namespace mip::cli {

void add_bundle_command(CLI::App& app, GlobalOptions& g) {
    auto* sub = app.add_subcommand(
        "bundle", "Zip each prepared .dir into <build-dir>/bundled/<wheel>.mhl + sidecar");
    add_selection_options(*sub, g);
    sub->add_option("--input-dir", g.pipeline.prepared_dir,
                    "Prepared .dir directories (default <build-dir>/prepared)");
    sub->add_option("--output-dir", g.pipeline.bundled_dir,
                    "Where .mhl files go (default <build-dir>/bundled)");
    sub->add_option("--base-url", g.pipeline.base_url,
                    "Public URL of the store prefix, for mhl_url");
    sub->add_option("--source-date-epoch", g.pipeline.source_date_epoch,
                    "Timestamp of every archive entry");
    sub->callback([&g]() { g.action = [&g]() { return print_stage(g, run_bundle(g.pipeline)); }; });
}

}  // namespace mip::cli
