# kgate: a Kong-compatible, DB-less API gateway in Swift.
#
#   make run    install what is missing, build (release), start a node on kong.yml
#   make test   install what is missing, run the test suite (debug)
#
# Nothing here needs more than Swift and apt: `deps` installs the C libraries
# (libyaml, PCRE2, zlib, brotli, OpenSSL, LuaJIT) and pkg-config when dpkg says they are missing.

SHELL        := /bin/bash
SWIFT        ?= swift
APT_PACKAGES := libyaml-dev libpcre2-dev zlib1g-dev libbrotli-dev libssl-dev libluajit-5.1-dev pkg-config
# What the tests start themselves: a real Redis for the rate-limiting plugins' redis policy
# (and openssl for its TLS certificate).
TEST_PACKAGES := redis-server openssl
KGATE        := ./.build/release/kgate
CONFIG       ?= kong.yml
# Release builds (every module, dependencies included) skip Swift's dynamic exclusivity checks:
# they are debug-time checks of programming errors (on in debug and in `make test`), and on
# the proxy's per-request path SwiftNIO's checks alone cost about 5% of the CPU per request
# (`make bench-proxy`). Every release command passes the same flags, so none rebuilds the others.
RELEASE      := -c release -Xswiftc -enforce-exclusivity=unchecked

# sudo only when we are not root (containers usually are; laptops usually are not).
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)

.PHONY: all deps test-deps build run test bench-config bench-reload bench-router bench-proxy bench fuzz-proxy clean help

all: build

help:
	@echo "make deps          install missing apt packages ($(APT_PACKAGES))"
	@echo "make build         release build: $(KGATE)"
	@echo "make run           deps + build + '$(KGATE) start --declarative-config $(CONFIG)'"
	@echo "make test          deps + test-deps ($(TEST_PACKAGES)) + swift test (debug)"
	@echo "make bench-config  release build + the declarative config benchmark"
	@echo "make bench         every benchmark"
	@echo "make clean         remove .build"

# Installs the packages of $(1) that dpkg says are missing (target name $(2)). RUNLEVEL=1 keeps a
# package from starting a system-wide server (redis-server: the tests start their own).
define apt_install
	@missing=""; \
	for p in $(1); do \
	  dpkg -s "$$p" >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "$(2): installing$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	  echo "$(2): $(1) already installed"; \
	fi
endef

deps:
	$(call apt_install,$(APT_PACKAGES),deps)

test-deps:
	$(call apt_install,$(TEST_PACKAGES),test-deps)

build: deps
	$(SWIFT) build $(RELEASE) --product kgate

# Validates the shipped config, then runs a node on it in the foreground (Ctrl-C stops it).
run: deps build
	$(KGATE) config parse $(CONFIG)
	$(KGATE) start --declarative-config $(CONFIG)

test: deps test-deps
	$(SWIFT) test --no-parallel

# The declarative config benchmark (release build; `swift run` builds what it needs).
bench-config: deps build
	$(SWIFT) run $(RELEASE) kgate-bench-config $(KGATE)

# Hot reload: file write → live hash for 10,000 routes, peak RSS during reloads, RSS over 1,000 reloads.
bench-reload: deps build
	$(SWIFT) run $(RELEASE) kgate-bench-reload $(KGATE)

# The router benchmark: a package of its own (Benchmarks/RouterBench), never part of `make test`.
bench-router: deps
	cd Benchmarks/RouterBench && $(SWIFT) run -c release RouterBench

# The proxy against nginx's reverse proxy, side by side (installs nginx and wrk if missing).
bench-proxy: deps
	Benchmarks/ProxyBench/run.sh

bench: bench-config bench-reload bench-router bench-proxy

# Mutation-fuzzes the proxy listener of a release node (REQUESTS, FUZZERS, SEED); not in `test`.
fuzz-proxy: deps build
	Tests/Fuzz/run.sh

clean:
	rm -rf .build
