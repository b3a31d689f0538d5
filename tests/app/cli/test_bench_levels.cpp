// `pagoda bench --concurrency`: the level list and the statistics of one level.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bench_levels.h"

namespace pagoda::cli {
namespace {

TEST(BenchLevels, ParsesCommaSeparatedCounts) {
    std::vector<int32_t> levels;
    std::string error;
    ASSERT_TRUE(parse_concurrency_levels("1,8,32,128,256", levels, error)) << error;
    EXPECT_EQ(levels, (std::vector<int32_t>{1, 8, 32, 128, 256}));
    ASSERT_TRUE(parse_concurrency_levels("4096", levels, error)) << error;
    EXPECT_EQ(levels, std::vector<int32_t>{4096});
    ASSERT_TRUE(parse_concurrency_levels("007,2", levels, error)) << error;
    EXPECT_EQ(levels, (std::vector<int32_t>{7, 2}));
    const std::string sixteen = "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16";
    ASSERT_TRUE(parse_concurrency_levels(sixteen, levels, error)) << error;
    EXPECT_EQ(levels.size(), 16u);
}

TEST(BenchLevels, RejectsBadListsWithAMessage) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "comma-separated"},
        {"0", "at least 1"},
        {"000", "at least 1"},
        {"8,0", "at least 1"},
        {"-1", "'-1'"},
        {"+4", "'+4'"},
        {"abc", "'abc'"},
        {"1.5", "'1.5'"},
        {"1e3", "'1e3'"},
        {" 8", "' 8'"},
        {"8 ", "'8 '"},
        {"1,,2", "empty item"},
        {"1,", "empty item"},
        {",1", "empty item"},
        {",", "empty item"},
        {"4097", "more than 4096"},
        {"99999999999999999999999", "more than 4096"},
        {"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", "at most 16 levels"},
    };
    for (const auto& [text, message] : cases) {
        std::vector<int32_t> levels{99};
        std::string error;
        EXPECT_FALSE(parse_concurrency_levels(text, levels, error)) << "'" << text << "'";
        EXPECT_NE(error.find(message), std::string::npos) << "'" << text << "': " << error;
        EXPECT_NE(error.find("--concurrency"), std::string::npos) << error;
    }
}

TEST(BenchLevels, NearestRankPercentiles) {
    EXPECT_EQ(percentile({}, 50), 0.0);
    EXPECT_EQ(percentile({5.0}, 99), 5.0);
    std::vector<double> v;
    for (int i = 100; i >= 1; --i) v.push_back(i);  // unsorted on purpose
    EXPECT_EQ(percentile(v, 50), 50.0);
    EXPECT_EQ(percentile(v, 99), 99.0);
    EXPECT_EQ(percentile(v, 100), 100.0);
    EXPECT_EQ(percentile(v, 0), 1.0);
    EXPECT_EQ(percentile({1.0, 2.0, 3.0, 4.0}, 50), 2.0);
    EXPECT_EQ(percentile({1.0, 2.0, 3.0, 4.0}, 99), 4.0);
    EXPECT_DOUBLE_EQ(mean({1.0, 2.0, 6.0}), 3.0);
    EXPECT_EQ(mean({}), 0.0);
}

}  // namespace
}  // namespace pagoda::cli
