// Tests for blend/config/model_ref.hpp: paths as given, Hugging Face ids from a local cache (refs/main,
// else the newest snapshot), and an io_error naming the reference otherwise.
#include <blend/config/model_ref.hpp>

#include "support/catch.hpp"
#include "support/scratch_dir.hpp"

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

TEST_CASE("model references resolve to paths or to the Hugging Face cache", "[config][model_ref]") {
    blend::test::scratch_dir dir{"model-ref"};
    fs::create_directories(dir.path / "local");
    CHECK(blend::config::resolve_model_reference((dir.path / "local").string()) == dir.path / "local");
    const auto repo = dir.path / "hub" / "models--org--tiny";
    fs::create_directories(repo / "snapshots" / "aaa");
    fs::create_directories(repo / "snapshots" / "bbb");
    const blend::config::model_ref_options options{.hub_cache = dir.path / "hub"};
    fs::create_directories(repo / "refs");
    std::ofstream{repo / "refs" / "main"} << "aaa\n";
    CHECK(blend::config::resolve_model_reference("org/tiny", options) == repo / "snapshots" / "aaa");
    fs::remove(repo / "refs" / "main");
    fs::remove_all(repo / "snapshots" / "bbb");
    CHECK(blend::config::resolve_model_reference("org/tiny", options) == repo / "snapshots" / "aaa");
    CHECK_THROWS_WITH(blend::config::resolve_model_reference("org/none", options),
                      Catch::Matchers::StartsWith("model 'org/none': no such file or directory, and not in the Hugging Face cache"));
    CHECK_THROWS_AS(blend::config::resolve_model_reference("./no/such/dir", options), blend::io_error);
}
