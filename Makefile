# pstyle build. Deps come from Debian and are found with pkg-config (see `make deps`).
# Every .c under the library folders goes into libpstyle.a; src/cli/ is the pstyle binary;
# tests/unit/test_*.c are one executable each; tests/integration/*.sh run against the binary.
CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
PKGS    := openblas sqlite3 zlib stb libjpeg
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wvla
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -I. $(shell pkg-config --cflags $(PKGS)) -fopenmp
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lm -lpthread -fopenmp
ifeq ($(NATIVE),1)
CFLAGS  += -march=native
endif
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
BUILD   ?= build-san
endif
BUILD   ?= build

LIBDIRS := src/nn src/img src/feat src/gen encoder meta store bench
LIBSRC  := $(foreach d,$(LIBDIRS),$(wildcard $(d)/*.c))
CLISRC  := $(wildcard src/cli/*.c)
LIBOBJ  := $(LIBSRC:%.c=$(BUILD)/%.o)
CLIOBJ  := $(CLISRC:%.c=$(BUILD)/%.o)
TESTSRC := $(wildcard tests/unit/test_*.c)
TESTBIN := $(TESTSRC:tests/unit/%.c=$(BUILD)/tests/%)
MODEL   := models/default.psm
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
CFLAGS  += -DPS_VERSION=\"$(VERSION)\" -DPS_DATADIR=\"$(PREFIX)/share/pstyle\"

.PHONY: demo all test unit unit-cores integration bench bench-quick install uninstall clean deps data extval train
all: pstyle $(BUILD)/libpstyle.a

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libpstyle.a: $(LIBOBJ)
	@rm -f $@
	ar rcs $@ $^

libpstyle.a: $(BUILD)/libpstyle.a
	cp $< $@

$(BUILD)/pstyle: $(CLIOBJ) $(BUILD)/libpstyle.a
	$(CC) $(LDFLAGS) -o $@ $(CLIOBJ) $(BUILD)/libpstyle.a $(LDLIBS)

pstyle: $(BUILD)/pstyle
	cp $< $@

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libpstyle.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libpstyle.a $(LDLIBS)

# PSTYLE_ROOT: test_feat_score finds the metrics' reference script in ../shared/ beside the repo
unit: $(TESTBIN)
	@PSTYLE_ROOT=$(abspath .) bash tests/run_unit.sh $(TESTBIN)

# The unit suite again under every other OpenBLAS kernel this CPU runs, so that a test which
# depends on one kernel's rounding fails here rather than on a user's machine.
unit-cores: $(BUILD)/pstyle $(TESTBIN)
	@PSTYLE_BIN=$(abspath $(BUILD)/pstyle) PSTYLE_ROOT=$(abspath .) bash tests/run_unit_cores.sh $(TESTBIN)

integration: $(BUILD)/pstyle $(TESTBIN)
	@PSTYLE_BIN=$(abspath $(BUILD)/pstyle) bash tests/run_integration.sh

test: unit unit-cores integration

bench: $(BUILD)/pstyle
	$(BUILD)/pstyle bench $(if $(QUICK),--quick)

install: pstyle
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/pstyle $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 pstyle $(DESTDIR)$(PREFIX)/bin/pstyle
	if [ -f $(MODEL) ]; then install -m 644 $(MODEL) $(DESTDIR)$(PREFIX)/share/pstyle/default.psm; fi
	if [ -f man/pstyle.1 ]; then install -m 644 man/pstyle.1 $(DESTDIR)$(PREFIX)/share/man/man1/pstyle.1; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/pstyle $(DESTDIR)$(PREFIX)/share/pstyle/default.psm $(DESTDIR)$(PREFIX)/share/man/man1/pstyle.1

deps:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	  build-essential pkg-config libopenblas-dev libsqlite3-dev zlib1g-dev libstb-dev libjpeg62-turbo-dev sqlite3 \
	  python3-numpy python3-scipy python3-skimage python3-pil

data:
	bash meta/make_data.sh

# The external validation set (data/extval): GEGL and OpenCV styles on the validation photos, for
# the bench only, never for training. Needs `make data`; installs gegl and python3-opencv as root.
extval:
	@if ! command -v gegl >/dev/null || ! /usr/bin/python3 -c 'import cv2' 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq gegl python3-opencv; fi
	/usr/bin/python3 bench/extval/make_extval.py

# Reproduces models/default.psm from `make data` (remove it first: a run replaces the file only
# when its validation beats the one already there). One thread, so a run repeats bit for bit on one
# machine; the shipped model was trained this way, side by side on the other core with the bench's
# no-inner-loop ablation: the same flags with --inner-steps 0 --out models/ablation-noinner.psm.
TRAINFLAGS ?= --episodes 18000 --inner-steps 1 --learn-steps 5 --order first --seed 1 \
  --w-ssim 1 --w-feat 0.003 --minutes 0
train: pstyle
	PSTYLE_THREADS=1 ./pstyle train --data data/photos --out models/default.psm --dir runs/default $(TRAINFLAGS)

clean:
	rm -rf build build-san pstyle libpstyle.a

-include $(LIBOBJ:.o=.d) $(CLIOBJ:.o=.d)

# The main job on the shipped default model: make sample images, learn a style, apply it.
demo: pstyle
	bash bench/demo.sh
