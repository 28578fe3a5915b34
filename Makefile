# Builds and installs libptrace the way C libraries are installed.
#
#   make                  cargo build --release: target/release/libptrace.so and ptrace
#   sudo make install     installs that build (it builds nothing with cargo: run `make` first,
#                         as yourself; root often has no cargo)
#   sudo make uninstall   removes every file `make install` installs
#   make clean            cargo clean --release
#
# Where things go (each may be given on the command line, e.g. `make install PREFIX=/usr
# LIBDIR=/usr/lib/x86_64-linux-gnu`; DESTDIR is prepended to all of them, for packages):
#
#   PREFIX       /usr/local
#   BINDIR       $(PREFIX)/bin          ptrace, a launcher linked against libptrace.so.0
#   LIBDIR       $(PREFIX)/lib          libptrace.so.VERSION, stripped, with the links
#                                       libptrace.so.0 (its SONAME) and libptrace.so; its debug
#                                       information in LIBDIR/.debug, named by .gnu_debuglink
#   PKGCONFIGDIR $(LIBDIR)/pkgconfig    libptrace.pc
#   INCLUDEDIR   $(PREFIX)/include      pmodule.h, bt.h, ptrace/pmodule.h
#   DATADIR      $(PREFIX)/share
#   MANDIR       $(DATADIR)/man         man1/ptrace.1 and ptrace-SUBCOMMAND.1
#   BASHCOMPDIR  $(DATADIR)/bash-completion/completions
#   ZSHCOMPDIR   $(DATADIR)/zsh/site-functions
#   FISHCOMPDIR  $(DATADIR)/fish/vendor_completions.d
#   PKGDATADIR   $(DATADIR)/libptrace   lua/pmodule.d.lua (the Lua API's stubs) and
#                                       schema/snapshot.schema.json
#
# BUILD_DIR (default target/release, or $(CARGO_TARGET_DIR)/release) is the build installed:
# the folder holding libptrace.so and ptrace. CC and CFLAGS build the launcher.

PREFIX       = /usr/local
BINDIR       = $(PREFIX)/bin
LIBDIR       = $(PREFIX)/lib
PKGCONFIGDIR = $(LIBDIR)/pkgconfig
INCLUDEDIR   = $(PREFIX)/include
DATADIR      = $(PREFIX)/share
MANDIR       = $(DATADIR)/man
BASHCOMPDIR  = $(DATADIR)/bash-completion/completions
ZSHCOMPDIR   = $(DATADIR)/zsh/site-functions
FISHCOMPDIR  = $(DATADIR)/fish/vendor_completions.d
PKGDATADIR   = $(DATADIR)/libptrace
DESTDIR      =

CARGO            ?= cargo
CARGO_TARGET_DIR ?= target
BUILD_DIR        ?= $(CARGO_TARGET_DIR)/release
# Use cc unless CC was given on the command line or in the environment.
ifeq ($(origin CC),default)
CC = cc
endif
CFLAGS ?= -O2

# The package's version (Cargo.toml) names the library file; its first number is the SONAME's
# (build.rs links the library with -soname libptrace.so.0, which `make install` checks).
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
SOMAJOR := $(firstword $(subst ., ,$(VERSION)))
LIBRARY := libptrace.so.$(VERSION)
SONAME  := libptrace.so.$(SOMAJOR)

# libptrace.pc names its folders relative to ${prefix} when they are under PREFIX, so that
# `pkg-config --define-prefix` can relocate it.
PC_LIBDIR     = $(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))
PC_INCLUDEDIR = $(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))

# The launcher finds the library through an rpath relative to itself, so a prefix can move.
LIB_FROM_BIN := $(shell realpath -m --relative-to='$(BINDIR)' '$(LIBDIR)')

HEADERS  := pmodule.h bt.h ptrace/pmodule.h
# The pages `ptrace man` writes, one per subcommand besides ptrace.1 (make install fails when
# they differ, so that make uninstall removes them all).
MANPAGES := ptrace.1 ptrace-submit.1 ptrace-dump.1 ptrace-view.1 ptrace-completions.1
PKGDATA  := lua/pmodule.d.lua schema/snapshot.schema.json

D := $(DESTDIR)

.PHONY: all install uninstall clean
all:
	$(CARGO) build --release

install:
	@test -f '$(BUILD_DIR)/libptrace.so' && test -x '$(BUILD_DIR)/ptrace' || \
	  { echo "no libptrace build in $(BUILD_DIR): run \`make\` first" >&2; exit 1; }
	@soname=$$(objdump -p '$(BUILD_DIR)/libptrace.so' | sed -n 's/^ *SONAME *//p'); \
	  test "$$soname" = '$(SONAME)' || \
	  { echo "$(BUILD_DIR)/libptrace.so has the SONAME '$$soname', not $(SONAME)" >&2; exit 1; }
	install -d '$(D)$(BINDIR)' '$(D)$(LIBDIR)/.debug' '$(D)$(PKGCONFIGDIR)' \
	  '$(D)$(INCLUDEDIR)/ptrace' '$(D)$(MANDIR)/man1' '$(D)$(BASHCOMPDIR)' '$(D)$(ZSHCOMPDIR)' \
	  '$(D)$(FISHCOMPDIR)' '$(D)$(PKGDATADIR)/lua' '$(D)$(PKGDATADIR)/schema'
# The library, stripped; its debug information is split off into LIBDIR/.debug (where gdb,
# elfutils and libptrace itself look for the file .gnu_debuglink names), not lost.
	rm -f '$(D)$(LIBDIR)/$(LIBRARY)' '$(D)$(LIBDIR)/.debug/$(LIBRARY).debug'
	objcopy --only-keep-debug '$(BUILD_DIR)/libptrace.so' '$(D)$(LIBDIR)/.debug/$(LIBRARY).debug'
	chmod 644 '$(D)$(LIBDIR)/.debug/$(LIBRARY).debug'
	objcopy --strip-debug --strip-unneeded \
	  --add-gnu-debuglink='$(D)$(LIBDIR)/.debug/$(LIBRARY).debug' \
	  '$(BUILD_DIR)/libptrace.so' '$(D)$(LIBDIR)/$(LIBRARY)'
	chmod 755 '$(D)$(LIBDIR)/$(LIBRARY)'
	ln -sf '$(LIBRARY)' '$(D)$(LIBDIR)/$(SONAME)'
	ln -sf '$(SONAME)' '$(D)$(LIBDIR)/libptrace.so'
	for header in $(HEADERS); do \
	  install -m 644 "include/$$header" "$(D)$(INCLUDEDIR)/$$header" || exit 1; done
# bin/ptrace runs the command line inside libptrace.so.0 (ptrace_cli_main), so the CLI and the
# native modules it loads share that one engine. Built here: its rpath depends on BINDIR and
# LIBDIR.
	$(CC) -std=c11 $(CFLAGS) -Wall -Wextra -Iinclude -s -o '$(D)$(BINDIR)/ptrace' \
	  c-examples/ptrace_cli.c $(LDFLAGS) -L'$(D)$(LIBDIR)' -lptrace \
	  '-Wl,-rpath,$$ORIGIN/$(LIB_FROM_BIN)'
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(PC_LIBDIR)|' -e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|' \
	  -e 's|@VERSION@|$(VERSION)|' libptrace.pc.in > '$(D)$(PKGCONFIGDIR)/libptrace.pc'
	chmod 644 '$(D)$(PKGCONFIGDIR)/libptrace.pc'
# The manual pages and completions, rendered by the built ptrace from its own command line.
	pages=$$('$(BUILD_DIR)/ptrace' man '$(D)$(MANDIR)/man1' | sed 's|.*/||' | tr '\n' ' '); \
	  test "$$pages" = '$(MANPAGES) ' || \
	  { echo "ptrace man wrote $$pages; MANPAGES lists $(MANPAGES)" >&2; exit 1; }
	'$(BUILD_DIR)/ptrace' completions bash > '$(D)$(BASHCOMPDIR)/ptrace'
	'$(BUILD_DIR)/ptrace' completions zsh > '$(D)$(ZSHCOMPDIR)/_ptrace'
	'$(BUILD_DIR)/ptrace' completions fish > '$(D)$(FISHCOMPDIR)/ptrace.fish'
	cd '$(D)$(MANDIR)/man1' && chmod 644 $(MANPAGES)
	chmod 644 '$(D)$(BASHCOMPDIR)/ptrace' '$(D)$(ZSHCOMPDIR)/_ptrace' '$(D)$(FISHCOMPDIR)/ptrace.fish'
	for file in $(PKGDATA); do \
	  install -m 644 "$$file" "$(D)$(PKGDATADIR)/$$file" || exit 1; done

# Removes the files; then the folders only libptrace uses (include/ptrace, PKGDATADIR) and
# LIBDIR/.debug if nothing else is in it. Shared folders (bin, lib, share/man/man1...) stay.
uninstall:
	rm -f '$(D)$(BINDIR)/ptrace'
	rm -f '$(D)$(LIBDIR)/$(LIBRARY)' '$(D)$(LIBDIR)/$(SONAME)' '$(D)$(LIBDIR)/libptrace.so'
	rm -f '$(D)$(LIBDIR)/.debug/$(LIBRARY).debug'
	rm -f '$(D)$(PKGCONFIGDIR)/libptrace.pc'
	for header in $(HEADERS); do rm -f "$(D)$(INCLUDEDIR)/$$header"; done
	for page in $(MANPAGES); do rm -f "$(D)$(MANDIR)/man1/$$page"; done
	rm -f '$(D)$(BASHCOMPDIR)/ptrace' '$(D)$(ZSHCOMPDIR)/_ptrace' '$(D)$(FISHCOMPDIR)/ptrace.fish'
	for file in $(PKGDATA); do rm -f "$(D)$(PKGDATADIR)/$$file"; done
	for dir in '$(D)$(INCLUDEDIR)/ptrace' '$(D)$(PKGDATADIR)/lua' '$(D)$(PKGDATADIR)/schema' \
	  '$(D)$(PKGDATADIR)' '$(D)$(LIBDIR)/.debug'; do \
	  if [ -d "$$dir" ]; then rmdir "$$dir" 2>/dev/null || echo "kept $$dir: not empty"; fi; done

clean:
	$(CARGO) clean --release
