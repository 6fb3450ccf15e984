# Common tasks. `make run` builds and opens Neovim with the plugin from this checkout over your
# own config (installing a Neovim if there is none); `make test` installs the test Neovims if
# missing and runs every test on each. `make helptags` rebuilds doc/tags after editing the help.
.PHONY: build run test lint fmt bench clean helptags

build:
	cargo build --release

run: build
	bash scripts/run.sh

helptags:
	nvim --headless -u NONE -i NONE -c "helptags doc" -c "qa!"

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
