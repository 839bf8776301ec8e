# The two commands a new user runs: `make demo` and `make test`.
.PHONY: bootstrap build test demo bench bench-proxy-throughput clean

bootstrap:
	./scripts/bootstrap.sh

build: bootstrap
	npx tsc -p tsconfig.json

test: build
	./scripts/test.sh

demo: build
	node bin/bulwark.js demo

bench: build
	@for b in bench/*/run.sh; do echo "== $$b"; $$b || exit 1; done

bench-%: build
	bench/$*/run.sh

clean:
	rm -rf dist
