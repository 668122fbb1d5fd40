# haprov — build, test and lab targets. See README.md.
# `make` builds ./haprov; `make check` runs every test; `make demo` runs the
# main job on the local lab. Both install what they need (make deps).

CC ?= cc
PKGS := libssh2 libcurl jansson libgit2 yaml-0.1 libssl libcrypto libpq
SANITIZE ?=

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wconversion \
	-Wno-sign-conversion -Wstrict-prototypes -Wmissing-prototypes \
	-Wold-style-definition -Wpointer-arith -Wwrite-strings -Wvla \
	-Wcast-qual -Wundef -Wimplicit-fallthrough -fno-common
WERROR ?= -Werror

ifeq ($(SANITIZE),)
BUILD := build
OPT := -O2 -D_FORTIFY_SOURCE=3
SANFLAGS :=
else
# FORTIFY_SOURCE and the sanitizers check the same things and get in each
# other's way; -O1 keeps ASan's reports readable.
BUILD := build/san
OPT := -O1 -fno-omit-frame-pointer
SANFLAGS := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS ?= -std=c17 -g $(OPT) $(WARN) $(WERROR) -fstack-protector-strong -fPIE
ALL_CFLAGS = $(CFLAGS) $(SANFLAGS) -D_GNU_SOURCE -Iprovisioner -Iphases \
	-Irollback -I$(BUILD) $(PKG_CFLAGS)
LDFLAGS ?= -pie -Wl,-z,relro,-z,now
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)
LIBS = $(PKG_LIBS) -lpthread

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

SRCS := $(wildcard provisioner/*.c phases/*.c rollback/*.c)
LIB_SRCS := $(filter-out provisioner/main.c,$(SRCS))
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS)) $(BUILD)/templates_gen.o
MAIN_OBJ := $(BUILD)/provisioner/main.o
TEMPLATES := $(sort $(wildcard templates/*))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all deps check unit golden lint lab-up lab-down demo bench clean \
	format fuzz fuzz-bins fuzz-check man install

PREFIX ?= /usr/local

all: haprov

haprov: $(BUILD)/haprov
	@if [ "$(SANITIZE)" = "" ]; then cp $< $@; fi

$(BUILD)/haprov: $(MAIN_OBJ) $(LIB_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/%.o: %.c $(wildcard provisioner/*.h phases/*.h rollback/*.h) \
		$(BUILD)/templates_gen.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DHP_VERSION='"$(VERSION)"' -c -o $@ $<

# Templates are compiled into the binary so that it runs from anywhere.
$(BUILD)/templates_gen.c $(BUILD)/templates_gen.h: $(TEMPLATES) \
		provisioner/gen-templates.sh
	@mkdir -p $(BUILD)
	sh provisioner/gen-templates.sh $(BUILD) $(TEMPLATES)

$(BUILD)/templates_gen.o: $(BUILD)/templates_gen.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(LIB_OBJS) $(ALL_LDFLAGS) \
		$(LIBS) -lcmocka

# The man page, from the binary's help and README.md (tools/gen-man.sh);
# tests/unit/test_man.c and tests/man.sh hold it to the command table and
# the inventory schema.
$(BUILD)/haprov.1: $(BUILD)/haprov tools/gen-man.sh README.md
	sh tools/gen-man.sh $(BUILD)/haprov README.md >$@.tmp
	mv $@.tmp $@

man: $(BUILD)/haprov.1

# test_man reads the page of its build directory ($(BUILD)/haprov.1)
$(BUILD)/tests/test_man: $(BUILD)/haprov.1
unit-bins: $(UNIT_BINS) $(BUILD)/haprov.1

# Unit tests always run under ASan + UBSan.
unit:
	$(MAKE) -j2 SANITIZE=address,undefined unit-bins
	@sh tests/run-unit.sh build/san/tests

# ---- fuzzing: libFuzzer targets, tests/fuzz/fuzz_*.c (README: tests/fuzz/run.sh)
# The library objects are built again with clang, with coverage for
# libFuzzer and ASan + UBSan, in their own directory.
FUZZ_CC ?= clang
FUZZ_BUILD := build/fuzz
FUZZ_SECONDS ?= 600
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS = -std=c17 -g -O1 -fno-omit-frame-pointer $(WARN) $(WERROR) \
	-D_GNU_SOURCE -Iprovisioner -Iphases -Irollback -I$(FUZZ_BUILD) \
	$(PKG_CFLAGS)
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(LIB_SRCS)) \
	$(FUZZ_BUILD)/templates_gen.o
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRCS))

$(FUZZ_BUILD)/templates_gen.c $(FUZZ_BUILD)/templates_gen.h: $(TEMPLATES) \
		provisioner/gen-templates.sh
	@mkdir -p $(FUZZ_BUILD)
	sh provisioner/gen-templates.sh $(FUZZ_BUILD) $(TEMPLATES)

$(FUZZ_BUILD)/templates_gen.o: $(FUZZ_BUILD)/templates_gen.c
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) \
		-c -o $@ $<

$(FUZZ_BUILD)/%.o: %.c $(wildcard provisioner/*.h phases/*.h rollback/*.h) \
		$(FUZZ_BUILD)/templates_gen.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) \
		-DHP_VERSION='"$(VERSION)"' -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h \
		tests/unit/fake_transport.h tests/unit/fake_rest.h \
		$(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Itests/unit -Itests/fuzz \
		-fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< $(FUZZ_LIB_OBJS) $(LIBS)

fuzz-bins: $(FUZZ_BINS)

# every target for FUZZ_SECONDS, growing build/fuzz/corpus from the seeds
fuzz: fuzz-bins
	@sh tests/fuzz/run.sh fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS)

# every target for 10 s over its committed corpus: a regression test
fuzz-check: fuzz-bins
	@sh tests/fuzz/run.sh check $(FUZZ_BUILD) 10

deps:
	@sh tests/deps.sh

lint:
	@sh tests/lint.sh

golden: haprov
	@sh tests/golden.sh

check: deps
	@bash tests/check.sh

lab-up:
	@bash tests/lab/lab-up.sh

lab-down:
	@bash tests/lab/lab-down.sh && bash tests/lab/lab-snapshot.sh drop

demo: deps haprov
	@bash tests/demo.sh

bench: haprov
	@bash bench/run.sh

install: $(BUILD)/haprov $(BUILD)/haprov.1
	install -D -m 0755 $(BUILD)/haprov $(DESTDIR)$(PREFIX)/bin/haprov
	install -D -m 0644 $(BUILD)/haprov.1 \
		$(DESTDIR)$(PREFIX)/share/man/man1/haprov.1
	install -D -m 0644 completion/haprov.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/haprov

format:
	clang-format -i $(SRCS) $(wildcard provisioner/*.h phases/*.h rollback/*.h) $(UNIT_SRCS)

clean:
	rm -rf build haprov
