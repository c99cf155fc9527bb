# wf: Workflow Hub as small Unix daemons.  Plain make.
#   make            build every program into bin/
#   make check      build and run the tests (prove: C units and bats e2e)
#   make check SANITIZE=1   the same under ASan and UBSan
#   make install PREFIX=/usr/local DESTDIR=...   (and uninstall)
#   make security   systemd-analyze's exposure score of each unit
#   make demo       a sample project through the whole pipeline
#   make demo-queue run a batch of jobs through the daemons on ./spool
#   make deps       install the Debian packages the build and tests need

VERSION = 0.1.0
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
SPOOLDIR ?= /var/spool/wf
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
WEBDIR ?= $(PREFIX)/share/wf/web

# An uninstalled build runs from the checkout: its spool/, etc/ and bin/.
WF_DEFAULT_HOME ?= $(CURDIR)/spool
WF_DEFAULT_CONFIG ?= $(CURDIR)/etc/wf.ini
WF_DEFAULT_BINDIR ?= $(CURDIR)/bin
WF_DEFAULT_WEBDIR ?= $(CURDIR)/web
B ?= bin
O ?= obj

CC ?= cc
CFLAGS ?= -O2 -g
PKGS = libcjson inih libcurl libsodium libbsd-overlay expat
# pkg-config is asked when a flag is first used, not when this file is
# read: in `make deps demo` on a bare machine that is after deps has
# installed the packages.  Each is asked once (the first use replaces the
# variable with its value); one that pkg-config cannot give stops make.
pkg = $(eval $1 := $$(shell pkg-config $2))$(if $(filter 0,$(.SHELLSTATUS)),,\
	$(error pkg-config $2 failed: `make deps` installs the packages))$($1)
PKG_CFLAGS = $(call pkg,PKG_CFLAGS,--cflags $(PKGS))
PKG_LIBS = $(call pkg,PKG_LIBS,--libs $(PKGS))
# libmicrohttpd: wf-httpd's alone; no other program links it.
MHD_CFLAGS = $(call pkg,MHD_CFLAGS,--cflags libmicrohttpd)
MHD_LIBS = $(call pkg,MHD_LIBS,--libs libmicrohttpd)
CMOCKA_CFLAGS = $(call pkg,CMOCKA_CFLAGS,--cflags cmocka)
CMOCKA_LIBS = $(call pkg,CMOCKA_LIBS,--libs cmocka)
# With deps among the goals, every compile waits for it, under -j too.
DEPS_FIRST = $(filter deps,$(MAKECMDGOALS))
override CFLAGS += -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	-D_GNU_SOURCE -D_FORTIFY_SOURCE=2 -fstack-protector-strong -MMD -MP \
	-DWF_VERSION='"$(VERSION)"' \
	-DWF_DEFAULT_HOME='"$(WF_DEFAULT_HOME)"' \
	-DWF_DEFAULT_CONFIG='"$(WF_DEFAULT_CONFIG)"' \
	-DWF_DEFAULT_BINDIR='"$(WF_DEFAULT_BINDIR)"' \
	-DWF_DEFAULT_WEBDIR='"$(WF_DEFAULT_WEBDIR)"' \
	-iquote lib $(PKG_CFLAGS)
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
PROGS = wf wf-enqueue wf-dispatch wf-agent wf-gate wf-notify wf-httpd \
	wf-director
BINS = $(PROGS:%=$(B)/%)
UNITSRC = $(wildcard tests/unit/*.c)
UNITS = $(UNITSRC:tests/unit/%.c=$(B)/tests/%)

all: $(BINS)

$(O)/lib/%.o: lib/%.c | $(DEPS_FIRST)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(O)/cmd/%.o: cmd/%.c | $(DEPS_FIRST)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(XCFLAGS) -c -o $@ $<

$(O)/tests/%.o: tests/unit/%.c | $(DEPS_FIRST)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(CMOCKA_CFLAGS) -c -o $@ $<

$(O)/libwf.a: $(LIBOBJ)
	rm -f $@
	$(AR) rcs $@ $^

# Each program links only what it calls (--as-needed): wf-enqueue and
# wf-dispatch never load libcurl or libsodium.
$(BINS): $(B)/%: $(O)/libwf.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(O)/libwf.a $(PKG_LIBS) \
		$(XLIBS) -lm

WFSRC = $(wildcard cmd/wf/*.c)
$(B)/wf: $(WFSRC:%.c=$(O)/%.o)
$(B)/wf-enqueue: $(O)/cmd/wf-enqueue/main.o
$(B)/wf-dispatch: $(O)/cmd/wf-dispatch/main.o
$(B)/wf-agent: $(O)/cmd/wf-agent/main.o
$(B)/wf-gate: $(O)/cmd/wf-gate/main.o
$(B)/wf-notify: $(O)/cmd/wf-notify/main.o
$(B)/wf-httpd: $(O)/cmd/wf-httpd/main.o
$(B)/wf-director: $(O)/cmd/wf-director/main.o
$(O)/cmd/wf-httpd/main.o: XCFLAGS = $(MHD_CFLAGS)
$(B)/wf-httpd: XLIBS = $(MHD_LIBS)

$(UNITS): $(B)/tests/%: $(O)/tests/%.o $(O)/libwf.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(O)/libwf.a $(PKG_LIBS) -lm \
		$(CMOCKA_LIBS)

tests: $(BINS) $(UNITS)

# The one test command (README, .ci/run): every C unit and every e2e
# script, all TAP, through prove.
check: tests
	WF_BIN=$(CURDIR)/$(B) prove -j2 -e '' $(UNITS) tests/e2e/*.bats

deps:
	scripts/deps.sh

demo: all
	WF_BIN=$(CURDIR)/$(B) scripts/demo.sh

demo-queue: all
	WF_BIN=$(CURDIR)/$(B) scripts/demo-queue.sh

bench: all
	WF_BIN=$(CURDIR)/$(B) bench/queue.sh
	WF_BIN=$(CURDIR)/$(B) bench/llm-lane.sh
	WF_BIN=$(CURDIR)/$(B) bench/sandbox.sh

# The llm lane alone: 100 llm_complete jobs against a fake 50 ms model.
bench-llm: all
	WF_BIN=$(CURDIR)/$(B) bench/llm-lane.sh

# The sandbox alone: what bwrap adds to a job's start, 200 jobs a case.
bench-sandbox: all
	WF_BIN=$(CURDIR)/$(B) bench/sandbox.sh

# The kill campaign: a mixed load while daemons, agents and jobs are
# SIGKILLed at random (CRASH_KILLS, default 1000; CRASH_SEED), then at each
# chosen point; prints what was lost, run twice or stuck.  Not part of
# bench (it takes 20 minutes and more); check runs a short one.
crash: all
	WF_BIN=$(CURDIR)/$(B) bench/crash.sh

# libFuzzer over every parser of outside bytes (not part of check).
FUZZ_SECS ?= 60
fuzz:
	@mkdir -p build/fuzz/corpus
	clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 \
		-D_GNU_SOURCE -DWF_VERSION='"$(VERSION)"' -iquote lib $(PKG_CFLAGS) \
		-o build/fuzz/fuzz_parsers \
		tests/fuzz/fuzz_parsers.c $(LIBSRC) $(PKG_LIBS) -lm
	build/fuzz/fuzz_parsers -max_total_time=$(FUZZ_SECS) -max_len=65536 \
		build/fuzz/corpus tests/fuzz/seeds 2>&1 | tail -5

# install: the programs built with the installed paths baked in (in their
# own object dir), man pages, systemd units, sysusers.d and tmpfiles.d
# entries, bash completion, and the default config.  A config file that
# is there already is never overwritten: when it differs from the new
# default, that goes beside it as FILE.new.
UNITS_SVC = wf-dispatch.service wf-gate.service wf-notify.service \
	wf-httpd.service wf-director.service
MANPAGES = $(wildcard man/*.[1-8])
WEBFILES = $(wildcard web/*)
CONFFILES = wf.ini $(patsubst etc/%,%,$(wildcard etc/roles/*)) \
	$(patsubst etc/%,%,$(wildcard etc/director/*))
# Every program the suite has had or will have, for uninstall (rm -f).
ALLPROGS = $(sort $(PROGS) wf-notify wf-httpd)
SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SPOOLDIR@|$(SPOOLDIR)|g' \
	-e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

# The programs for install are built in INSTB, never with the sanitizers,
# and anew when the paths baked into them (or the build) change; the units, sysusers.d and tmpfiles.d files for these
# paths are made in UNITB.
INSTB ?= build/inst
UNITB ?= build/systemd
INSTPATHS = $(SPOOLDIR):$(SYSCONFDIR):$(BINDIR):$(WEBDIR):$(SANITIZE):$(CC)

systemd-units:
	@mkdir -p $(UNITB)
	for u in $(UNITS_SVC); do \
		sed -e '/^@HARDENING@$$/{r systemd/hardening.conf' -e 'd;}' \
		    systemd/$$u.in | $(SUBST) >$(UNITB)/$$u || exit 1; \
	done
	$(SUBST) systemd/wf.target >$(UNITB)/wf.target
	$(SUBST) systemd/wf.sysusers >$(UNITB)/wf.sysusers
	$(SUBST) systemd/wf.tmpfiles >$(UNITB)/wf.tmpfiles

install: systemd-units
	@echo '$(INSTPATHS)' | cmp -s - $(INSTB)/paths 2>/dev/null || \
		{ rm -rf $(INSTB) && mkdir -p $(INSTB) && \
		echo '$(INSTPATHS)' >$(INSTB)/paths; }
	$(MAKE) SANITIZE= B=$(INSTB)/bin O=$(INSTB)/obj \
		WF_DEFAULT_HOME=$(SPOOLDIR) \
		WF_DEFAULT_CONFIG=$(SYSCONFDIR)/wf/wf.ini \
		WF_DEFAULT_BINDIR=$(BINDIR) WF_DEFAULT_WEBDIR=$(WEBDIR) all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/wf/roles \
		$(DESTDIR)$(SYSCONFDIR)/wf/director \
		$(DESTDIR)$(SYSCONFDIR)/wf/hooks.d $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(WEBDIR)
	install -m 0755 $(INSTB)/bin/wf $(INSTB)/bin/wf-* $(DESTDIR)$(BINDIR)
	for m in $(MANPAGES); do \
		d=$(DESTDIR)$(MANDIR)/man$${m##*.}; \
		install -d $$d && install -m 0644 $$m $$d || exit 1; \
	done
	install -m 0644 $(UNITS_SVC:%=$(UNITB)/%) $(UNITB)/wf.target \
		$(DESTDIR)$(UNITDIR)
	install -m 0644 $(UNITB)/wf.sysusers $(DESTDIR)$(SYSUSERSDIR)/wf.conf
	install -m 0644 $(UNITB)/wf.tmpfiles $(DESTDIR)$(TMPFILESDIR)/wf.conf
	install -m 0644 contrib/wf.bash-completion $(DESTDIR)$(BASHCOMPDIR)/wf
	for f in $(WEBFILES); do \
		install -m 0644 $$f $(DESTDIR)$(WEBDIR) || exit 1; done
	for f in $(CONFFILES); do \
		t=$(DESTDIR)$(SYSCONFDIR)/wf/$$f; \
		if [ ! -e $$t ]; then install -m 0644 etc/$$f $$t; \
		elif ! cmp -s etc/$$f $$t; then install -m 0644 etc/$$f $$t.new; \
		    echo "install: $$t is edited; the new default is $$t.new"; \
		fi || exit 1; \
	done

# uninstall: what install put, but a config file that was edited.
uninstall:
	rm -f $(ALLPROGS:%=$(DESTDIR)$(BINDIR)/%)
	for m in $(MANPAGES); do \
		rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m#man/}; done
	rm -f $(UNITS_SVC:%=$(DESTDIR)$(UNITDIR)/%) $(DESTDIR)$(UNITDIR)/wf.target
	rm -f $(DESTDIR)$(SYSUSERSDIR)/wf.conf $(DESTDIR)$(TMPFILESDIR)/wf.conf
	rm -f $(DESTDIR)$(BASHCOMPDIR)/wf
	rm -f $(WEBFILES:web/%=$(DESTDIR)$(WEBDIR)/%)
	rmdir $(DESTDIR)$(WEBDIR) $(DESTDIR)$(WEBDIR:%/web=%) 2>/dev/null || true
	for f in $(CONFFILES); do \
		t=$(DESTDIR)$(SYSCONFDIR)/wf/$$f; rm -f $$t.new; \
		if cmp -s etc/$$f $$t; then rm -f $$t; \
		elif [ -e $$t ]; then echo "uninstall: $$t is edited: kept"; fi; \
	done
	rmdir $(DESTDIR)$(SYSCONFDIR)/wf/roles $(DESTDIR)$(SYSCONFDIR)/wf/hooks.d \
		$(DESTDIR)$(SYSCONFDIR)/wf/director \
		$(DESTDIR)$(SYSCONFDIR)/wf 2>/dev/null || true

# The exposure score of each daemon's unit (systemd-analyze security,
# offline: no running systemd needed).  Not part of check.
security: systemd-units
	@for u in $(UNITS_SVC); do \
		systemd-analyze security --offline=true --no-pager \
		    $(UNITB)/$$u 2>/dev/null | sed -n \
		    's/.*exposure level for \(.*\): \([0-9.]*\) \([A-Z]*\).*/\1 \2 \3/p'; \
	done

format:
	clang-format -i lib/*.[ch] cmd/*/*.c tests/unit/*.c

# Static checks (not part of check): cppcheck over every C file, with
# cJSON's iteration macro spelled out for it.
lint:
	cppcheck --quiet --error-exitcode=1 --std=c11 -D_GNU_SOURCE \
		-DWF_VERSION='"$(VERSION)"' \
		--enable=warning,portability,performance --inline-suppr \
		--library=scripts/cjson.cfg --suppress=missingIncludeSystem \
		-Ilib lib cmd tests/unit tests/fuzz

clean:
	rm -rf obj obj-san bin bin-san build

# The daemons' end-to-end tests under valgrind (memcheck).
valgrind: all
	scripts/valgrind.sh

.PHONY: lint valgrind all check deps demo demo-queue bench bench-llm bench-sandbox crash fuzz install uninstall format \
	clean tests systemd-units security
.SECONDARY:

-include $(shell find $(O) -name '*.d' 2>/dev/null)
