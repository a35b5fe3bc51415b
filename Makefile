# Makefile - builds the spoke agent, its unit tests and fuzzers, and runs the suites.
#
#   make            release build in build/release
#   make test       release + ASan/UBSan builds, unit and e2e tests under both
#   make demo       a local API server, HAProxy, the agent and sample backends
#   make bench      benchmarks that print figures
#   make fuzz       libFuzzer targets, FUZZ_SECONDS each (default 60)
#   make lint       clang-format check + cppcheck;  make format  rewrites
#   make deps       installs missing build/test dependencies (Debian packages)
#   make manifests  regenerates manifests/deploy.yaml from manifests/parts and crds

BUILD ?= release
O := build/$(BUILD)
CC ?= cc
PKGS := libcurl jansson openssl yaml-0.1 libcrypt

# Recursive (=) so pkg-config only runs when compiling, after `make deps`.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS)) -lev -lpthread
WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
BASE_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -Iagent/src $(PKG_CFLAGS)

ifeq ($(BUILD),asan)
MODE_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
MODE_LDFLAGS := -fsanitize=address,undefined
else
MODE_CFLAGS := -O2 -g
MODE_LDFLAGS :=
endif

SRCS := $(shell find agent/src -name '*.c' ! -name main.c | sort)
# Text files compiled into the agent (scripts/embed): the HAProxy template.
GEN_SRCS := $(O)/gen/haproxy_cfg_template.c $(O)/gen/spoe_cfg_template.c
OBJS := $(SRCS:%.c=$(O)/%.o) $(GEN_SRCS:.c=.o)
TEST_SRCS := $(wildcard agent/tests/test_*.c)
TEST_BINS := $(TEST_SRCS:agent/tests/%.c=$(O)/tests/%)
FUZZ_SRCS := $(wildcard agent/fuzz/fuzz_*.c)
FUZZ_SECONDS ?= 60

.PHONY: all fuzz-build test test-unit test-e2e demo demo-stop bench fuzz clean format lint deps check-deps manifests

all: $(O)/spoke $(TEST_BINS)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(MODE_CFLAGS) -MMD -MP -c $< -o $@

$(O)/gen/haproxy_cfg_template.c: haproxy/haproxy.cfg.in scripts/embed
	@mkdir -p $(dir $@)
	scripts/embed haproxy_cfg_template $< > $@

$(O)/gen/spoe_cfg_template.c: haproxy/spoe.cfg.in scripts/embed
	@mkdir -p $(dir $@)
	scripts/embed spoe_cfg_template $< > $@

$(O)/gen/%.o: $(O)/gen/%.c
	$(CC) $(BASE_CFLAGS) $(MODE_CFLAGS) -c $< -o $@

$(O)/libspoke.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(O)/spoke: $(O)/agent/src/main.o $(O)/libspoke.a
	$(CC) $(MODE_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(O)/tests/%: $(O)/agent/tests/%.o $(O)/libspoke.a
	@mkdir -p $(dir $@)
	$(CC) $(MODE_LDFLAGS) -o $@ $^ $(PKG_LIBS)

-include $(OBJS:.o=.d) $(O)/agent/src/main.d $(TEST_SRCS:agent/tests/%.c=$(O)/agent/tests/%.d) \
    $(O)/agent/bench/bench_spoe.d

check-deps:
	@scripts/deps --check || scripts/deps

deps:
	scripts/deps

# The whole suite: both builds, unit + e2e, one summary line at the end.
test: check-deps
	$(MAKE) BUILD=release all
	$(MAKE) BUILD=asan all
	$(MAKE) fuzz-build
	scripts/run-tests

test-unit: check-deps
	$(MAKE) BUILD=release all
	scripts/run-tests --unit-only --builds release

test-e2e: check-deps
	$(MAKE) BUILD=release all
	scripts/run-tests --e2e-only --builds release

demo: check-deps
	$(MAKE) BUILD=release all
	scripts/demo

demo-stop:
	scripts/demo --stop

$(O)/bench/bench_spoe: $(O)/agent/bench/bench_spoe.o $(O)/libspoke.a
	@mkdir -p $(dir $@)
	$(CC) $(MODE_LDFLAGS) -o $@ $^ $(PKG_LIBS)

bench: check-deps
	$(MAKE) BUILD=release all build/release/bench/bench_spoe
	scripts/bench

FUZZ_GEN := build/fuzz/gen/haproxy_cfg_template.c build/fuzz/gen/spoe_cfg_template.c

build/fuzz/%: agent/fuzz/%.c $(SRCS) $(FUZZ_GEN)
	@mkdir -p $(dir $@)
	clang $(BASE_CFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -o $@ $< $(SRCS) $(FUZZ_GEN) $(PKG_LIBS)

build/fuzz/gen/haproxy_cfg_template.c: haproxy/haproxy.cfg.in scripts/embed
	@mkdir -p $(dir $@)
	scripts/embed haproxy_cfg_template $< > $@

build/fuzz/gen/spoe_cfg_template.c: haproxy/spoe.cfg.in scripts/embed
	@mkdir -p $(dir $@)
	scripts/embed spoe_cfg_template $< > $@

fuzz-build: $(FUZZ_SRCS:agent/fuzz/%.c=build/fuzz/%)

fuzz: check-deps fuzz-build
	scripts/fuzz $(FUZZ_SECONDS)

FORMAT_FILES = $(shell find agent -name '*.[ch]' | sort)

format:
	clang-format -i $(FORMAT_FILES)

lint:
	clang-format --dry-run -Werror $(FORMAT_FILES)
	cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
	    --std=c11 --inline-suppr --suppress=missingIncludeSystem -Iagent/src agent/src agent/tests agent/fuzz agent/bench

# The kubectl apply bundle: the Namespace part, the CRDs, then the other parts,
# each in name order, behind a header saying it is generated. Checked in;
# e2e/test_manifests.py fails when it is out of date.
MANIFESTS_OUT ?= manifests/deploy.yaml
MANIFEST_PARTS = $(sort $(wildcard manifests/parts/00-*.yaml)) $(sort $(wildcard crds/*.yaml)) \
    $(sort $(filter-out manifests/parts/00-%,$(wildcard manifests/parts/*.yaml)))
SPOKE_VERSION = $(shell sed -n 's/^\#define SPOKE_VERSION "\(.*\)"$$/\1/p' agent/src/version.h)

manifests:
	@set -e; out='$(MANIFESTS_OUT)'; { \
	    echo '# deploy.yaml - spoke $(SPOKE_VERSION): everything `kubectl apply -f` needs to run spoke in a'; \
	    echo '# cluster. GENERATED by `make manifests` from manifests/parts/*.yaml and crds/*.yaml:'; \
	    echo '# edit those, then run it again. Next: manifests/parameters.yaml, docs/deployment.md.'; \
	    for f in $(MANIFEST_PARTS); do echo '---'; echo "# Source: $$f"; cat "$$f"; done; \
	} > "$$out.tmp"; mv "$$out.tmp" "$$out"; echo "wrote $$out"

clean:
	rm -rf build
