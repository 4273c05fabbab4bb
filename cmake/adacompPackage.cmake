# Installation: the program, the library with its public headers, and the package files for
# find_package(adacomp) (adacompConfig.cmake, its version file, the exported targets) and for
# pkg-config (adacomp.pc). tests/package/ builds a consumer of each against an installed copy.
include(CMakePackageConfigHelpers)
set(ADACOMP_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/adacomp)
install(TARGETS adacomp RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS adacomp_lib EXPORT adacompTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/adacomp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")
install(FILES ${PROJECT_BINARY_DIR}/include/adacomp/version.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/adacomp)
install(EXPORT adacompTargets NAMESPACE adacomp:: DESTINATION ${ADACOMP_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/adacompConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/adacompConfig.cmake INSTALL_DESTINATION ${ADACOMP_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/adacompConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/adacompConfig.cmake ${PROJECT_BINARY_DIR}/adacompConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/adacompDependencies.cmake
        DESTINATION ${ADACOMP_CMAKE_DIR})
file(RELATIVE_PATH ADACOMP_PC_TO_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
configure_file(${PROJECT_SOURCE_DIR}/cmake/adacomp.pc.in ${PROJECT_BINARY_DIR}/adacomp.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/adacomp.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
