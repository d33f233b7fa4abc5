# tiny.cmake -- add policy tiny to a CMake project:
#   include(path/to/src/tiny.cmake)
#   target_sources(app PRIVATE ${CHROMATIC_SOURCES})
#   target_include_directories(app PRIVATE ${CHROMATIC_INCLUDE_DIRS})
# generated from policy ca981f20ee1e660e by chromatic <version> — do not edit.
list(APPEND CHROMATIC_SOURCES
    "${CMAKE_CURRENT_LIST_DIR}/tiny.c"
    "${CMAKE_CURRENT_LIST_DIR}/tiny_chromatic.c")
list(APPEND CHROMATIC_INCLUDE_DIRS "${CMAKE_CURRENT_LIST_DIR}")
# The flags `chromatic measure` used for target cortex-m4f:
set(CHROMATIC_CFLAGS "-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard -mfp16-format=ieee -ffp-contract=fast -mthumb -O2 -ffunction-sections -fdata-sections")
set(CHROMATIC_LDFLAGS "-Wl,--gc-sections")
