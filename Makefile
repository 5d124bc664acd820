# carerecon - one non-recursive Makefile.  `make V=1` shows full commands.
#
#   make            build ./carerecon
#   make demo       install what is missing, build, run the nightly job on the fixtures
#   make test       install what is missing, build, run the whole suite
#   make asan       the suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make valgrind   the end-to-end tests under memcheck
#   make fuzz       libFuzzer targets for FUZZ_SECONDS each
#   make bench      the benchmark (BENCH_CLAIMS=N), see BENCHMARKS.md
#   make format     clang-format the sources

CC      ?= cc
BUILD   ?= build
PKGS    := xlsxwriter yaml-0.1 sqlite3 libcrypto
CSTD    := -std=c17 -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -pthread
WARN    := -Wall -Wextra -Werror -Wpedantic -Wshadow -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation
OPT     ?= -O2 -g
SAN     ?=
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS_ALL  = $(CSTD) $(WARN) $(OPT) $(SAN) -Iinclude $(PKG_CFLAGS) -MMD -MP $(CFLAGS)
LDLIBS_ALL  = $(PKG_LIBS) -lcsv -lm -pthread $(LDLIBS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC  := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/src/main.o
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
TOOL_SRC := $(wildcard tools/*.c)
TOOLS    := $(TOOL_SRC:tools/%.c=$(BUILD)/%)

.PHONY: all deps demo test check unit asan valgrind fuzz bench format clean checksrc
BIN     ?= carerecon

all: $(BIN) $(BUILD)/unit_tests $(TOOLS)

$(BIN): $(MAIN_OBJ) $(LIB_OBJ)
	@echo "  LINK    $@"
	$(Q)$(CC) $(SAN) -pthread -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/unit_tests: $(UNIT_OBJ) $(LIB_OBJ)
	@echo "  LINK    $@"
	$(Q)$(CC) $(SAN) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/%: tools/%.c $(LIB_OBJ)
	@echo "  LINK    $@"
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS_ALL) -c -o $@ $<

# Install the Debian packages that are missing (needs root or sudo).
deps:
	$(Q)scripts/deps.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

# The whole suite: unit tests, then end-to-end tests over the real binary.
test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/run.sh

unit: all
	$(Q)$(BUILD)/unit_tests

asan: deps
	$(Q)$(MAKE) --no-print-directory BUILD=build/asan BIN=build/asan/carerecon OPT="-O1 -g" \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" all
	$(Q)ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    BUILD=build/asan CARERECON_BIN=build/asan/carerecon CARERECON_SANITIZED=1 tests/run.sh

valgrind: all
	$(Q)CARERECON_WRAP="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite" \
	    tests/run.sh e2e

bench: all
	$(Q)scripts/bench.sh

fuzz:
	$(Q)scripts/fuzz.sh

format:
	$(Q)clang-format -i src/*.c include/*.h tests/unit/*.c tools/*.c

clean:
	rm -rf build carerecon

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_OBJ:.o=.d)
