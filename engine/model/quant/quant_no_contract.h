// Include FIRST in a quantizer .cpp, before any other header. GCC contracts a*b+c into one
// FMA in C++ whenever the target has FMA (-march=native), which changes rounding. GGML's
// reference quantizers run in ggml-base, built without FMA, so to write the same bytes
// the quantizers must round every product and sum separately. (First, because GCC will
// not inline a function defined before the pragma into one defined after it.)
#pragma once

#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
