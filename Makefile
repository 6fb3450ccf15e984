# Common tasks. `make run` builds and opens Neovim with the plugin from this checkout;
# `make test` installs the test Neovims if missing and runs every test on each.
.PHONY: build run test lint fmt bench clean

build:
	cargo build --release

run: build
	nvim --cmd "set rtp^=$(CURDIR)" -c "lua require('zen').setup()"

test:
	bash scripts/test.sh

lint:
	cargo fmt --check
	cargo clippy --release --all-targets -- -D warnings

fmt:
	cargo fmt

bench: build
	cargo bench --bench stream

clean:
	cargo clean
