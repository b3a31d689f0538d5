# Warnings and CPU tuning shared by every target.
add_compile_options(
    "$<$<COMPILE_LANGUAGE:CXX>:-Wall;-Wextra;-Wno-unused-parameter>"
)
if(PAGODA_NATIVE)
    include(CheckCXXCompilerFlag)
    check_cxx_compiler_flag(-march=native PAGODA_HAS_MARCH_NATIVE)
    if(PAGODA_HAS_MARCH_NATIVE)
        add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:-march=native>")
    endif()
endif()
if(PAGODA_SANITIZE)
    add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer)
    add_link_options(-fsanitize=address,undefined)
endif()
