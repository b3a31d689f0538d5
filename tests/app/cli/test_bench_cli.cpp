// `pagoda bench --concurrency` run as a process on stories260K (../shared): the JSON and
// table it prints, the KV pool limit, and its usage errors. No timing assertions: only
// counts, and that the timings are there and positive.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace {

struct Output {
    int exit_code = -1;
    std::string out;  // stdout, or stdout and stderr with merge_stderr
};

Output run_bench(const std::string& args, bool merge_stderr = false) {
    const std::string cmd = std::string(PAGODA_CLI) + " bench " + args + (merge_stderr ? " 2>&1" : " 2>/dev/null");
    Output o;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return o;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) o.out.append(buf, n);
    const int status = ::pclose(p);
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return o;
}

class BenchCli : public ::testing::Test {
protected:
    void SetUp() override {
        model_ = std::string(PAGODA_SHARED_DIR) + "/models/stories260K.gguf";
        if (!std::filesystem::exists(model_)) GTEST_SKIP() << "missing " << model_;
    }
    std::string model_args() const { return "--model '" + model_ + "' --threads 2 "; }
    std::string model_;
};

TEST_F(BenchCli, JsonHasOneEntryPerLevelWithExactTokenCounts) {
    const Output o = run_bench(model_args() + "--concurrency 1,4 -p 16 -n 8 --json");
    ASSERT_EQ(o.exit_code, 0) << o.out;
    const auto j = nlohmann::json::parse(o.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << o.out;
    EXPECT_EQ(j["mode"], "concurrency");
    EXPECT_EQ(j["n_prompt"], 16);
    EXPECT_EQ(j["n_gen"], 8);
    EXPECT_EQ(j["prefix_cache"], false);
    // The pool holds the largest level: 4 requests of 24 tokens (2 blocks of 16 each).
    EXPECT_GE(j["kv_requests_fit"].get<int>(), 4);
    EXPECT_GE(j["kv_tokens"].get<int>(), 4 * 24);
    ASSERT_TRUE(j["levels"].is_array());
    ASSERT_EQ(j["levels"].size(), 2u);
    const int expected[] = {1, 4};
    for (size_t i = 0; i < 2; ++i) {
        const auto& l = j["levels"][i];
        const int n = expected[i];
        SCOPED_TRACE("level " + std::to_string(n));
        EXPECT_EQ(l["concurrency"], n);
        EXPECT_EQ(l["requests"], n);
        EXPECT_EQ(l["output_tokens"], n * 8);
        EXPECT_EQ(l["prompt_tokens"], n * 16);
        EXPECT_EQ(l["prompt_tokens_computed"], n * 16);  // no prefix cache, no preemption
        EXPECT_EQ(l["preemptions"], 0);
        EXPECT_GE(l["peak_decoding"].get<int>(), 1);
        EXPECT_LE(l["peak_decoding"].get<int>(), n);
        for (const char* key : {"wall_seconds", "output_tokens_per_second", "total_tokens_per_second", "ttft_mean_ms",
                                "ttft_p50_ms", "ttft_p99_ms", "tpot_mean_ms", "throughput_ratio"}) {
            ASSERT_TRUE(l.contains(key)) << key;
            EXPECT_GT(l[key].get<double>(), 0.0) << key;
        }
        EXPECT_LE(l["ttft_p50_ms"].get<double>(), l["ttft_p99_ms"].get<double>());
        EXPECT_GT(l["total_tokens_per_second"].get<double>(), l["output_tokens_per_second"].get<double>());
    }
    EXPECT_DOUBLE_EQ(j["levels"][0]["throughput_ratio"].get<double>(), 1.0);
}

TEST_F(BenchCli, TablePrintsOneRowPerLevel) {
    const Output o = run_bench(model_args() + "--concurrency 2,1,3 -p 8 -n 4 --no-warmup");
    ASSERT_EQ(o.exit_code, 0) << o.out;
    EXPECT_NE(o.out.find(" conc |"), std::string::npos) << o.out;
    EXPECT_NE(o.out.find("TTFT p99"), std::string::npos) << o.out;
    const size_t r2 = o.out.find("|     2 |"), r1 = o.out.find("|     1 |"), r3 = o.out.find("|     3 |");
    ASSERT_NE(r2, std::string::npos) << o.out;
    ASSERT_NE(r1, std::string::npos) << o.out;
    ASSERT_NE(r3, std::string::npos) << o.out;
    EXPECT_LT(r2, r1);  // in the order given
    EXPECT_LT(r1, r3);
}

TEST_F(BenchCli, SmallKvPoolSaysSoAndStillFinishesEveryRequest) {
    // stories260K's f16 KV: 5 layers x 4 heads x 8 dims x (K, V) x 2 bytes = 640 bytes a token,
    // 10 KiB a 16-token block; 40K = 4 blocks = 2 requests of 16 + 8 tokens.
    const Output o = run_bench(model_args() + "--concurrency 1,8 -p 16 -n 8 --kv-memory 40K", true);
    ASSERT_EQ(o.exit_code, 0) << o.out;
    EXPECT_NE(o.out.find("2 requests of 24 tokens"), std::string::npos) << o.out;
    EXPECT_NE(o.out.find("|     8 |"), std::string::npos) << o.out;

    const Output j = run_bench(model_args() + "--concurrency 8 -p 16 -n 8 --kv-memory 40K --json");
    ASSERT_EQ(j.exit_code, 0) << j.out;
    const auto parsed = nlohmann::json::parse(j.out, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << j.out;
    EXPECT_EQ(parsed["kv_requests_fit"], 2);
    EXPECT_EQ(parsed["levels"][0]["output_tokens"], 64);
}

TEST_F(BenchCli, PoolSmallerThanOneRequestAndShortContextFail) {
    Output o = run_bench(model_args() + "--concurrency 1 -p 16 -n 8 --kv-memory 10K", true);
    EXPECT_EQ(o.exit_code, 1);
    EXPECT_NE(o.out.find("fewer than one request"), std::string::npos) << o.out;
    o = run_bench(model_args() + "--concurrency 1 -p 2000 -n 100", true);  // context 2048
    EXPECT_EQ(o.exit_code, 1);
    EXPECT_NE(o.out.find("context is 2048 tokens"), std::string::npos) << o.out;
}

TEST_F(BenchCli, BadConcurrencyListsAreUsageErrors) {
    for (const char* bad :
         {"''", "0", "-4", "abc", "1,,2", "1,", "2.5", "5000", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"}) {
        const Output o = run_bench(model_args() + "--concurrency " + bad, true);
        EXPECT_EQ(o.exit_code, 2) << bad;
        EXPECT_NE(o.out.find("error: --concurrency"), std::string::npos) << bad << ": " << o.out;
    }
    Output o = run_bench(model_args() + "--concurrency 1 -n 0", true);
    EXPECT_EQ(o.exit_code, 2);
    EXPECT_NE(o.out.find("at least 1"), std::string::npos) << o.out;
    o = run_bench(model_args() + "--concurrency 1 --kv-memory lots", true);
    EXPECT_EQ(o.exit_code, 2);
    EXPECT_NE(o.out.find("--kv-memory"), std::string::npos) << o.out;
    o = run_bench(model_args() + "--kv-memory 1G", true);  // only with --concurrency
    EXPECT_EQ(o.exit_code, 2);
}

TEST_F(BenchCli, WithoutConcurrencyPpAndTgStay) {
    const Output o = run_bench(model_args() + "-p 8 -n 4 -r 1 --json");
    ASSERT_EQ(o.exit_code, 0) << o.out;
    const auto j = nlohmann::json::parse(o.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << o.out;
    EXPECT_TRUE(j.contains("pp"));
    EXPECT_TRUE(j.contains("tg"));
    EXPECT_FALSE(j.contains("levels"));
}

}  // namespace
