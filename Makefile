# certkeep build. GNU make; dependencies through pkg-config.
#   make            release build (build/release/certkeep)
#   make debug      -O0 -g build (build/debug)
#   make test       bootstrap, build, unit and integration tests
#   make asan       unit + integration tests under ASan and UBSan (build/asan)
#   make fuzz       each libFuzzer harness for FUZZ_TIME seconds
#   make bench      benchmarks (not part of the tests)
#   make run        bootstrap, build, set up ./var, import, serve (scripts/run)
#   make format / format-check

BUILD ?= release
B := build/$(BUILD)
PKGS := libcrypto libssl sqlite3 libevent libevent_openssl libevent_pthreads inih jansson libcurl libpsl
CC ?= cc
ifeq ($(CC),cc)
CC := gcc
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
BASE_CFLAGS := -std=c17 -D_GNU_SOURCE -Isrc -I$(B)/gen $(WARN) $(PKG_CFLAGS) -MMD -MP
ifeq ($(BUILD),release)
OPT := -O2 -g
else ifeq ($(BUILD),debug)
OPT := -O0 -g3
else ifeq ($(BUILD),asan)
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDSAN := -fsanitize=address,undefined
endif
ALL_CFLAGS := $(BASE_CFLAGS) $(OPT) $(CFLAGS)
LDLIBS := $(PKG_LIBS) -lresolv -lpthread -lm

LIB_SRC := $(sort $(filter-out src/cli/main.c,$(wildcard src/*/*.c)))
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o) $(B)/gen/migrations.o $(B)/gen/openapi.o
MIGRATIONS := $(sort $(wildcard src/store/migrations/*.sql))
UNIT_SRC := $(sort $(wildcard tests/unit/*/*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
BIN := $(B)/certkeep

.PHONY: all debug asan test unit integration run bench bench-serve bench-scan bench-renew bench-deploy bench-acme bench-agent fuzz format format-check bootstrap clean man
all: $(BIN)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# A migration added with an older timestamp would not make migrations.c
# stale by time alone: the list of names is a dependency too, rewritten
# only when it changes.
MIG_LIST := $(B)/gen/migrations.list
$(shell mkdir -p $(B)/gen && { echo '$(MIGRATIONS)' | cmp -s - $(MIG_LIST) || echo '$(MIGRATIONS)' > $(MIG_LIST); })
$(B)/gen/migrations.c: $(MIGRATIONS) $(MIG_LIST) scripts/embed-sql
	@mkdir -p $(dir $@)
	sh scripts/embed-sql $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(B)/gen/migrations.o: $(B)/gen/migrations.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/gen/openapi.c: docs/openapi.yaml scripts/embed-text
	@mkdir -p $(dir $@)
	sh scripts/embed-text ck_api_openapi_yaml $< > $@.tmp && mv $@.tmp $@

$(B)/gen/openapi.o: $(B)/gen/openapi.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libcertkeep.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(B)/src/cli/main.o $(B)/libcertkeep.a
	$(CC) $(OPT) $(LDSAN) -o $@ $^ $(LDLIBS)

$(B)/tests/%: tests/unit/%.c $(B)/libcertkeep.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(B)/libcertkeep.a $(LDSAN) $(LDLIBS) -lcriterion

debug:
	$(MAKE) BUILD=debug all

bootstrap:
	@sh scripts/bootstrap

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t --jobs 2 --short-filename; done

integration: $(BIN)
	@CERTKEEP=$(abspath $(BIN)) sh tests/integration/run-all

test: bootstrap
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) integration

asan: bootstrap
	$(MAKE) BUILD=asan all
	@# Criterion records a result before LeakSanitizer reports at exit,
	@# so a leaking test would pass: the log is checked as well.
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(MAKE) BUILD=asan unit \
	  >build/asan/unit.log 2>&1; st=$$?; cat build/asan/unit.log; [ $$st = 0 ] || exit $$st; \
	  if grep -qE 'ERROR: (Leak|Address)Sanitizer|runtime error' build/asan/unit.log; then \
	    echo "asan: sanitizer reports in the unit tests (build/asan/unit.log)"; exit 1; fi
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(MAKE) BUILD=asan integration

PATHS ?= /etc/ssl /usr/share/ca-certificates /usr/local/share/ca-certificates
run: bootstrap
	$(MAKE) all
	@sh scripts/run $(BIN) $(PATHS)

# Fuzzing: clang's libFuzzer over the same sources. The library is
# compiled once (fuzzer coverage without libFuzzer's main) and every
# harness links it: compiling all of it per harness took over a minute
# each. `make -j2 fuzz` builds the objects in parallel.
FUZZ_TIME ?= 20
FUZZ_SRC := $(sort $(wildcard tests/fuzz/*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_FLAGS := -std=c17 -D_GNU_SOURCE -Isrc -Ibuild/fuzz/gen -g -O1 $(PKG_CFLAGS)
FUZZ_CFLAGS := $(FUZZ_FLAGS) -fsanitize=fuzzer,address,undefined
FUZZ_LIB_CFLAGS := $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP
FUZZ_OBJ := $(LIB_SRC:%.c=build/fuzz/obj/%.o) build/fuzz/obj/gen/migrations.o build/fuzz/obj/gen/openapi.o
build/fuzz/gen/migrations.c: $(MIGRATIONS) scripts/embed-sql
	@mkdir -p $(dir $@)
	sh scripts/embed-sql $(MIGRATIONS) > $@
build/fuzz/gen/openapi.c: docs/openapi.yaml scripts/embed-text
	@mkdir -p $(dir $@)
	sh scripts/embed-text ck_api_openapi_yaml $< > $@
build/fuzz/obj/gen/%.o: build/fuzz/gen/%.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_LIB_CFLAGS) -c -o $@ $<
build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_LIB_CFLAGS) -c -o $@ $<
build/fuzz/libcertkeep.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^
build/fuzz/%: tests/fuzz/%.c build/fuzz/libcertkeep.a
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $< build/fuzz/libcertkeep.a $(LDLIBS)
fuzz: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); \
	  mkdir -p build/fuzz/corpus/$$n; \
	  echo "== fuzz $$n for $(FUZZ_TIME)s"; \
	  $$f -max_total_time=$(FUZZ_TIME) -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 build/fuzz/corpus/$$n tests/fuzz/corpus/$$n 2>build/fuzz/$$n.log \
	    || { tail -50 build/fuzz/$$n.log; exit 1; }; \
	  grep -E 'stat::number_of_executed_units|stat::peak_rss' build/fuzz/$$n.log; done

bench: all
	$(MAKE) -C bench B=$(abspath $(B))
	CERTKEEP=$(abspath $(BIN)) bash bench/serve.sh
	CERTKEEP=$(abspath $(BIN)) bash bench/scan.sh
	CERTKEEP=$(abspath $(BIN)) bash bench/renew.sh
	CERTKEEP=$(abspath $(BIN)) bash bench/acme.sh

bench-renew: all
	$(MAKE) -C bench B=$(abspath $(B)) build
	CERTKEEP=$(abspath $(BIN)) bash bench/renew.sh

bench-scan: all
	CERTKEEP=$(abspath $(BIN)) bash bench/scan.sh

bench-serve: all
	CERTKEEP=$(abspath $(BIN)) bash bench/serve.sh

bench-deploy: all
	CERTKEEP=$(abspath $(BIN)) bash bench/deploy.sh

bench-acme: all
	$(MAKE) -C bench B=$(abspath $(B)) build
	CERTKEEP=$(abspath $(BIN)) bash bench/acme.sh

bench-agent: all
	CERTKEEP=$(abspath $(BIN)) bash bench/agent.sh

FMT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FMT_FILES)
format-check:
	@out=$$(for f in $(FMT_FILES); do clang-format --dry-run -Werror $$f 2>&1 >/dev/null || echo $$f; done); \
	  if [ -n "$$out" ]; then echo "unformatted (run make format):"; echo "$$out"; exit 1; fi; echo "format ok"

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
