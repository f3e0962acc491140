# Install rules: headers, the exported blend::blend target, blendConfig.cmake and its version file.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(BLEND_CMAKE_INSTALL_DIR "${CMAKE_INSTALL_DATADIR}/cmake/blend"
    CACHE STRING "Where blendConfig.cmake is installed (relative to the prefix)")

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/blend" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS blend EXPORT blendTargets)
if(BLEND_WITH_CONFIG)
  install(TARGETS blend_config EXPORT blendTargets)
endif()
install(EXPORT blendTargets NAMESPACE blend:: DESTINATION "${BLEND_CMAKE_INSTALL_DIR}")

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/blendConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/blendConfig.cmake"
  INSTALL_DESTINATION "${BLEND_CMAKE_INSTALL_DIR}")
# Header-only and architecture-independent: any 64- or 32-bit consumer may use the same install.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/blendConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES
  "${PROJECT_BINARY_DIR}/blendConfig.cmake"
  "${PROJECT_BINARY_DIR}/blendConfigVersion.cmake"
  "${PROJECT_SOURCE_DIR}/cmake/blend_dependencies.cmake"
  DESTINATION "${BLEND_CMAKE_INSTALL_DIR}")
