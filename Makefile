# The two commands a new user runs: `make demo` and `make test`.
.PHONY: bootstrap build test test-workers demo bench clean

bootstrap:
	./scripts/bootstrap.sh

build: bootstrap
	./scripts/build-native.sh
	npx tsc -p tsconfig.json

test: build
	./scripts/test.sh

# The tests that start proxies, alone, with two worker processes, the default on a 2-core machine (`make test` runs them too).
test-workers: build
	./scripts/test.sh --workers-only

demo: build
	node bin/bulwark.js demo

bench: build
	@for b in bench/*/run.sh; do echo "== $$b"; $$b || exit 1; done

# One target per benchmark (a static pattern rule: plain pattern rules are skipped for .PHONY targets).
BENCHES := $(patsubst bench/%/run.sh,bench-%,$(wildcard bench/*/run.sh))
.PHONY: $(BENCHES)
$(BENCHES): bench-%: build
	bench/$*/run.sh

clean:
	rm -rf dist
