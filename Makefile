# wf: Workflow Hub as small Unix daemons.  Plain make.
#   make            build every program into bin/
#   make check      build and run the tests (prove: C units and bats e2e)
#   make check SANITIZE=1   the same under ASan and UBSan
#   make install PREFIX=/usr/local DESTDIR=...
#   make demo       run a batch of jobs through the daemons on ./spool
#   make deps       install the Debian packages the build and tests need

VERSION = 0.1.0
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
SPOOLDIR ?= /var/spool/wf

# An uninstalled build runs from the checkout: its spool/, etc/ and bin/.
WF_DEFAULT_HOME ?= $(CURDIR)/spool
WF_DEFAULT_CONFIG ?= $(CURDIR)/etc/wf.ini
WF_DEFAULT_BINDIR ?= $(CURDIR)/bin
B ?= bin
O ?= obj

CC ?= cc
CFLAGS ?= -O2 -g
PKGS = libcjson inih libcurl libsodium libbsd-overlay
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS))
override CFLAGS += -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	-D_GNU_SOURCE -D_FORTIFY_SOURCE=2 -fstack-protector-strong -MMD -MP \
	-DWF_VERSION='"$(VERSION)"' \
	-DWF_DEFAULT_HOME='"$(WF_DEFAULT_HOME)"' \
	-DWF_DEFAULT_CONFIG='"$(WF_DEFAULT_CONFIG)"' \
	-DWF_DEFAULT_BINDIR='"$(WF_DEFAULT_BINDIR)"' \
	-Ilib $(PKG_CFLAGS)
override LDFLAGS += -Wl,--as-needed
ifeq ($(SANITIZE),1)
override CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all -U_FORTIFY_SOURCE -O1
override LDFLAGS += -fsanitize=address,undefined
O = obj-san
B = bin-san
WF_DEFAULT_BINDIR = $(CURDIR)/bin-san
endif

LIBSRC = $(wildcard lib/*.c)
LIBOBJ = $(LIBSRC:lib/%.c=$(O)/lib/%.o)
PROGS = wf wf-enqueue wf-dispatch wf-agent wf-gate
BINS = $(PROGS:%=$(B)/%)
UNITSRC = $(wildcard tests/unit/*.c)
UNITS = $(UNITSRC:tests/unit/%.c=$(B)/tests/%)

all: $(BINS)

$(O)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(O)/cmd/%.o: cmd/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(O)/tests/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(shell pkg-config --cflags cmocka) -c -o $@ $<

$(O)/libwf.a: $(LIBOBJ)
	rm -f $@
	$(AR) rcs $@ $^

# Each program links only what it calls (--as-needed): wf-enqueue and
# wf-dispatch never load libcurl or libsodium.
$(BINS): $(B)/%: $(O)/libwf.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(O)/libwf.a $(PKG_LIBS) -lm

WFSRC = $(wildcard cmd/wf/*.c)
$(B)/wf: $(WFSRC:%.c=$(O)/%.o)
$(B)/wf-enqueue: $(O)/cmd/wf-enqueue/main.o
$(B)/wf-dispatch: $(O)/cmd/wf-dispatch/main.o
$(B)/wf-agent: $(O)/cmd/wf-agent/main.o
$(B)/wf-gate: $(O)/cmd/wf-gate/main.o

$(UNITS): $(B)/tests/%: $(O)/tests/%.o $(O)/libwf.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(O)/libwf.a $(PKG_LIBS) -lm \
		$(shell pkg-config --libs cmocka)

tests: $(BINS) $(UNITS)

# The one test command (README, .ci/run): every C unit and every e2e
# script, all TAP, through prove.
check: tests
	WF_BIN=$(CURDIR)/$(B) prove -j2 -e '' $(UNITS) tests/e2e/*.bats

deps:
	scripts/deps.sh

demo: all
	WF_BIN=$(CURDIR)/$(B) scripts/demo.sh

bench: all
	WF_BIN=$(CURDIR)/$(B) bench/queue.sh
	WF_BIN=$(CURDIR)/$(B) bench/llm-lane.sh

# The llm lane alone: 100 llm_complete jobs against a fake 50 ms model.
bench-llm: all
	WF_BIN=$(CURDIR)/$(B) bench/llm-lane.sh

# libFuzzer over every parser of outside bytes (not part of check).
FUZZ_SECS ?= 60
fuzz:
	@mkdir -p build/fuzz
	clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 \
		-D_GNU_SOURCE -Ilib $(PKG_CFLAGS) -o build/fuzz/fuzz_parsers \
		tests/fuzz/fuzz_parsers.c $(LIBSRC) $(PKG_LIBS) -lm
	build/fuzz/fuzz_parsers -max_total_time=$(FUZZ_SECS) -max_len=65536 \
		build/fuzz/corpus tests/fuzz/seeds 2>&1 | tail -5

install:
	$(MAKE) B=build/inst/bin O=build/inst/obj \
		WF_DEFAULT_HOME=$(SPOOLDIR) \
		WF_DEFAULT_CONFIG=$(SYSCONFDIR)/wf/wf.ini \
		WF_DEFAULT_BINDIR=$(BINDIR) all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/wf
	install -m 0755 $(PROGS:%=build/inst/bin/%) $(DESTDIR)$(BINDIR)
	test -e $(DESTDIR)$(SYSCONFDIR)/wf/wf.ini || \
		install -m 0644 etc/wf.ini $(DESTDIR)$(SYSCONFDIR)/wf/wf.ini

uninstall:
	rm -f $(PROGS:%=$(DESTDIR)$(BINDIR)/%)

format:
	clang-format -i lib/*.[ch] cmd/*/*.c tests/unit/*.c

clean:
	rm -rf obj obj-san bin bin-san build

.PHONY: all check deps demo bench bench-llm fuzz install uninstall format clean tests
.SECONDARY:

-include $(shell find $(O) -name '*.d' 2>/dev/null)
