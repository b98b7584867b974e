# CTest fixture: a fresh staged install of this build tree, as a user's `cmake --install` makes it.
#   cmake -DBUILD_DIR=<build> -DPREFIX=<staging prefix> -P tests/install/stage.cmake
foreach(var BUILD_DIR PREFIX)
  if(NOT ${var})
    message(FATAL_ERROR "stage.cmake: -D${var}=… is required")
  endif()
endforeach()
file(REMOVE_RECURSE "${PREFIX}")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "stage.cmake: cmake --install ${BUILD_DIR} --prefix ${PREFIX} failed (${rc})")
endif()
