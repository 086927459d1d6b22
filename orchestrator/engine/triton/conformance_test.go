package triton_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestConformance runs pz serve's gRPC side past two independent gRPC
// stacks, Debian's python3-grpcio and npm's @grpc/grpc-js
// (scripts/conformance), when they are installed; it skips, saying what
// is missing, when not.
func TestConformance(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	script := filepath.Join(root, "scripts", "conformance", "run.sh")
	var missing []string
	if _, err := exec.LookPath("protoc"); err != nil {
		missing = append(missing, "protoc (apt-get install protobuf-compiler)")
	}
	if exec.Command("/usr/bin/python3", "-c", "import grpc, google.protobuf").Run() != nil {
		missing = append(missing, "python3-grpcio/python3-protobuf (apt-get install python3-grpcio python3-protobuf)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node")
	}
	mods := os.Getenv("PZ_CONFORMANCE_NODE_MODULES")
	if mods == "" {
		mods = filepath.Join(root, "scripts", "conformance", "node_modules")
	}
	if _, err := os.Stat(filepath.Join(mods, "@grpc", "grpc-js")); err != nil {
		missing = append(missing, "@grpc/grpc-js (npm install --prefix scripts/conformance)")
	}
	if len(missing) > 0 {
		t.Skip("conformance stacks not installed: " + strings.Join(missing, ", "))
	}
	f := newFixture(t, "conf-token")
	abs, err := filepath.Abs(mods)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", script, strings.TrimPrefix(f.grpc, "grpc://"), "conf-token", "pz", strconv.Itoa(f.cfg.VocabSize))
	cmd.Env = append(os.Environ(), "PZ_CONFORMANCE_NODE_MODULES="+abs)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("conformance: %v", err)
	}
	if strings.Count(string(out), " 0 failed") != 2 {
		t.Fatalf("both stacks must report 0 failed:\n%s", out)
	}
}
