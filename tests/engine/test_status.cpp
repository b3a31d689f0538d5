#include <gtest/gtest.h>

#include "model/ggml_type.h"
#include "pagoda/status.h"

namespace pagoda {
namespace {

TEST(Status, ResultCarriesValueOrError) {
    Result<int> good = 3;
    ASSERT_TRUE(good.is_ok());
    EXPECT_EQ(good.value(), 3);
    Result<int> bad = invalid_format("model.gguf: truncated");
    ASSERT_FALSE(bad.is_ok());
    EXPECT_EQ(bad.status().code(), ErrorCode::invalid_format);
    EXPECT_EQ(bad.status().to_string(), "invalid_format: model.gguf: truncated");
}

TEST(GgmlType, RowBytesRejectsPartialBlocksAndOverflow) {
    EXPECT_EQ(ggml_row_bytes(GgmlType::Q4_0, 64).value(), 36u);
    EXPECT_EQ(ggml_row_bytes(GgmlType::Q6_K, 512).value(), 420u);
    EXPECT_FALSE(ggml_row_bytes(GgmlType::Q4_0, 33).has_value());
    EXPECT_FALSE(ggml_row_bytes(GgmlType::Q4_K, INT64_MAX / 2 * 2).has_value() &&
                 ggml_row_bytes(GgmlType::Q4_K, INT64_MAX / 2 * 2).value() == 0);
    EXPECT_FALSE(ggml_type_info(uint32_t{4}).has_value());  // removed Q4_2
    EXPECT_EQ(ggml_type_from_name("Q4_K"), GgmlType::Q4_K);
}

}  // namespace
}  // namespace pagoda
