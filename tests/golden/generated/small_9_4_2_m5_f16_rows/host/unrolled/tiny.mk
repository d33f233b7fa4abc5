# tiny.mk -- add policy tiny to a Makefile: include this file, then compile
# $(CHROMATIC_SOURCES) with $(CHROMATIC_CFLAGS) and -I$(TINY_DIR).
# generated from policy ca981f20ee1e660e by chromatic <version> — do not edit.
TINY_DIR := $(dir $(lastword $(MAKEFILE_LIST)))
CHROMATIC_SOURCES += $(TINY_DIR)tiny.c $(TINY_DIR)tiny_chromatic.c
CHROMATIC_INCLUDES += -I$(TINY_DIR)
# The flags `chromatic measure` used for target host (no -D: the settings
# are in tiny_config.h).
CHROMATIC_CFLAGS := -O2 -fPIC
CHROMATIC_LDFLAGS := -Wl,--gc-sections
