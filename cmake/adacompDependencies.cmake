# libzip and xxHash as imported targets, for the build and for the installed package alike:
# Debian's libzip CMake config also imports the zipcmp/zipmerge tools (another package, which a
# consumer need not have), and xxHash ships no CMake config.
if(NOT TARGET adacomp::libzip)
  find_path(ADACOMP_LIBZIP_INCLUDE_DIR zip.h REQUIRED)
  find_library(ADACOMP_LIBZIP_LIBRARY zip REQUIRED)
  add_library(adacomp::libzip UNKNOWN IMPORTED)
  set_target_properties(adacomp::libzip PROPERTIES IMPORTED_LOCATION "${ADACOMP_LIBZIP_LIBRARY}"
                                                  INTERFACE_INCLUDE_DIRECTORIES "${ADACOMP_LIBZIP_INCLUDE_DIR}")
endif()
if(NOT TARGET adacomp::xxhash)
  find_path(ADACOMP_XXHASH_INCLUDE_DIR xxhash.h REQUIRED)
  find_library(ADACOMP_XXHASH_LIBRARY xxhash REQUIRED)
  add_library(adacomp::xxhash UNKNOWN IMPORTED)
  set_target_properties(adacomp::xxhash PROPERTIES IMPORTED_LOCATION "${ADACOMP_XXHASH_LIBRARY}"
                                                  INTERFACE_INCLUDE_DIRECTORIES "${ADACOMP_XXHASH_INCLUDE_DIR}")
endif()
