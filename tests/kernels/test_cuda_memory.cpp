// GPU memory accounting: the fit rule and its wording (no GPU needed), and on a device
// device_memory(), check_weights_fit() and free_weight().
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "create_cuda_backend.h"
#include "cuda_backend.h"
#include "cuda_memory_info.h"

namespace pagoda::cuda {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

TEST(CudaMemoryInfo, FormatsMibAndGib) {
    EXPECT_EQ(format_bytes(0), "0 MiB");
    EXPECT_EQ(format_bytes(300 * kMiB), "300 MiB");
    EXPECT_EQ(format_bytes(300 * kMiB + 1), "301 MiB");
    EXPECT_EQ(format_bytes(3 * kGiB / 2), "1.5 GiB");
}

TEST(CudaMemoryInfo, FitsWithHeadroom) {
    const MemoryInfo mem{8 * kGiB, 24 * kGiB};
    EXPECT_TRUE(check_fits(4 * kGiB, mem, 0, "w", "dev").is_ok());
    EXPECT_TRUE(check_fits(8 * kGiB - kWeightHeadroomBytes, mem, 0, "w", "dev").is_ok());
    EXPECT_FALSE(check_fits(8 * kGiB - kWeightHeadroomBytes + 1, mem, 0, "w", "dev").is_ok());
    EXPECT_FALSE(check_fits(UINT64_MAX, mem, 0, "w", "dev").is_ok());
}

TEST(CudaMemoryInfo, RefusalSaysWhatIsNeededAndWhatIsFree) {
    const Status s = check_fits(13 * kGiB, {7 * kGiB, 24 * kGiB}, 500 * kMiB, "the model's weights", "cuda:0 (X)");
    ASSERT_EQ(s.code(), ErrorCode::out_of_memory);
    const std::string& m = s.message();
    EXPECT_NE(m.find("the model's weights need 13.0 GiB"), std::string::npos) << m;
    EXPECT_NE(m.find("cuda:0 (X) has 7.0 GiB free of 24.0 GiB"), std::string::npos) << m;
    EXPECT_NE(m.find("500 MiB already held"), std::string::npos) << m;
}

class CudaMemoryOnDevice : public ::testing::Test {
protected:
    void SetUp() override {
        auto b = create_cuda_backend(0);
        if (!b.is_ok()) GTEST_SKIP() << "no CUDA device: " << b.status().message();
        backend_ = std::move(b.value());
        cuda_ = static_cast<CudaBackend*>(backend_.get());
    }
    std::unique_ptr<Backend> backend_;
    CudaBackend* cuda_ = nullptr;
};

TEST_F(CudaMemoryOnDevice, ReportsFreeAndTotal) {
    const auto mem = backend_->device_memory();
    ASSERT_TRUE(mem.has_value());
    EXPECT_GT(mem->total_bytes, 0u);
    EXPECT_LE(mem->free_bytes, mem->total_bytes);
}

TEST_F(CudaMemoryOnDevice, HugeModelIsRefusedUpFront) {
    const Status s = backend_->check_weights_fit(uint64_t{1} << 50);
    EXPECT_EQ(s.code(), ErrorCode::out_of_memory) << s.to_string();
    EXPECT_NE(s.message().find("free of"), std::string::npos) << s.message();
    EXPECT_TRUE(backend_->check_weights_fit(kMiB).is_ok());
}

TEST_F(CudaMemoryOnDevice, FreeWeightGivesTheMemoryBack) {
    std::vector<float> w(256 * 1024, 1.0f);  // 1 MiB
    auto t = backend_->load_weight(GgmlType::F32, 256, 1024, w.data());
    ASSERT_TRUE(t.is_ok()) << t.status().to_string();
    EXPECT_EQ(cuda_->weight_bytes(), 1 * kMiB);
    backend_->free_weight(*t);
    EXPECT_EQ(cuda_->weight_bytes(), 0u);
    backend_->free_weight(*t);  // a second free is ignored
    EXPECT_EQ(cuda_->weight_bytes(), 0u);
}

}  // namespace
}  // namespace pagoda::cuda
