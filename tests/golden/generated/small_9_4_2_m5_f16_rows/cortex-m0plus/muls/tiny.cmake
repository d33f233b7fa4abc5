# tiny.cmake -- add policy tiny to a CMake project:
#   include(path/to/src/tiny.cmake)
#   target_sources(app PRIVATE ${CHROMATIC_SOURCES})
#   target_include_directories(app PRIVATE ${CHROMATIC_INCLUDE_DIRS})
# generated from policy ca981f20ee1e660e by chromatic <version> — do not edit.
list(APPEND CHROMATIC_SOURCES
    "${CMAKE_CURRENT_LIST_DIR}/tiny.c"
    "${CMAKE_CURRENT_LIST_DIR}/tiny_chromatic.c"
    "${CMAKE_CURRENT_LIST_DIR}/tiny_chromatic_fixed.c"
    "${CMAKE_CURRENT_LIST_DIR}/tiny_muls.S")
list(APPEND CHROMATIC_INCLUDE_DIRS "${CMAKE_CURRENT_LIST_DIR}")
# The flags `chromatic measure` used for target cortex-m0plus:
set(CHROMATIC_CFLAGS "-mcpu=cortex-m0plus -mfloat-abi=soft -mthumb -O2 -ffunction-sections -fdata-sections")
set(CHROMATIC_LDFLAGS "-Wl,--gc-sections")
