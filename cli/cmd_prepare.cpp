// mip-build prepare: run each recipe into <build-dir>/prepared/<wheel>.dir.
#include "app.hpp"

namespace mip::cli {

void add_prepare_command(CLI::App& app, GlobalOptions& g) {
    auto* sub = app.add_subcommand("prepare", "Run each recipe into <build-dir>/prepared/<wheel>.dir");
    add_recipe_options(*sub, g);
    add_selection_options(*sub, g);
    add_store_options(*sub, g);
    sub->add_option("--output-dir", g.pipeline.prepared_dir, "Where .dir/.work go (default <build-dir>/prepared)");
    sub->callback([&g]() { g.action = [&g]() { return print_stage(g, run_prepare(g.pipeline)); }; });
}

}  // namespace mip::cli
