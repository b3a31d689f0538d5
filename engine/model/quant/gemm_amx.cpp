// AMX availability: CPUID says the CPU has AMX-TILE and AMX-INT8, and Linux lets this
// process use the tile data state (it is off by default: a process asks once with
// arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)). PAGODA_NO_AMX=1 in the
// environment turns AMX off (the AVX-512 kernels compute the same results).
#include "model/quant/gemm_amx.h"

#ifdef PAGODA_GEMM_AMX

#include <cpuid.h>
#include <cstdlib>
#include <cstring>

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace pagoda::quant::amx {
namespace {

bool cpu_has_amx_int8() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
    constexpr unsigned kAmxTile = 1u << 24, kAmxInt8 = 1u << 25;
    return (edx & kAmxTile) && (edx & kAmxInt8);
}

bool request_tile_data() {
#if defined(__linux__)
    constexpr long kArchReqXcompPerm = 0x1023;
    constexpr long kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
    return false;
#endif
}

bool detect() {
    const char* off = std::getenv("PAGODA_NO_AMX");
    if (off && std::strcmp(off, "0") != 0 && *off) return false;
    return cpu_has_amx_int8() && request_tile_data();
}

}  // namespace

bool available() {
    static const bool ok = detect();
    return ok;
}

}  // namespace pagoda::quant::amx

#endif
