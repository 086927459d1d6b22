# pz — reinforcement active pretraining with ONNX Runtime.
# `make demo` runs the main job on the embedded defaults; `make test` the tests.
GO      ?= go
BIN     := bin/pz
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# Benchmarks: `make bench BENCH=MatMul PKG=./export/ort/` narrows them.
BENCH   ?= .
PKG     ?= ./...

.PHONY: setup build test demo experiment experiment-bios bench vet fmt clean fuzz drill

setup: ## fetch and verify the ONNX Runtime CPU library into .cache/ort
	bash scripts/setup-ort.sh

build: ## build bin/pz
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/pz

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

test: setup vet ## run every test (needs the ORT library: setup does it)
	$(GO) test -count=1 -timeout 15m ./...

demo: setup build ## the main job on the embedded defaults (scripts/demo.sh, ~15 min)
	PZ=./$(BIN) bash scripts/demo.sh

experiment: setup build ## the longer experiment (~30 minutes on 2 cores; not in CI)
	PZ=./$(BIN) bash scripts/experiment.sh

experiment-bios: setup build ## synthetic biographies: 4 arms x 3 seeds on a corpus with known spans (<= 60 min on 2 cores; not in CI)
	PZ=./$(BIN) bash scripts/experiment-bios.sh

bench: setup ## Go benchmarks (figures are read, never asserted)
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem $(PKG)

# Every fuzz target for FUZZTIME each (not part of test). A failure writes
# its input to the package's testdata/fuzz/<Target>/, which then runs in
# every `go test` as a regression case: commit it with the fix.
FUZZTIME ?= 30s
FUZZ_TARGETS := ./models/safetensors:FuzzParseHeader ./models/safetensors:FuzzOpenIndex ./models/gguf:FuzzParse \
	./models:FuzzParseConfig ./orchestrator/traj:FuzzReadFile ./data:FuzzReadDocuments ./cmd/pz:FuzzTrainConfig \
	./models/tokenizer:FuzzEncode ./orchestrator/task:FuzzCompletion ./orchestrator/sample:FuzzSample
fuzz: ## run each fuzz target for FUZZTIME (default 30s)
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; echo "== $$pkg $$fn"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; done

drill: build ## interruption drill: kill and resume pz train, compare bit for bit (scripts/drill.sh)
	PZ=./$(BIN) bash scripts/drill.sh

clean:
	rm -rf bin
