# Installation layout and packages (issue 9): a Debian package and a portable tarball.
#
#   cmake --build BUILD && (cd BUILD && cpack)      # or ./scripts/package.sh
#
# Installed tree (prefix /usr in the .deb, the tarball's top folder otherwise):
#   bin/pagoda                                        app/CMakeLists.txt
#   share/applications/pagoda.desktop                 ui/CMakeLists.txt (GUI builds only)
#   share/icons/hicolor/scalable/apps/pagoda.svg      ui/CMakeLists.txt (GUI builds only)
#   share/man/man1/pagoda.1.gz, share/doc/pagoda/     here
#   share/pagoda/                                     installer/ (nginx, Redis examples), here
#
# Included from the top CMakeLists.txt after every target is defined, so it can read them.

include(GNUInstallDirs)

# `pagoda --version` prints the project version (app/cli/main.cpp falls back to a literal).
if(TARGET pagoda)
    target_compile_definitions(pagoda PRIVATE PAGODA_VERSION_STRING="${PROJECT_VERSION}")
endif()

# ---- files beside the executable -------------------------------------------------------

# Debian wants man pages gzipped; -n keeps the archive reproducible (no name or time stamp).
set(PAGODA_MAN_SOURCE ${PROJECT_SOURCE_DIR}/resources/pagoda.1.in)
if(EXISTS ${PAGODA_MAN_SOURCE})
    configure_file(${PAGODA_MAN_SOURCE} ${CMAKE_BINARY_DIR}/share/man/pagoda.1 @ONLY)
    set(PAGODA_MAN_GZ ${CMAKE_BINARY_DIR}/share/man/pagoda.1.gz)
    add_custom_command(OUTPUT ${PAGODA_MAN_GZ}
        COMMAND gzip -9nc ${CMAKE_BINARY_DIR}/share/man/pagoda.1 > ${PAGODA_MAN_GZ}
        DEPENDS ${CMAKE_BINARY_DIR}/share/man/pagoda.1
        COMMENT "Compressing the pagoda(1) man page")
    add_custom_target(pagoda_man_page ALL DEPENDS ${PAGODA_MAN_GZ})
    install(FILES ${PAGODA_MAN_GZ} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()

install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
# docs/ (the scale-out recipe, ...) and installer/ (nginx and Redis example configuration)
# are written by hand; they are copied as they are at install time when present.
if(EXISTS ${PROJECT_SOURCE_DIR}/docs)
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
endif()
if(EXISTS ${PROJECT_SOURCE_DIR}/installer)
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/installer/ DESTINATION ${CMAKE_INSTALL_DATADIR}/pagoda
        PATTERN "CMakeLists.txt" EXCLUDE
        PATTERN "*.cmake" EXCLUDE)
endif()

# ---- CPack ---------------------------------------------------------------------------

set(PAGODA_PACKAGE_FEATURES "")
if(PAGODA_BUILD_GUI AND TARGET pagoda_ui)
    set(PAGODA_PACKAGE_HAS_GUI ON)
else()
    set(PAGODA_PACKAGE_HAS_GUI OFF)
    string(APPEND PAGODA_PACKAGE_FEATURES "-headless")
endif()
if(PAGODA_CUDA_ENABLED)
    string(APPEND PAGODA_PACKAGE_FEATURES "-cuda")
endif()

set(CPACK_PACKAGE_NAME pagoda)
set(CPACK_PACKAGE_VENDOR "The Pagoda developers")
set(PAGODA_PACKAGE_MAINTAINER "Pagoda developers <pagoda@example.org>" CACHE STRING
    "Maintainer field of the Debian package")
set(CPACK_PACKAGE_CONTACT ${PAGODA_PACKAGE_MAINTAINER})
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
if(PAGODA_PACKAGE_HAS_GUI)
    set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
        "local LLM workstation: desktop chat app and OpenAI-compatible server")
else()
    set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
        "local LLM server: OpenAI-compatible API and command line (no desktop app)")
endif()
set(CPACK_PACKAGE_DESCRIPTION
    "Pagoda runs GGUF language models on this computer's CPU or NVIDIA GPU, with a paged KV\n\
cache, continuous batching and many LoRA adapters served at once. It is a Qt desktop chat\n\
application with the history kept in SQLite, and `pagoda serve`, an OpenAI-compatible HTTP\n\
API on localhost for IDE plugins and scripts, which can also run headless on a server.")
set(CPACK_RESOURCE_FILE_README ${PROJECT_SOURCE_DIR}/README.md)
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR "DEB;TGZ")
set(CPACK_SOURCE_GENERATOR "")

# Debian package: pagoda_<version>-1_<arch>.deb (pagoda-cuda_... with CUDA), files under /usr.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_NAME pagoda)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
# Depends: dpkg-shlibdeps (package dpkg-dev) derives it from the libraries the executable
# links (libc6, libstdc++6, libqt6widgets6, libsqlite3-0, libcpp-httplib0.11, ...).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(PAGODA_DEB_RECOMMENDS "")
if(PAGODA_PACKAGE_HAS_GUI)
    # Qt plugins are loaded with dlopen, so dpkg-shlibdeps cannot see them. The X11 (xcb)
    # platform plugin is in libqt6gui6, a computed dependency; native Wayland (qt6-wayland)
    # and the SVG image plugin for the window icon (libqt6svg6) are nice to have.
    list(APPEND PAGODA_DEB_RECOMMENDS qt6-wayland libqt6svg6)
endif()
if(PAGODA_CUDA_ENABLED)
    # cuBLAS is linked dynamically and comes from NVIDIA's CUDA repository, not Debian's;
    # a Depends would make the package uninstallable where CUDA came from the runfile.
    list(APPEND PAGODA_DEB_RECOMMENDS
        "libcublas-${CUDAToolkit_VERSION_MAJOR}-${CUDAToolkit_VERSION_MINOR}")
    # A different package that takes the place of the CPU-only one.
    set(CPACK_DEBIAN_PACKAGE_NAME pagoda-cuda)
    set(CPACK_DEBIAN_PACKAGE_PROVIDES pagoda)
    set(CPACK_DEBIAN_PACKAGE_CONFLICTS pagoda)
    set(CPACK_DEBIAN_PACKAGE_REPLACES pagoda)
endif()
list(JOIN PAGODA_DEB_RECOMMENDS ", " CPACK_DEBIAN_PACKAGE_RECOMMENDS)

# Portable tarball: pagoda-<version>-linux-<arch>[-headless][-cuda].tar.gz with bin/, share/.
set(PAGODA_PACKAGE_ARCH ${CMAKE_SYSTEM_PROCESSOR})
set(CPACK_ARCHIVE_FILE_NAME
    "pagoda-${PROJECT_VERSION}-linux-${PAGODA_PACKAGE_ARCH}${PAGODA_PACKAGE_FEATURES}")
set(CPACK_PACKAGE_FILE_NAME ${CPACK_ARCHIVE_FILE_NAME})
set(CPACK_INCLUDE_TOPLEVEL_DIRECTORY ON)

include(CPack)

if(PAGODA_BUILD_TESTS AND EXISTS ${PROJECT_SOURCE_DIR}/tests/install/CMakeLists.txt)
    add_subdirectory(tests/install)
endif()
