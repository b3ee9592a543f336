# Effective Concurrency in C: one Makefile for the whole workbook.
#
#   make                 build every program (item54/race from item54/race.c, ...)
#   make item54          build one item's programs (likewise item52 ... item64; item57 builds item56-60)
#   make test            build, then run the bats suite; ends with "N passed, M failed"
#   make check           the same suite under ASan+UBSan (build/asan/) and TSan (build/tsan/)
#   make bench           the performance tables (bench/*.sh)
#   make clean, make format
#   make STRICT=1        warnings are errors (CI);  make CC=clang  builds with clang
#   make AIO_SWITCH=ucontext   common/aio switches with swapcontext, not assembly
#
# Layout rules (no per-directory Makefiles to edit):
#   common/*.c                      -> libcommon.a, linked into everything
#   itemNN/foo.c with itemNN/foo.h  -> a shared part of that item (life.c), linked into its programs
#   itemNN/foo.c otherwise          -> the program itemNN/foo
#   tests/unit/foo.c                -> the unit-test program tests/unit/foo (links every item's shared parts)
#   bench/foo.c                     -> the measuring program bench/foo, and bench/foo_ucontext: the
#                                      same linked with common/aio's ucontext switch (make bench
#                                      compares the two)
#
# VARIANT=asan|tsan builds the same tree with sanitizers into build/VARIANT/
# (build/tsan/item54/race); `make check` does that itself. In-tree binaries are
# never sanitized.

CC ?= cc
VARIANT ?=

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
# -fstack-clash-protection: a frame bigger than a page probes each page it
# skips, so it cannot step over a coroutine stack's guard page (common/aio)
# into the stack below it without faulting.
CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -pthread -fstack-clash-protection $(WARN)
ifeq ($(STRICT),1)
CFLAGS += -Werror
endif
CPPFLAGS := -Icommon -MMD -MP
LDLIBS := -lm

# AIO_SWITCH=ucontext: common/aio's tasks switch stacks with glibc's
# swapcontext instead of the assembly switch (part of the flags stamp below,
# so changing it rebuilds everything).
AIO_SWITCH ?= asm
ifeq ($(AIO_SWITCH),ucontext)
CPPFLAGS += -DAIO_SWITCH_UCONTEXT
else ifneq ($(AIO_SWITCH),asm)
$(error AIO_SWITCH must be asm or ucontext, not '$(AIO_SWITCH)')
endif

# Sanitized builds: -O1 keeps the reports' stack traces readable. Programs are
# linked with $(CFLAGS), so the -fsanitize flags reach the linker too.
ifeq ($(VARIANT),asan)
CFLAGS := $(filter-out -O2,$(CFLAGS)) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
          -fno-sanitize-recover=all
else ifeq ($(VARIANT),tsan)
CFLAGS := $(filter-out -O2,$(CFLAGS)) -O1 -fsanitize=thread
else ifneq ($(VARIANT),)
$(error VARIANT must be asan, tsan or empty, not '$(VARIANT)')
endif

ifeq ($(VARIANT),)
OUT := build/obj
BINPREFIX :=
else
OUT := build/$(VARIANT)/obj
BINPREFIX := build/$(VARIANT)/
endif

ITEMS := $(sort $(patsubst %/,%,$(dir $(wildcard item*/*.c))))
COMMON_SRCS := $(wildcard common/*.c)
ITEM_PART_SRCS := $(foreach h,$(wildcard item*/*.h),$(wildcard $(h:.h=.c)))
PROG_SRCS := $(filter-out $(ITEM_PART_SRCS),$(wildcard item*/*.c))
UNIT_SRCS := $(wildcard tests/unit/*.c)
BENCH_SRCS := $(wildcard bench/*.c)

LIBCOMMON := $(OUT)/libcommon.a
LIBITEMS := $(OUT)/libitems.a
PROGS := $(addprefix $(BINPREFIX),$(PROG_SRCS:.c=))
UNITS := $(addprefix $(BINPREFIX),$(UNIT_SRCS:.c=))
BENCHES := $(addprefix $(BINPREFIX),$(BENCH_SRCS:.c=) $(BENCH_SRCS:.c=_ucontext))

.PHONY: all test check bench clean format FORCE $(ITEMS)
all: $(PROGS) $(UNITS) $(BENCHES)

# The compiler and flags that built the objects (the idea of git's GIT-CFLAGS).
# The file is rewritten only when they change, so `make STRICT=1` or
# `make CC=clang` after a plain `make` rebuilds everything instead of leaving
# objects from another compiler or without -Werror in place; it says so in one
# line. The value is quoted for the shell whatever it holds (a ' included).
FLAGS_STAMP := $(OUT)/flags
BUILD_FLAGS := $(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(LDLIBS)
shell_quote = '$(subst ','\'',$(1))'
$(FLAGS_STAMP): FORCE
	@mkdir -p $(@D)
	@if [ "$$(cat $@ 2>/dev/null)" != $(call shell_quote,$(BUILD_FLAGS)) ]; then \
	    if [ -e $@ ]; then echo "$@: the compiler or flags changed, so everything is rebuilt"; fi; \
	    printf '%s\n' $(call shell_quote,$(BUILD_FLAGS)) >$@; \
	fi

$(OUT)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBCOMMON): $(COMMON_SRCS:%.c=$(OUT)/%.o)
	@rm -f $@
	ar rcs $@ $^

$(LIBITEMS): $(ITEM_PART_SRCS:%.c=$(OUT)/%.o)
	@rm -f $@
	ar rcs $@ $^

# A program links its own object, its directory's shared parts, and libcommon.
define program
$(BINPREFIX)$(1): $(OUT)/$(1).o $(patsubst %.c,$(OUT)/%.o,$(filter $(dir $(1))%,$(ITEM_PART_SRCS))) $(LIBCOMMON)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach p,$(PROG_SRCS:.c=),$(eval $(call program,$(p))))

define unit
$(BINPREFIX)$(1): $(OUT)/$(1).o $(LIBITEMS) $(LIBCOMMON)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach u,$(UNIT_SRCS:.c=),$(eval $(call unit,$(u))))
$(UNIT_SRCS:%.c=$(OUT)/%.o): CPPFLAGS += $(addprefix -I,$(ITEMS))

# common/aio_task.c once more with the ucontext switch; linked ahead of
# libcommon, its symbols are the ones used, and the archive's aio_task.o is
# never pulled in.
$(OUT)/common/aio_task_ucontext.o: common/aio_task.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -DAIO_SWITCH_UCONTEXT $(CFLAGS) -c -o $@ $<

define bench
$(BINPREFIX)$(1): $(OUT)/$(1).o $(LIBCOMMON)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
$(BINPREFIX)$(1)_ucontext: $(OUT)/$(1).o $(OUT)/common/aio_task_ucontext.o $(LIBCOMMON)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach b,$(BENCH_SRCS:.c=),$(eval $(call bench,$(b))))

# make item54: just that item's programs.
$(foreach d,$(ITEMS),$(eval $(d): $(addprefix $(BINPREFIX),$(filter $(d)/%,$(PROG_SRCS:.c=)))))
# make item57: an item inside a shared directory (item56-60, item61-63) builds that directory.
RANGE_DIRS := $(foreach d,$(ITEMS),$(if $(findstring -,$(d)),$(d)))
item_numbers = $(shell seq $(subst -, ,$(1:item%=%)))
ITEM_ALIASES := $(foreach d,$(RANGE_DIRS),$(addprefix item,$(call item_numbers,$(d))))
.PHONY: $(ITEM_ALIASES)
$(foreach d,$(RANGE_DIRS),$(foreach n,$(call item_numbers,$(d)),$(eval item$(n): $(d))))

test: all
	@tests/run

# The whole suite twice more, against sanitized builds of every program.
check:
	$(MAKE) VARIANT=asan all
	$(MAKE) VARIANT=tsan all
	@tests/run-check

bench: all
	@bench/run

clean:
	rm -rf build $(PROGS) $(UNITS) $(BENCHES)

format:
	clang-format -i $(COMMON_SRCS) $(wildcard common/*.h item*/*.[ch] tests/unit/*.[ch] bench/*.c)

# -MMD -MP wrote one .d file per object: the headers it includes.
-include $(patsubst %.c,$(OUT)/%.d,$(COMMON_SRCS) $(ITEM_PART_SRCS) $(PROG_SRCS) $(UNIT_SRCS) \
                                   $(BENCH_SRCS)) $(OUT)/common/aio_task_ucontext.d
