// End-to-end tests of blend-ensemble combine / eval / calibrate (CLI.md) on the fixtures written by
// tests/reference/ensemble_reference.py: outputs against scikit-learn / numpy / scipy, exit codes 0, 1, 2,
// 3 and the one-line error messages. The program's path and the data directory come from CMake.
#include <blend/io/npy.hpp>

#include "support/catch.hpp"
#include "support/scratch_dir.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>

#ifndef BLEND_ENSEMBLE_EXE
#error "BLEND_ENSEMBLE_EXE must name the blend-ensemble program"
#endif

namespace fs = std::filesystem;

namespace {

const fs::path data = BLEND_ENSEMBLE_DATA;

struct run_result {
    int code = -1;
    std::string out, err;
};

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

/// Runs blend-ensemble with `args` (already shell-quoted where needed) from the data directory.
run_result run(const std::string& args, const blend::test::scratch_dir& dir) {
    const auto out = dir.path / "stdout", err = dir.path / "stderr";
    const std::string cmd = "cd '" + data.string() + "' && '" BLEND_ENSEMBLE_EXE "' " + args + " > '" + out.string() +
                            "' 2> '" + err.string() + "'";
    const int status = std::system(cmd.c_str());
    REQUIRE(WIFEXITED(status));
    return {WEXITSTATUS(status), slurp(out), slurp(err)};
}

std::vector<double> values(const fs::path& p) {
    const auto a = blend::io::read_npy(p);
    std::vector<double> v(blend::shape_size(a.shape));
    for (std::size_t j = 0; j < v.size(); ++j) {
        if (a.type == blend::dtype::i64) {
            std::int64_t x;
            std::memcpy(&x, a.data.data() + 8 * j, 8);
            v[j] = static_cast<double>(x);
        } else {
            REQUIRE(a.type == blend::dtype::f64);
            std::memcpy(&v[j], a.data.data() + 8 * j, 8);
        }
    }
    return v;
}

void check_close(const fs::path& got, const fs::path& want, double rel = 1e-12) {
    const auto g = values(got), w = values(want);
    REQUIRE(g.size() == w.size());
    for (std::size_t j = 0; j < w.size(); ++j) {
        INFO(got.filename() << " entry " << j);
        CHECK(g[j] == Approx(w[j]).epsilon(rel).margin(1e-15));
    }
}

std::string weights_list() {
    std::string s;
    for (double w : values(data / "synth_weights.npy")) {
        if (!s.empty()) s += ',';
        s += fmt::format("{:.17g}", w);
    }
    return s;
}

/// The one error line: "blend-ensemble: error: ..." containing `fragment`, and nothing else.
void check_error(const run_result& r, int code, const std::string& fragment) {
    INFO(r.err);
    CHECK(r.code == code);
    CHECK(r.err.rfind("blend-ensemble: error: ", 0) == 0);
    CHECK(r.err.find(fragment) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

}  // namespace

TEST_CASE("combine: every method matches the numpy reference", "[ensemble_cli][combine]") {
    blend::test::scratch_dir dir{"ensemble-cli"};
    const std::string w = weights_list();
    for (const std::string method : {"soft", "hard", "logit", "geometric", "rank", "median", "trimmed", "max"}) {
        for (const std::string set : {"synth", "bin"}) {
            const auto out = dir.path / (set + "_" + method + ".npy");
            const std::string input = set + (method == "logit" ? "_logits.npy" : "_probs.npy");
            const auto r = run("combine --preds " + input + " --weights " + w + " --method " + method + " --out '" + out.string() + "'", dir);
            INFO(method << " " << set << ": " << r.err);
            REQUIRE(r.code == 0);
            check_close(out, data / (set + "_" + method + ".npy"));
        }
    }
}

TEST_CASE("combine: scikit-learn VotingClassifier soft and hard on load_digits", "[ensemble_cli][combine]") {
    blend::test::scratch_dir dir{"ensemble-cli"};
    // weights from a select-style JSON object and from a bare array
    std::ofstream(dir.path / "w.json") << R"({"weights": [2, 1, 1], "order": [0, 0, 1, 2], "kept": 4})";
    std::ofstream(dir.path / "w_hard.json") << "[2, 1, 1.5]";
    REQUIRE(run("combine --preds digits_members.npy --weights '" + (dir.path / "w.json").string() + "' --out '" +
                (dir.path / "soft.npy").string() + "'", dir).code == 0);
    check_close(dir.path / "soft.npy", data / "digits_soft.npy", 1e-13);
    REQUIRE(run("combine --preds digits_members.npy --method hard --out '" + (dir.path / "hard.npy").string() + "'", dir).code == 0);
    check_close(dir.path / "hard.npy", data / "digits_hard.npy", 0);
    REQUIRE(run("combine --preds digits_members.npy --method=hard --weights '" + (dir.path / "w_hard.json").string() +
                "' --out '" + (dir.path / "hard_w.npy").string() + "'", dir).code == 0);
    check_close(dir.path / "hard_w.npy", data / "digits_hard_w.npy", 0);
    // members split over several files (2-D and 3-D, float64) concatenate in order
    const auto members = blend::io::read_npy(data / "digits_members.npy");
    const std::size_t one = members.data.size() / 3;
    const auto part = [&](std::size_t from, std::size_t count, blend::shape_type shape, const std::string& name) {
        blend::io::write_npy(dir.path / name, blend::any_tensor_view{blend::dtype::f64, std::move(shape),
                                                                     std::span(members.data).subspan(from * one, count * one)});
    };
    part(0, 1, {200, 10}, "m0.npy");
    part(1, 2, {2, 200, 10}, "m12.npy");
    REQUIRE(run("combine --preds '" + (dir.path / "m0.npy").string() + "' '" + (dir.path / "m12.npy").string() +
                "' --weights 2,1,1 --out '" + (dir.path / "split.npy").string() + "'", dir).code == 0);
    check_close(dir.path / "split.npy", data / "digits_soft.npy", 1e-13);
}

TEST_CASE("eval: classification and binary metrics match scikit-learn; regression RMSE", "[ensemble_cli][eval]") {
    blend::test::scratch_dir dir{"ensemble-cli"};
    for (const std::string set : {"digits", "cancer"}) {
        const auto r = run("eval --preds " + set + (set == "digits" ? "_soft.npy" : "_probs.npy") + " --labels " + set + "_labels.npy", dir);
        INFO(r.err);
        REQUIRE(r.code == 0);
        const auto got = nlohmann::json::parse(r.out);
        const auto want = nlohmann::json::parse(slurp(data / ("eval_" + set + ".json")));
        CHECK(got.size() == want.size());
        CHECK(got["n"].get<long long>() == want["n"].get<long long>());
        for (const auto& [key, value] : want.items()) {
            INFO(set << " " << key);
            REQUIRE(got.contains(key));
            CHECK(got[key].get<double>() == Approx(value.get<double>()).epsilon(1e-12));
        }
        CHECK(r.out.find("\"accuracy\": ") != std::string::npos);
    }
    // regression: float labels; RMSE by hand
    const std::vector<float> pred{1.0f, 2.0f, 4.0f, -1.0f};
    const std::vector<double> target{1.5, 2.0, 2.0, -1.0};
    blend::io::write_npy(dir.path / "pred.npy", blend::tensor_view<const float>(std::span(pred), {4}));
    blend::io::write_npy(dir.path / "target.npy", blend::tensor_view<const double>(std::span(target), {4}));
    const auto r = run("eval --preds '" + (dir.path / "pred.npy").string() + "' --labels '" + (dir.path / "target.npy").string() + "'", dir);
    REQUIRE(r.code == 0);
    const auto got = nlohmann::json::parse(r.out);
    CHECK(got.size() == 2);
    CHECK(got["rmse"].get<double>() == Approx(std::sqrt((0.25 + 4.0) / 4)).epsilon(1e-15));
}

TEST_CASE("calibrate: temperature and vector scaling match scipy", "[ensemble_cli][calibrate]") {
    blend::test::scratch_dir dir{"ensemble-cli"};
    const auto t = run("calibrate --logits calib_logits.npy --labels calib_labels.npy", dir);
    REQUIRE(t.code == 0);
    const auto tj = nlohmann::json::parse(t.out);
    CHECK(tj["temperature"].get<double>() == Approx(values(data / "calib_temperature.npy")[0]).epsilon(1e-6));
    const auto v = run("calibrate --logits calib_logits.npy --labels calib_labels.npy --method vector", dir);
    REQUIRE(v.code == 0);
    const auto vj = nlohmann::json::parse(v.out);
    const auto want = values(data / "calib_vector.npy");
    REQUIRE(vj["scale"].size() == 5);
    for (std::size_t k = 0; k < 5; ++k) {
        CHECK(vj["scale"][k].get<double>() == Approx(want[k]).margin(1e-6));
        CHECK(vj["bias"][k].get<double>() == Approx(want[5 + k]).margin(1e-6));
    }
}

TEST_CASE("exit codes and one-line errors", "[ensemble_cli][errors]") {
    blend::test::scratch_dir dir{"ensemble-cli"};
    const std::string out = " --out '" + (dir.path / "o.npy").string() + "'";
    check_error(run("combine --preds missing.npy" + out, dir), 3, "missing.npy");
    check_error(run("combine --preds synth_probs.npy digits_members.npy" + out, dir), 3, "digits_members.npy");
    check_error(run("combine --preds digits_labels.npy" + out, dir), 3, "digits_labels.npy");
    check_error(run("combine --preds synth_probs.npy --method mean" + out, dir), 2, "mean");
    check_error(run("combine --preds synth_probs.npy --weights 1,2" + out, dir), 2, "2 weights for 10 members");
    check_error(run("combine --preds digits_members.npy --weights 1,-1,0" + out, dir), 2, "sum to zero");
    check_error(run("combine --preds digits_members.npy --weights 1,x,2" + out, dir), 2, "'x'");
    check_error(run("combine --preds digits_members.npy --weights nope.json" + out, dir), 3, "nope.json");
    check_error(run("combine --preds synth_probs.npy --frobnicate" + out, dir), 2, "--frobnicate");
    check_error(run("combine --preds synth_probs.npy", dir), 2, "--out");
    check_error(run("combine --preds synth_probs.npy --out '" + (dir.path / "no" / "o.npy").string() + "'", dir), 1, "o.npy");
    check_error(run("eval --preds digits_soft.npy --labels calib_labels.npy", dir), 3, "calib_labels.npy");
    check_error(run("eval --preds digits_soft.npy --labels cancer_labels.npy", dir), 3, "cancer_labels.npy");  // 143 rows
    check_error(run("eval --preds digits_soft.npy", dir), 2, "--labels");
    check_error(run("calibrate --logits calib_logits.npy --labels calib_labels.npy --method platt", dir), 2, "platt");
    check_error(run("calibrate --logits nothing.npy --labels calib_labels.npy", dir), 3, "nothing.npy");
    check_error(run("unknown", dir), 2, "unknown");
    check_error(run("", dir), 2, "subcommand");
    // NaN in a member: exit 3 naming the member
    std::vector<double> p(60, 0.5);
    p[7] = std::nan("");
    blend::io::write_npy(dir.path / "nan.npy", blend::tensor_view<const double>(std::span(p), {2, 30, 1}));
    check_error(run("combine --preds '" + (dir.path / "nan.npy").string() + "'" + out, dir), 3, "nan.npy[0]");
    check_error(run("combine --method median --preds '" + (dir.path / "nan.npy").string() + "'" + out, dir), 3, "row 7");
    // nothing half-written: no output and no temporary files after the failures
    for (const auto& entry : fs::directory_iterator(dir.path)) {
        const auto name = entry.path().filename().string();
        CHECK(name.rfind(".blend-tmp-", 0) != 0);
        CHECK(name != "o.npy");
    }
    const auto help = run("combine --help", dir);
    CHECK(help.code == 0);
    CHECK(help.out.rfind("usage: blend-ensemble combine", 0) == 0);
    CHECK(run("--help", dir).code == 0);
}
