// The KV pool sized from the device's free memory (EngineConfig::kv_memory_fraction),
// and a model too large for the device refused before any upload. A CPU backend plays
// a device with a chosen amount of free memory.
#include <gtest/gtest.h>

#include "forwarding_backend.h"
#include "test_engine_common.h"

namespace pagoda {
namespace {

using namespace engine_test;

class SmallDevice final : public ForwardingBackend {
public:
    explicit SmallDevice(uint64_t free_bytes) : free_(free_bytes) {}
    std::optional<MemoryInfo> device_memory() const override { return MemoryInfo{free_, 2 * free_}; }
    Status check_weights_fit(uint64_t bytes) const override {
        asked_ = bytes;
        if (bytes <= free_) return Status::ok();
        return out_of_memory("the weights need " + std::to_string(bytes) + " bytes; " + std::to_string(free_) +
                             " are free");
    }
    mutable uint64_t asked_ = 0;

private:
    uint64_t free_;
};

TEST(EngineKvSizing, FractionOfFreeDeviceMemorySizesThePool) {
    const uint64_t free_bytes = uint64_t{1} << 30;  // 1 GiB
    std::shared_ptr<std::vector<uint8_t>> bytes;
    SmallDevice device(free_bytes);
    auto model = load_random_on(device, bytes);
    ASSERT_TRUE(model.is_ok()) << model.status().to_string();
    EXPECT_GT(device.asked_, 64u * 512 * 4) << "the weights' size is asked before the upload";
    EngineConfig c;
    c.kv_memory_fraction = 0.75;
    auto core = EngineCore::create(*model.value(), c);
    ASSERT_TRUE(core.is_ok()) << core.status().to_string();
    // F16 K and V, 2 layers x 2 KV heads x 16 dims x 16 slots: 4 KiB a block.
    const uint64_t block_bytes = 2 * 2 * 2 * 16 * 16 * 2;
    const auto expected = static_cast<int32_t>((free_bytes * 3 / 4 - (uint64_t{512} << 20)) / block_bytes);
    EXPECT_EQ(core.value()->stats().kv_blocks_total, expected);
}

TEST(EngineKvSizing, TooLittleMemoryForOneContextIsAClearError) {
    std::shared_ptr<std::vector<uint8_t>> bytes;
    SmallDevice device(600u << 20);  // 600 MiB: 5% of it is below the activation reserve
    auto model = load_random_on(device, bytes);
    ASSERT_TRUE(model.is_ok()) << model.status().to_string();
    EngineConfig c;
    c.kv_memory_fraction = 0.05;
    auto core = EngineCore::create(*model.value(), c);
    ASSERT_FALSE(core.is_ok());
    EXPECT_EQ(core.status().code(), ErrorCode::out_of_memory);
    EXPECT_NE(core.status().message().find("MiB of device memory are free"), std::string::npos)
        << core.status().message();
    c.kv_memory_fraction = 1.5;
    EXPECT_EQ(EngineCore::create(*model.value(), c).status().code(), ErrorCode::invalid_argument);
}

TEST(EngineKvSizing, ModelLargerThanTheDeviceIsRefusedBeforeUploading) {
    std::shared_ptr<std::vector<uint8_t>> bytes;
    SmallDevice device(4096);
    auto model = load_random_on(device, bytes);
    ASSERT_FALSE(model.is_ok());
    EXPECT_EQ(model.status().code(), ErrorCode::out_of_memory);
    EXPECT_NE(model.status().message().find("are free"), std::string::npos) << model.status().message();
}

}  // namespace
}  // namespace pagoda
