# tiny.mk -- add policy tiny to a Makefile.
# generated from policy b628a4411f3ab22b by chromatic <version> — do not edit.
# Include this file, then compile $(CHROMATIC_SOURCES) with $(CHROMATIC_CFLAGS)
# $(CHROMATIC_INCLUDES) and link with $(CHROMATIC_CFLAGS) $(CHROMATIC_LDFLAGS)
# (examples/mps2-an386/Makefile does exactly this).
TINY_DIR := $(dir $(lastword $(MAKEFILE_LIST)))
CHROMATIC_SOURCES += $(TINY_DIR)tiny.c $(TINY_DIR)tiny_chromatic.c $(TINY_DIR)tiny_chromatic_fixed.c
CHROMATIC_INCLUDES += -I$(TINY_DIR)
# The flags `chromatic measure` used for target cortex-m3 (no -D: the settings are in
# tiny_config.h). They depend on the target only: policies built for one target set the
# same, so including several fragments is safe (each := sets the same value).
CHROMATIC_CFLAGS := -mcpu=cortex-m3 -mfloat-abi=soft -mthumb -O2 -ffunction-sections -fdata-sections
CHROMATIC_LDFLAGS := -Wl,--gc-sections
