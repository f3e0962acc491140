# cmake -DBUILD_DIR=... -DPREFIX=... -P install_fresh.cmake
# Installs the blend build tree BUILD_DIR into an emptied PREFIX (so stale files cannot hide a missing
# install rule).
file(REMOVE_RECURSE "${PREFIX}")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}"
                RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "cmake --install ${BUILD_DIR} failed (${result})")
endif()
if(NOT EXISTS "${PREFIX}/share/cmake/blend/blendConfig.cmake")
  message(FATAL_ERROR "install produced no ${PREFIX}/share/cmake/blend/blendConfig.cmake")
endif()
