# tiny.mk -- add policy tiny to a Makefile.
# generated from policy ca981f20ee1e660e by chromatic <version> — do not edit.
# Include this file, then compile $(CHROMATIC_SOURCES) with $(CHROMATIC_CFLAGS)
# $(CHROMATIC_INCLUDES) and link with $(CHROMATIC_CFLAGS) $(CHROMATIC_LDFLAGS)
# (examples/mps2-an386/Makefile does exactly this).
# Expanded at once (:=), and the folder variable is in chromatic's namespace, so no variable
# of the including Makefile changes these lists or is changed by them.
CHROMATIC_DIR_TINY := $(dir $(lastword $(MAKEFILE_LIST)))
CHROMATIC_SOURCES := $(CHROMATIC_SOURCES) $(CHROMATIC_DIR_TINY)tiny.c $(CHROMATIC_DIR_TINY)tiny_chromatic.c $(CHROMATIC_DIR_TINY)tiny_chromatic_fixed.c $(CHROMATIC_DIR_TINY)tiny_smlal.S
CHROMATIC_INCLUDES := $(CHROMATIC_INCLUDES) -I$(CHROMATIC_DIR_TINY)
# The flags `chromatic measure` used for target cortex-m3 (no -D: the settings are in
# tiny_config.h). They depend on the target only: policies built for one target set the
# same, so including several fragments is safe (each := sets the same value).
CHROMATIC_CFLAGS := -mcpu=cortex-m3 -mfloat-abi=soft -mthumb -O2 -ffunction-sections -fdata-sections
CHROMATIC_LDFLAGS := -Wl,--gc-sections
