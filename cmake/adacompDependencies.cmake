# libzip, xxHash and libdeflate as imported targets, for the build and for the installed package alike:
# Debian's libzip CMake config also imports the zipcmp/zipmerge tools (another package, which a
# consumer need not have); xxHash and Debian 12's libdeflate ship no CMake config.
function(adacomp_import_library target header library)
  if(TARGET ${target})
    return()
  endif()
  string(MAKE_C_IDENTIFIER "${target}" id)
  find_path(${id}_INCLUDE_DIR ${header} REQUIRED)
  find_library(${id}_LIBRARY ${library} REQUIRED)
  add_library(${target} UNKNOWN IMPORTED)
  set_target_properties(${target} PROPERTIES IMPORTED_LOCATION "${${id}_LIBRARY}"
                                             INTERFACE_INCLUDE_DIRECTORIES "${${id}_INCLUDE_DIR}")
endfunction()
adacomp_import_library(adacomp::libzip zip.h zip)
adacomp_import_library(adacomp::xxhash xxhash.h xxhash)
adacomp_import_library(adacomp::libdeflate libdeflate.h deflate)
