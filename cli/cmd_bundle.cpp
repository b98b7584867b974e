// mip-build bundle: zip each prepared .dir into a deterministic .mhl plus its sidecar.
#include "app.hpp"

namespace mip::cli {

void add_bundle_command(CLI::App& app, GlobalOptions& g) {
    auto* sub = app.add_subcommand(
        "bundle", "Zip each prepared .dir into <build-dir>/bundled/<wheel>.mhl + sidecar");
    auto& p = g.pipeline;
    add_selection_options(*sub, g);
    MIP_FIELD_OPTION(*sub, p.bundle, input_dir,
                     "Prepared .dir directories (default <build-dir>/prepared)");
    MIP_FIELD_OPTION(*sub, p.bundle, output_dir,
                     "Where .mhl files go (default <build-dir>/bundled)");
    MIP_FIELD_OPTION(*sub, p.bundle, compression_level, "0 = store, 1-9 deflate")
        ->capture_default_str()
        ->check(CLI::Range(0, 9));
    MIP_FIELD_OPTION(*sub, p.run, base_url, "Public URL of the store prefix, for mhl_url");
    MIP_FIELD_OPTION(*sub, p.run, source_date_epoch, "Timestamp of every archive entry");
    MIP_FIELD_OPTION(*sub, p.run, format,
                     "Output format: r2 (R2-era archives) or mip (today's client; "
                     "docs/current-format.md)")
        ->capture_default_str()
        ->check(CLI::IsMember({"r2", "mip"}));
    sub->callback([&g]() { g.action = [&g]() { return print_stage(g, run_bundle(g.pipeline)); }; });
}

}  // namespace mip::cli
