# tiny.cmake -- add policy tiny to a CMake project.
# generated from policy ca981f20ee1e660e by chromatic <version> — do not edit.
# The project enables C and ASM (the assembly kernels are .S files): project(app C ASM), then
#   include(path/to/src/tiny.cmake)
#   target_sources(app PRIVATE ${CHROMATIC_SOURCES})
#   target_include_directories(app PRIVATE ${CHROMATIC_INCLUDE_DIRS})
#   target_compile_options(app PRIVATE ${CHROMATIC_CFLAGS})
#   target_link_options(app PRIVATE ${CHROMATIC_CFLAGS} ${CHROMATIC_LDFLAGS})
# (examples/mps2-an386/CMakeLists.txt does exactly this). A C++ application: compile its C++
# with -fno-exceptions -fno-rtti and link it as C (LINKER_LANGUAGE C; docs/targets.md).
list(APPEND CHROMATIC_SOURCES
    "${CMAKE_CURRENT_LIST_DIR}/tiny.c"
    "${CMAKE_CURRENT_LIST_DIR}/tiny_chromatic.c"
    "${CMAKE_CURRENT_LIST_DIR}/tiny_chromatic_fixed.c")
list(APPEND CHROMATIC_INCLUDE_DIRS "${CMAKE_CURRENT_LIST_DIR}")
# The flags `chromatic measure` used for target cortex-m3, a list (no -D: the settings are in
# tiny_config.h). They depend on the target only: policies built for one target set the same.
set(CHROMATIC_CFLAGS -mcpu=cortex-m3 -mfloat-abi=soft -mthumb -O2 -ffunction-sections -fdata-sections)
set(CHROMATIC_LDFLAGS -Wl,--gc-sections)
