// mip-build index: assemble index.json and packages.html from every sidecar in the store.
#include "app.hpp"

namespace mip::cli {

void add_index_command(CLI::App& app, GlobalOptions& g) {
    auto* sub = app.add_subcommand(
        "index", "Assemble index.json and packages.html from the store's sidecars");
    auto& p = g.pipeline;
    add_store_options(*sub, g);
    add_index_options(*sub, g);
    MIP_FIELD_FLAG(*sub, p.run, dry_run, "Assemble and report; write nothing");
    MIP_FIELD_OPTION(*sub, p.index, output_dir,
                     "Where index.json goes (default <build-dir>/gh-pages)");
    MIP_FIELD_OPTION(*sub, p.run, source_date_epoch, "Fixed last_updated time");
    sub->callback([&g]() { g.action = [&g]() { return print_index(g, run_index(g.pipeline)); }; });
}

}  // namespace mip::cli
