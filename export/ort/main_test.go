package ort

import (
	"fmt"
	"os"
	"testing"
)

// testRT is the runtime every test shares: ORT loads once per process.
var testRT *Runtime

// childEnv, when set, makes the test binary a child process that must not
// load the real library (see TestInitBadLibraryChild).
const childEnv = "PZ_ORT_TEST_CHILD_LIB"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "" && os.Getenv(cudaChildEnv) == "" {
		lib, err := FindLibrary("")
		switch {
		case err != nil && os.Getenv("CI") == "":
			fmt.Fprintf(os.Stderr, "export/ort: skipping tests that need ONNX Runtime: %v\n", err)
		case err != nil:
			fmt.Fprintf(os.Stderr, "export/ort: CI is set and the ONNX Runtime library is missing: %v\n", err)
			os.Exit(1)
		default:
			if testRT, err = Init(Options{LibraryPath: lib}); err != nil {
				fmt.Fprintf(os.Stderr, "export/ort: %v\n", err)
				os.Exit(1)
			}
		}
	}
	os.Exit(m.Run())
}

// needRT returns the shared runtime or skips (TestMain already failed the
// run in CI if the library is missing).
func needRT(t testing.TB) *Runtime {
	t.Helper()
	if testRT == nil {
		t.Skip("ONNX Runtime library not found; run bash scripts/setup-ort.sh")
	}
	return testRT
}

// mustSession loads a model or fails the test.
func mustSession(t testing.TB, model []byte, opts SessionOptions) *Session {
	t.Helper()
	s, err := needRT(t).NewSession(model, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
