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

LIBDIRS := src/nn src/img src/feat src/gen src/prog encoder meta store bench
LIBSRC  := $(foreach d,$(LIBDIRS),$(wildcard $(d)/*.c))
CLISRC  := $(wildcard src/cli/*.c)
LIBOBJ  := $(LIBSRC:%.c=$(BUILD)/%.o)
CLIOBJ  := $(CLISRC:%.c=$(BUILD)/%.o)
TESTSRC := $(wildcard tests/unit/test_*.c)
TESTBIN := $(TESTSRC:tests/unit/%.c=$(BUILD)/tests/%)
MODEL   := models/default.psm
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
CFLAGS  += -DPS_VERSION=\"$(VERSION)\" -DPS_DATADIR=\"$(PREFIX)/share/pstyle\"

.PHONY: prog-natural demo all test unit unit-cores integration bench bench-quick install uninstall clean deps data extval train
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

# The style program's table of natural-photo statistics, from the training photos (make data).
$(BUILD)/gen_natural: src/prog/tools/gen_natural.c $(BUILD)/libpstyle.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libpstyle.a $(LDLIBS)

prog-natural: $(BUILD)/gen_natural
	$(BUILD)/gen_natural data/photos/train/* > src/prog/natural.c.tmp
	mv src/prog/natural.c.tmp src/prog/natural.c

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

test: unit unit-cores fuzz-regress integration

bench: $(BUILD)/pstyle
	$(BUILD)/pstyle bench $(if $(QUICK),--quick)

install: pstyle
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/pstyle $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 pstyle $(DESTDIR)$(PREFIX)/bin/pstyle
	if [ -f $(MODEL) ]; then install -m 644 $(MODEL) $(DESTDIR)$(PREFIX)/share/pstyle/default.psm; fi
	if [ -f man/pstyle.1 ]; then install -m 644 man/pstyle.1 $(DESTDIR)$(PREFIX)/share/man/man1/pstyle.1; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/pstyle $(DESTDIR)$(PREFIX)/share/pstyle/default.psm $(DESTDIR)$(PREFIX)/share/man/man1/pstyle.1

# apt-get as root, or through sudo. While another apt or dpkg holds its lock, deps waits up to
# APT_LOCK_WAIT seconds: install through apt's own DPkg::Lock::Timeout (apt >= 1.9.11), update by
# retrying every APT_LOCK_POLL seconds, since apt (2.6 too) does not apply that timeout to the
# lock of its package lists.
APT_GET       ?= apt-get
APT_LOCK_WAIT ?= 600
APT_LOCK_POLL ?= 5
deps:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	apt="$(APT_GET) -o DPkg::Lock::Timeout=$(APT_LOCK_WAIT)"; waited=0; \
	until out=$$(LC_ALL=C $$SUDO $$apt update -qq 2>&1); do \
	  if ! printf '%s\n' "$$out" | grep -q 'Could not get lock' || [ $$waited -ge $(APT_LOCK_WAIT) ]; then \
	    printf '%s\n' "$$out" >&2; \
	    [ $$waited = 0 ] || echo "make deps: apt still busy after $$waited s; giving up" >&2; \
	    exit 1; \
	  fi; \
	  [ $$waited -gt 0 ] || echo "make deps: apt is busy (another apt or dpkg holds its lock); waiting up to $(APT_LOCK_WAIT) s" >&2; \
	  sleep $(APT_LOCK_POLL); waited=$$((waited + $(APT_LOCK_POLL))); \
	done; \
	[ -z "$$out" ] || printf '%s\n' "$$out"; \
	DEBIAN_FRONTEND=noninteractive $$SUDO $$apt install -y -qq \
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

# Reproduces models/default.psm from `make data` in two stages (remove it first: a run replaces
# its output only when its validation beats the file already there), one thread each, so a run
# repeats bit for bit on one machine: 18,000 episodes from scratch (65 min), then 8,000 more
# (31 min) from that model at a lower rate, in which training styles leave groups untouched more
# often (meta/synth.c); that stage cut the external set's control from dE00 9.4 to 4.0. The shipped
# model's first stage is the earlier default, trained before that change with the synthesizer of
# commit be16934 (1 untouched group in 8 and never all three); the second is as below. The
# bench's no-inner-loop ablation is the first stage with --inner-steps 0 (models/ablation-noinner.psm).
TRAINFLAGS ?= --inner-steps 1 --learn-steps 5 --order first --w-ssim 1 --w-feat 0.003 --minutes 0
train: pstyle
	PSTYLE_THREADS=1 ./pstyle train --data data/photos --out runs/stage1.psm --dir runs/stage1 \
	  --episodes 18000 --seed 1 $(TRAINFLAGS)
	PSTYLE_THREADS=1 ./pstyle train --data data/photos --init runs/stage1.psm --out models/default.psm \
	  --dir runs/default --episodes 8000 --seed 2 --lr 5e-4 $(TRAINFLAGS)

clean:
	rm -rf build build-san pstyle libpstyle.a

-include $(LIBOBJ:.o=.d) $(CLIOBJ:.o=.d)

# The main job on the shipped default model: make sample images, learn a style, apply it.
demo: pstyle
	bash bench/demo.sh

# ---- fuzzing (tests/fuzz/) --------------------------------------------------------------------
# `make fuzz` builds each libFuzzer target with clang, ASan and UBSan (the library again, in
# $(FUZZ_BUILD), without OpenMP: no parser uses it) and runs it FUZZ_SECONDS on the seeds in
# tests/fuzz/corpus/<target>/; new inputs go to $(FUZZ_BUILD)/corpus/, crashes to
# $(FUZZ_BUILD)/crashes/ (fix the bug, then keep the file in tests/fuzz/regress/<target>/).
# fuzz-regress, part of `make test`, replays every seed and kept crash through every target with
# the normal compiler, no libFuzzer needed.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build/libfuzzer
FUZZ_TARGETS := img psm import store
FUZZ_MAXLEN_img    := 65536
FUZZ_MAXLEN_psm    := 65536
FUZZ_MAXLEN_import := 65536
FUZZ_MAXLEN_store  := 131072
FUZZ_TMP     := $(if $(wildcard /dev/shm/.),/dev/shm,/tmp)
FUZZ_CFLAGS   = $(filter-out -fopenmp,$(CFLAGS)) -fno-omit-frame-pointer \
  -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_LDLIBS   = $(filter-out -fopenmp,$(LDLIBS))
FUZZ_LIBOBJ  := $(LIBSRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_INPUTS   = $(wildcard tests/fuzz/corpus/*/* tests/fuzz/regress/*/*)
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
REPLAY_BIN   := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/replay_%)

.PHONY: fuzz fuzz-regress
fuzz: $(FUZZ_BIN) $(FUZZ_TARGETS:%=fuzz-run-%)

fuzz-run-%: $(FUZZ_BUILD)/fuzz_%
	@mkdir -p $(FUZZ_BUILD)/corpus/$* $(FUZZ_BUILD)/crashes/$*
	@echo "fuzz: $* for $(FUZZ_SECONDS) s"
	TMPDIR=$(FUZZ_TMP) $< $(FUZZ_BUILD)/corpus/$* tests/fuzz/corpus/$* -max_len=$(FUZZ_MAXLEN_$*) \
	  -max_total_time=$(FUZZ_SECONDS) -timeout=30 -print_final_stats=1 \
	  -artifact_prefix=$(FUZZ_BUILD)/crashes/$*/

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/libpstyle.a: $(FUZZ_LIBOBJ)
	@rm -f $@
	ar rcs $@ $^

# stb's own code, not ours: its warnings are not ours to fix
$(FUZZ_BUILD)/stb_image_impl.o: tests/fuzz/stb_image_impl.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -w -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/fuzz_img: $(FUZZ_BUILD)/stb_image_impl.o
$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_BUILD)/libpstyle.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(filter %.o,$^) $(FUZZ_BUILD)/libpstyle.a \
	  $(FUZZ_LDLIBS)

$(BUILD)/fuzz/replay_%: tests/fuzz/replay.c tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(BUILD)/libpstyle.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/fuzz/replay.c tests/fuzz/fuzz_$*.c $(BUILD)/libpstyle.a $(LDLIBS)

fuzz-regress: $(REPLAY_BIN)
	@for t in $(REPLAY_BIN); do $$t $(FUZZ_INPUTS) || exit 1; done

-include $(FUZZ_LIBOBJ:.o=.d)
