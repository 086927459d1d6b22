package ort

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func touch(t *testing.T, p string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFindLibrary(t *testing.T) {
	repo := t.TempDir()
	touch(t, filepath.Join(repo, "go.mod"))
	cached := touch(t, filepath.Join(repo, ".cache/ort/current/libonnxruntime.so"))
	cudaCached := touch(t, filepath.Join(repo, ".cache/ort/cuda/libonnxruntime.so"))
	flagLib := touch(t, filepath.Join(t.TempDir(), "flag.so"))
	envLib := touch(t, filepath.Join(t.TempDir(), "env.so"))
	empty := t.TempDir()
	touch(t, filepath.Join(empty, "go.mod"))
	userCache := t.TempDir()
	userLib := touch(t, filepath.Join(userCache, "pz/ort/current/libonnxruntime.so"))
	noCache := t.TempDir()

	tests := []struct {
		name, dir, device, flag, env string
		xdg                          string // $XDG_CACHE_HOME; "" = an empty one
		want                         string // path, or "" for an error
		errHas                       []string
	}{
		{name: "flag wins", dir: repo, flag: flagLib, env: envLib, want: flagLib},
		{name: "env over cache", dir: repo, env: envLib, want: envLib},
		{name: "cache from the module root", dir: repo, want: cached},
		{name: "cache from a subdirectory", dir: filepath.Join(repo, "export/ort"), want: cached},
		{name: "cuda cache", dir: repo, device: DeviceCUDA, want: cudaCached},
		{name: "missing flag file", dir: repo, flag: filepath.Join(repo, "nope.so"), errHas: []string{"--ort-lib=", "nope.so", "setup-ort.sh"}},
		{name: "missing env file", dir: repo, env: "/nonexistent/lib.so", errHas: []string{"PZ_ORT_LIB=/nonexistent/lib.so", "setup-ort.sh"}},
		{name: "nothing anywhere", dir: filepath.Join(empty), errHas: []string{"ONNX Runtime library not found", empty, "make setup", "bash scripts/setup-ort.sh", "PZ_ORT_LIB"}},
		{name: "nothing for cuda", dir: empty, device: DeviceCUDA, errHas: []string{"setup-ort-cuda.sh"}},
		{name: "per-user cache outside a checkout", dir: empty, xdg: userCache, want: userLib},
		{name: "the checkout's cache before the user's", dir: repo, xdg: userCache, want: cached},
		{name: "no cuda in the user cache", dir: empty, device: DeviceCUDA, xdg: userCache, errHas: []string{filepath.Join(userCache, "pz/ort/cuda/libonnxruntime.so")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.MkdirAll(tt.dir, 0o755); err != nil {
				t.Fatal(err)
			}
			t.Chdir(tt.dir)
			t.Setenv(LibraryEnv, tt.env)
			xdg := tt.xdg
			if xdg == "" {
				xdg = noCache
			}
			t.Setenv("XDG_CACHE_HOME", xdg)
			dev := tt.device
			if dev == "" {
				dev = DeviceCPU
			}
			got, err := FindDeviceLibrary(dev, tt.flag)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Errorf("got %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %q, want an error", got)
			}
			if !errors.Is(err, ErrLibraryNotFound) {
				t.Errorf("error %v is not ErrLibraryNotFound", err)
			}
			for _, w := range tt.errHas {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestResolveDevice(t *testing.T) {
	tests := []struct{ flag, env, want, err string }{
		{"", "", DeviceCPU, ""},
		{"", "cuda", DeviceCUDA, ""},
		{"cpu", "cuda", DeviceCPU, ""},
		{"CUDA", "", DeviceCUDA, ""},
		{"", "tpu", "", "PZ_DEVICE: unknown device \"tpu\""},
		{"npu", "", "", "--device: unknown device \"npu\""},
	}
	for _, tt := range tests {
		t.Setenv(DeviceEnv, tt.env)
		got, err := ResolveDevice(tt.flag)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("ResolveDevice(%q) with %s=%q = %q, %v; want %q, %q", tt.flag, DeviceEnv, tt.env, got, err, tt.want, tt.err)
		}
	}
}

// fakeLib compiles a shared library that exports OrtGetApiBase (whose API
// table offers no C API version), optionally with ELF symbol version
// VERS_<version> as official ONNX Runtime builds have.
func fakeLib(t *testing.T, version string) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler to build a fake library")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "fake.c")
	code := `
typedef struct { const void* (*GetApi)(unsigned); const char* (*GetVersionString)(void); } Base;
static const void* get_api(unsigned v) { return 0; }
static const char* version(void) { return "0.0.0"; }
static Base base = { get_api, version };
const Base* OrtGetApiBase(void) { return &base; }
`
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-shared", "-fPIC", "-o", filepath.Join(dir, "libonnxruntime.so"), src}
	if version != "" {
		vs := filepath.Join(dir, "vers.map")
		if err := os.WriteFile(vs, []byte("VERS_"+version+" { global: OrtGetApiBase; local: *; };\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-Wl,--version-script="+vs)
	}
	if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Skipf("cannot build a fake library: %v\n%s", err, out)
	}
	return filepath.Join(dir, "libonnxruntime.so")
}

func TestCheckLibrary(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "libonnxruntime.so")
	if err := os.WriteFile(text, []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		sentinel   error
		errHas     []string
	}{
		{"missing", filepath.Join(dir, "none.so"), ErrLibraryNotFound, []string{"none.so does not exist", "setup-ort.sh"}},
		{"directory", dir, ErrBadLibrary, []string{"is a directory"}},
		{"text file", text, ErrBadLibrary, []string{text, "not an ELF shared library", "setup-ort.sh"}},
		{"too old", fakeLib(t, "1.20.0"), ErrBadLibrary, []string{"ONNX Runtime 1.20.0 is older than 1.29.0", "setup-ort.sh"}},
	}
	if libc := "/lib/x86_64-linux-gnu/libc.so.6"; fileExists(libc) {
		tests = append(tests, struct {
			name, path string
			sentinel   error
			errHas     []string
		}{"another library", libc, ErrBadLibrary, []string{libc, "does not export OrtGetApiBase"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CheckLibrary(tt.path)
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want %v", err, tt.sentinel)
			}
			for _, w := range tt.errHas {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if v, err := CheckLibrary(fakeLib(t, "1.31.2")); err != nil || v != "1.31.2" {
		t.Errorf("versioned fake: %q, %v", v, err)
	}
	if v, err := CheckLibrary(fakeLib(t, "")); err != nil || v != "" {
		t.Errorf("unversioned fake: %q, %v (want no version, checked after loading)", v, err)
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestInitVersion(t *testing.T) {
	rt := needRT(t)
	declared, err := CheckLibrary(rt.LibraryPath())
	if err != nil {
		t.Fatal(err)
	}
	// The version ORT reports through its API must match the one its ELF
	// symbols declare.
	if rt.Version() != declared || declared == "" {
		t.Errorf("Version() = %q, ELF declares %q", rt.Version(), declared)
	}
	again, err := Init(Options{LibraryPath: rt.LibraryPath()})
	if err != nil || again.Version() != rt.Version() {
		t.Errorf("second Init with the same library: %v, %v", again, err)
	}
	// Through a symlink it is the same library.
	link := filepath.Join(t.TempDir(), "libonnxruntime.so")
	if err := os.Symlink(rt.LibraryPath(), link); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(Options{LibraryPath: link}); err != nil {
		t.Errorf("Init through a symlink: %v", err)
	}
	other := touch(t, filepath.Join(t.TempDir(), "libonnxruntime.so"))
	if _, err := Init(Options{LibraryPath: other}); err == nil || !strings.Contains(err.Error(), "already loaded "+rt.LibraryPath()) {
		t.Errorf("Init with another library: err = %v", err)
	}
	if _, err := Init(Options{LibraryPath: rt.LibraryPath(), Device: DeviceCUDA}); err == nil || !strings.Contains(err.Error(), "not a CUDA-enabled build") {
		t.Errorf("Init cuda with the CPU library: err = %v", err)
	}
}

// TestInitBadLibraryChild loads libraries that pass the file check but that
// ONNX Runtime's loader rejects; each runs in a child process, since this
// process already holds the real library.
func TestInitBadLibraryChild(t *testing.T) {
	if lib := os.Getenv(childEnv); lib != "" {
		_, err := Init(Options{LibraryPath: lib})
		if err == nil {
			t.Fatal("Init accepted the library")
		}
		t.Logf("INIT-ERROR: %v", err)
		if !errors.Is(err, ErrBadLibrary) {
			t.Errorf("err is not ErrBadLibrary")
		}
		return
	}
	lib := fakeLib(t, "") // unversioned: only the loader can tell
	cmd := exec.Command(os.Args[0], "-test.run=^TestInitBadLibraryChild$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+lib)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child failed: %v\n%s", err, out)
	}
	for _, w := range []string{"INIT-ERROR", lib, "does not offer the C API version", "setup-ort.sh"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("child output does not contain %q:\n%s", w, out)
		}
	}
}

// TestCUDALibrary loads the CUDA build that scripts/setup-ort-cuda.sh caches
// in a child process and probes the CUDA device: on a machine without a GPU
// or CUDA 13 runtime the probe must fail with an error, not a crash; with
// one it must pass. Skipped when that library is not installed.
func TestCUDALibrary(t *testing.T) {
	if os.Getenv(cudaChildEnv) != "" {
		lib := os.Getenv(cudaChildEnv)
		rt, err := Init(Options{LibraryPath: lib, Device: DeviceCUDA})
		if err != nil {
			t.Fatalf("Init: %v", err)
		}
		t.Logf("CUDA-LIB-VERSION %s", rt.Version())
		if err := rt.Probe(context.Background(), ""); err != nil {
			t.Logf("PROBE-ERROR: %v", err)
			return
		}
		t.Logf("PROBE-OK")
		return
	}
	lib, err := FindDeviceLibrary(DeviceCUDA, "")
	if err != nil {
		t.Skipf("no CUDA build installed (bash scripts/setup-ort-cuda.sh): %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCUDALibrary$", "-test.v")
	cmd.Env = append(os.Environ(), cudaChildEnv+"="+lib)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child failed: %v\n%s", err, out)
	}
	switch {
	case strings.Contains(string(out), "PROBE-OK"):
		t.Logf("CUDA probe passed")
	case strings.Contains(string(out), "PROBE-ERROR: probe device cuda:"):
		t.Logf("no usable GPU here; the probe failed cleanly:\n%s", out)
	default:
		t.Errorf("unexpected child output:\n%s", out)
	}
}

const cudaChildEnv = "PZ_ORT_TEST_CUDA_CHILD_LIB"

func TestInitConcurrent(t *testing.T) {
	rt := needRT(t)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := Init(Options{LibraryPath: rt.LibraryPath()})
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
