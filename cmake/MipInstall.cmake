# Install and export rules for the library (MIP_INSTALL=ON), so other CMake projects can
#   find_package(libmip CONFIG REQUIRED)   # from an install prefix or this build tree
#   target_link_libraries(app PRIVATE mip::mip)
# and other build systems can use pkg-config (libmip.pc). Installs: lib/libmip.a (libdeflate's
# objects inside, see cmake/MipDependencies.cmake), include/mip/*.hpp,
# lib/cmake/libmip/{libmipConfig,libmipConfigVersion,libmipTargets*}.cmake and
# lib/pkgconfig/libmip.pc; cli/CMakeLists.txt installs bin/mip-build.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(MIP_CMAKE_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/libmip")

# mip's INSTALL_INTERFACE include directory is set in libmip/CMakeLists.txt.
install(TARGETS mip EXPORT libmipTargets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT Development)
# The test stage's LD_AUDIT library: the Tester looks for it here first (tester.hpp).
install(TARGETS mip_ldaudit LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}/libmip" COMPONENT Runtime)
# Public headers: std and <mip/…> includes only (style.md §2), so nothing else is installed.
install(DIRECTORY "${PROJECT_SOURCE_DIR}/libmip/include/mip"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" COMPONENT Development
  FILES_MATCHING PATTERN "*.hpp")
install(EXPORT libmipTargets NAMESPACE mip::
  DESTINATION "${MIP_CMAKE_INSTALL_DIR}" COMPONENT Development)

# The config file finds the archive's private dependencies again (find_dependency).
set(MIP_CONFIG_FOR_BUILD_TREE OFF)
configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/libmipConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/cmake/libmipConfig.cmake"
  INSTALL_DESTINATION "${MIP_CMAKE_INSTALL_DIR}")
# 0.x: SameMajorVersion accepts any 0.y; from 1.0 on, a new major version may break the API.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/libmipConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}" COMPATIBILITY SameMajorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/cmake/libmipConfig.cmake"
  "${PROJECT_BINARY_DIR}/libmipConfigVersion.cmake"
  "${PROJECT_SOURCE_DIR}/cmake/MipLibdeflate.cmake"
  DESTINATION "${MIP_CMAKE_INSTALL_DIR}" COMPONENT Development)

# Build tree: libmip_DIR=<build dir> works without installing (same config, same targets file
# name, the build's own libmip.a).
export(EXPORT libmipTargets NAMESPACE mip:: FILE "${PROJECT_BINARY_DIR}/libmipTargets.cmake")
set(MIP_CONFIG_FOR_BUILD_TREE ON)
configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/libmipConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/libmipConfig.cmake"
  INSTALL_DESTINATION "${PROJECT_BINARY_DIR}" INSTALL_PREFIX "${PROJECT_BINARY_DIR}")
configure_file("${PROJECT_SOURCE_DIR}/cmake/MipLibdeflate.cmake"
  "${PROJECT_BINARY_DIR}/MipLibdeflate.cmake" COPYONLY)

# pkg-config. libmip is static only, so its dependencies are in Requires (not Requires.private):
# `pkg-config --libs libmip` must name everything a link needs, without --static. The prefix is
# relative to the .pc file, so a staged install (cmake --install --prefix, DESTDIR) works.
set(MIP_PC_REQUIRES "libcurl >= 7.88, openssl >= 3.0, yaml-cpp >= 0.7, pugixml >= 1.13")
string(APPEND MIP_PC_REQUIRES ", libzip >= 1.7")
if(NOT MIP_LIBDEFLATE_BUNDLED)
  string(APPEND MIP_PC_REQUIRES ", libdeflate = 1.14")
endif()
file(RELATIVE_PATH MIP_PC_PREFIX_FROM_PCFILEDIR
  "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
configure_file("${PROJECT_SOURCE_DIR}/cmake/libmip.pc.in" "${PROJECT_BINARY_DIR}/libmip.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/libmip.pc"
  DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig" COMPONENT Development)
