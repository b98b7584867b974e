// mip-build index: assemble index.json and packages.html from every sidecar in the store.
#include "app.hpp"

namespace mip::cli {

void add_index_command(CLI::App& app, GlobalOptions& g) {
    auto* sub = app.add_subcommand(
        "index", "Assemble index.json and packages.html from the store's sidecars");
    add_store_options(*sub, g);
    add_index_options(*sub, g);
    sub->add_flag("--dry-run", g.pipeline.dry_run, "Assemble and report; write nothing");
    sub->add_option("--output-dir", g.pipeline.index_dir,
                    "Where index.json goes (default <build-dir>/gh-pages)");
    sub->add_option("--source-date-epoch", g.pipeline.source_date_epoch, "Fixed last_updated time");
    sub->callback([&g]() { g.action = [&g]() { return print_index(g, run_index(g.pipeline)); }; });
}

}  // namespace mip::cli
