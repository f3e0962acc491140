# vcpkg overlay port for blend (header-only, CMake).
#
# Use it from a checkout of the blend repository:
#   vcpkg install blend --overlay-ports=<blend checkout>/packaging/vcpkg
# or list packaging/vcpkg under "overlay-ports" in a project's vcpkg-configuration.json.
#
# Source: this port builds the repository it lives in — packaging/vcpkg/blend is three levels below
# the repository root — instead of downloading a release. vcpkg does not hash files outside the port
# directory, so after editing blend's headers, rebuild the port (`vcpkg remove blend`, or install with
# `--binarysource=clear`) or bump "port-version" in vcpkg.json; otherwise a cached package is reused.
#
# For a release (e.g. a port submitted to a registry), replace the `set(SOURCE_PATH ...)` below with
#   vcpkg_from_github(
#       OUT_SOURCE_PATH SOURCE_PATH
#       REPO <owner>/blend
#       REF "v${VERSION}"
#       SHA512 <sha512 of the release tarball>
#       HEAD_REF main
#   )
# and drop the version check against the checkout.
#
# Dependencies: vcpkg ships xtensor 0.27 (C++20, xtl 0.8, headers under xtensor/containers/ etc.) and
# xtensor-blas 0.23 (its matching minor); blend selects the header layout with __has_include. vcpkg's
# xtensor-blas port does not itself depend on BLAS/LAPACK, so the "blas" feature names the `blas` and
# `lapack` metaports (OpenBLAS and LAPACK-reference on most triplets) alongside xtensor-blas.

set(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../../..")
cmake_path(NORMAL_PATH SOURCE_PATH)
if(NOT EXISTS "${SOURCE_PATH}/include/blend/version.hpp")
    message(FATAL_ERROR "blend overlay port: no blend checkout at ${SOURCE_PATH}")
endif()

# The port's version (vcpkg.json) must be the library's (include/blend/version.hpp).
file(STRINGS "${SOURCE_PATH}/include/blend/version.hpp" blend_version_lines
     REGEX "^#define BLEND_VERSION_(MAJOR|MINOR|PATCH) [0-9]+$")
set(blend_version "")
foreach(part IN ITEMS MAJOR MINOR PATCH)
    string(REGEX REPLACE ".*BLEND_VERSION_${part} ([0-9]+).*" "\\1" number "${blend_version_lines}")
    list(APPEND blend_version "${number}")
endforeach()
list(JOIN blend_version "." blend_version)
if(NOT blend_version STREQUAL VERSION)
    message(FATAL_ERROR "blend overlay port: vcpkg.json says ${VERSION}, "
                        "include/blend/version.hpp says ${blend_version}")
endif()

# Header-only: one (release) configuration, nothing to build.
set(VCPKG_BUILD_TYPE release)

vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
    FEATURES
        blas BLEND_WITH_BLAS
)

vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS
        ${FEATURE_OPTIONS}
        -DBLEND_BUILD_TESTS=OFF
        -DBLEND_BUILD_EXAMPLES=OFF
        -DBLEND_BUILD_BENCHMARKS=OFF
        -DBLEND_INSTALL=ON
)

vcpkg_cmake_install()

# blend installs blendConfig.cmake to share/cmake/blend; vcpkg wants share/blend.
vcpkg_cmake_config_fixup(CONFIG_PATH share/cmake/blend)

file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug" "${CURRENT_PACKAGES_DIR}/lib")

vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
