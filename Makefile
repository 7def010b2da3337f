# The front door. `make up` runs the whole stack under LocalStack (no Docker needed) and
# `make test` runs every test against it; see README.md.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c

# Tools, builds and caches live outside the clone, so later runs and other clones reuse them.
export ICP_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/icp-license
export CARGO_TARGET_DIR ?= $(ICP_CACHE)/target
# The cargo profile `make build` compiles and `make up` deploys: dev for the test loop, release
# for `make bench` (and what AWS gets, through `make deploy`).
PROFILE ?= dev
export CARGO_PROFILE_DIR := $(if $(filter dev,$(PROFILE)),debug,$(PROFILE))

.PHONY: help toolchain install build up down logs status test unit-test lint demo conformance console-test bench deploy destroy

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /\1\t/' | expand -t 14

toolchain: ## The Rust toolchain rust-toolchain.toml pins (installed, or the same-version stable linked)
	infra/local/toolchain.sh

install: toolchain ## Install LocalStack, DynamoDB Local and the Lambda executor (pinned, into $ICP_CACHE)
	infra/local/install.sh

build: toolchain ## Build every function (PROFILE=dev: fast to build, argon2 optimised; PROFILE=release)
	cargo build --workspace --bins --profile $(PROFILE)

up: install build ## Start LocalStack, deploy the stack, seed the demo data
	infra/local/up.sh

down: ## Stop everything `make up` started
	infra/local/stop.sh

status: ## Is the stack running?
	infra/local/status.sh

logs: ## Follow the functions' logs (LOGS_FOLLOW=0 to print and exit)
	infra/local/logs.sh

demo: ## On a running stack: each request type from submit to completed, with its SMS and emails
	infra/local/demo.sh

conformance: ## On a running stack: schemathesis holds the API to infra/openapi.yaml
	infra/local/conformance.sh

console-test: ## On a running stack: the web console in Debian's Chromium (Playwright)
	infra/local/console_test.sh

unit-test: toolchain ## Tests that need no stack
	cargo test --workspace

test: toolchain ## Unit tests, then the stack's tests (starts the stack if it is not running, stops it after)
	infra/local/test.sh

lint: toolchain ## rustfmt, clippy, dependencies (machete, deny), the template, the state machine, the API examples
	infra/local/install.sh lint
	infra/local/lint.sh

bench: toolchain ## Release build, a fresh stack, then cold starts, latencies, load, sizes vs a hello-world baseline
	bench/run.sh

deploy: toolchain ## Build with cargo lambda and deploy to AWS with SAM, showing the change set first (settings: see infra/deploy.sh)
	infra/deploy.sh

destroy: ## Delete the AWS stack after asking; its data tables are kept unless DELETE_DATA=1 (see infra/destroy.sh)
	infra/destroy.sh
