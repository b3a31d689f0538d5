// Command-line sizes and the KV budget's two forms (bytes or a fraction of GPU memory).
#include <gtest/gtest.h>

#include "pagoda/engine.h"
#include "size_option.h"

namespace pagoda::cli {
namespace {

TEST(SizeOption, SizesWithSuffixes) {
    int64_t b = 0;
    ASSERT_TRUE(parse_size("512M", b));
    EXPECT_EQ(b, int64_t{512} << 20);
    ASSERT_TRUE(parse_size("1.5GiB", b));
    EXPECT_EQ(b, int64_t{3} << 29);
    ASSERT_TRUE(parse_size("4096", b));
    EXPECT_EQ(b, 4096);
    for (const char* bad : {"", "M", "-1G", "0", "12T", "1e30", "2 G", "nan"}) EXPECT_FALSE(parse_size(bad, b)) << bad;
}

TEST(SizeOption, KvMemoryIsBytesOrAFraction) {
    KvMemory kv;
    ASSERT_TRUE(parse_kv_memory("0.9", kv));
    EXPECT_DOUBLE_EQ(kv.fraction, 0.9);
    EXPECT_EQ(kv.bytes, 0);
    ASSERT_TRUE(parse_kv_memory("1", kv));
    EXPECT_DOUBLE_EQ(kv.fraction, 1.0);
    ASSERT_TRUE(parse_kv_memory("2G", kv));
    EXPECT_EQ(kv.bytes, int64_t{2} << 30);
    EXPECT_EQ(kv.fraction, 0.0);
    ASSERT_TRUE(parse_kv_memory("1048576", kv));
    EXPECT_EQ(kv.bytes, 1048576);
    for (const char* bad : {"0", "-0.5", "x", "0.5x", ""}) EXPECT_FALSE(parse_kv_memory(bad, kv)) << bad;

    EngineConfig c;
    ASSERT_TRUE(parse_kv_memory("0.8", kv));
    apply_kv_memory(kv, c);
    EXPECT_DOUBLE_EQ(c.kv_memory_fraction, 0.8);
    EXPECT_EQ(c.kv_memory_bytes, 0);
}

}  // namespace
}  // namespace pagoda::cli
