package ort

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Fake provider libraries, built with the C compiler, stand in for the
// CUDA provider on a machine without a GPU: what pz reads from them (ELF
// symbols, DT_NEEDED) and what ORT does with a plugin that offers no
// device are real.

// fakePlugin exports CreateEpFactories/ReleaseEpFactory creating no
// factory: ORT registers it and lists no device for it.
const fakePlugin = `
#include <stddef.h>
void *CreateEpFactories(const char *name, const void *base, const void *logger, void **factories, size_t max, size_t *n) { *n = 0; return 0; }
void *ReleaseEpFactory(void *f) { return 0; }
`

// fakeBridge exports GetProvider, as classic provider-bridge libraries do.
const fakeBridge = `void *GetProvider(void) { return 0; }`

// buildLib compiles code into dir/name, linked against the libraries in
// needed (each built as an empty stub that is deleted afterwards when
// missing is set, so the result names a library that cannot be found).
func buildLib(t *testing.T, dir, name, code string, needed []string, missing bool) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler to build a fake provider")
	}
	stubs := t.TempDir()
	src := filepath.Join(stubs, "lib.c")
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-shared", "-fPIC", "-o", filepath.Join(dir, name), src, "-Wl,--no-as-needed", "-L" + stubs}
	for _, n := range needed {
		empty := filepath.Join(stubs, "empty.c")
		os.WriteFile(empty, []byte("int pz_stub;\n"), 0o644)
		if out, err := exec.Command(cc, "-shared", "-fPIC", "-Wl,-soname,"+n, "-o", filepath.Join(stubs, n), empty).CombinedOutput(); err != nil {
			t.Skipf("cannot build a stub library: %v\n%s", err, out)
		}
		args = append(args, "-l:"+n)
	}
	if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Skipf("cannot build a fake provider: %v\n%s", err, out)
	}
	if missing {
		for _, n := range needed {
			os.Remove(filepath.Join(stubs, n))
		}
	}
	return filepath.Join(dir, name)
}

func TestProviderKind(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, code     string
		plugin, bridge bool
	}{
		{"plugin.so", fakePlugin, true, false},
		{"bridge.so", fakeBridge, false, true},
		{"both.so", fakePlugin + fakeBridge, true, true},
		{"neither.so", "int x;", false, false},
	} {
		p := buildLib(t, dir, c.name, c.code, nil, false)
		plugin, bridge, err := providerKind(p)
		if err != nil || plugin != c.plugin || bridge != c.bridge {
			t.Errorf("%s: plugin %t bridge %t (%v), want %t %t", c.name, plugin, bridge, err, c.plugin, c.bridge)
		}
	}
	if _, _, err := providerKind(filepath.Join(dir, "absent.so")); err == nil || !strings.Contains(err.Error(), "absent.so") {
		t.Errorf("missing file: %v", err)
	}
}

func TestMissingLibraries(t *testing.T) {
	dir := t.TempDir()
	p := buildLib(t, dir, "miss.so", fakePlugin, []string{"libpz_fake_cudart.so.13", "libpz_fake_cublas.so.13"}, true)
	got, err := missingLibraries(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"libpz_fake_cudart.so.13", "libpz_fake_cublas.so.13"}; !slices.Equal(got, want) {
		t.Errorf("missing %v, want %v", got, want)
	}
	// Beside the provider counts ($ORIGIN), as ORT's own RUNPATH does.
	q := buildLib(t, dir, "beside.so", fakePlugin, []string{"libpz_fake_curand.so.10"}, true)
	buildLib(t, dir, "libpz_fake_curand.so.10", "int pz_here;", nil, false)
	if got, err := missingLibraries(q); err != nil || len(got) != 0 {
		t.Errorf("library beside the provider: missing %v (%v), want none", got, err)
	}
	if rt := testRT; rt != nil {
		if got, err := missingLibraries(rt.LibraryPath()); err != nil || len(got) != 0 {
			t.Errorf("the CPU library: missing %v (%v), want none", got, err)
		}
	}
}

// cudaRuntimeAt is the shared runtime as if its library sat in dir, so
// that the CUDA checks look for the provider there.
func cudaRuntimeAt(t *testing.T, dir string) *Runtime {
	r := *needRT(t)
	r.lib = filepath.Join(dir, "libonnxruntime.so")
	return &r
}

// TestProbeCUDAErrors: each missing piece gives one error naming it.
func TestProbeCUDAErrors(t *testing.T) {
	if _, err := openLib("libcuda.so.1"); err == nil {
		t.Skip("an NVIDIA driver is installed: the no-driver case cannot be shown")
	}
	none := t.TempDir()
	withMissing := t.TempDir()
	buildLib(t, withMissing, cudaProviderFile, fakePlugin, []string{"libpz_fake_cublasLt.so.13"}, true)
	complete := t.TempDir()
	buildLib(t, complete, cudaProviderFile, fakePlugin, nil, false)
	for _, c := range []struct {
		name, dir string
		want      []string
	}{
		{"no provider", none, []string{cudaProviderFile + " is missing", "setup-ort-cuda.sh"}},
		{"missing CUDA library", withMissing, []string{"libpz_fake_cublasLt.so.13", "LD_LIBRARY_PATH", "site-packages/nvidia"}},
		{"no driver", complete, []string{"no NVIDIA driver", "libcuda.so.1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := cudaRuntimeAt(t, c.dir).ProbeCUDA(context.Background(), 0)
			if r.Err == nil || r.ProbeOK {
				t.Fatalf("got %+v, want an error", r)
			}
			for _, w := range c.want {
				if !strings.Contains(r.Err.Error(), w) {
					t.Errorf("error %q does not name %q", r.Err, w)
				}
			}
			if lines := strings.Join(r.Lines(), "\n"); !strings.Contains(lines, "cuda provider: "+r.Provider) {
				t.Errorf("report does not name the provider:\n%s", lines)
			}
		})
	}
}

// TestCUDAPluginPathWithoutDevice runs the plugin path through ORT itself:
// the fake plugin registers, offers no CUDA device, and the session fails
// with an error that says so, naming the provider; a library with neither
// entry point is refused before ORT sees it.
func TestCUDAPluginPathWithoutDevice(t *testing.T) {
	dir := t.TempDir()
	buildLib(t, dir, cudaProviderFile, fakePlugin, nil, false)
	rt := cudaRuntimeAt(t, dir)
	_, err := rt.NewSession(identityModel(), SessionOptions{Device: DeviceCUDA})
	if err == nil {
		t.Fatal("a CUDA session without a GPU loaded")
	}
	for _, w := range []string{"offers no GPU", filepath.Join(dir, cudaProviderFile), "CPUExecutionProvider"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	// The registration is kept: a second session answers the same way.
	if _, err2 := rt.NewSession(identityModel(), SessionOptions{Device: DeviceCUDA}); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("second session: %v, want %v", err2, err)
	}

	// A bridge-only provider beside this official CPU core: the core has
	// the bridge, which then wants libonnxruntime_providers_shared.so
	// beside the core's real file; the error names it.
	bridge := t.TempDir()
	buildLib(t, bridge, cudaProviderFile, fakeBridge, nil, false)
	_, err = cudaRuntimeAt(t, bridge).NewSession(identityModel(), SessionOptions{Device: DeviceCUDA})
	bridgeErr := "libonnxruntime_providers_shared.so"
	if err != nil && strings.Contains(err.Error(), "not enabled in this build") {
		bridgeErr = "has no CUDA provider bridge" // a core built without it (PZ_ORT_LIB=the asus4 core)
	}
	if err == nil || !strings.Contains(err.Error(), bridgeErr) {
		t.Errorf("bridge provider: %v", err)
	}

	// A provider with both entry points takes the plugin path unless the
	// bridge is asked for.
	both := t.TempDir()
	buildLib(t, both, cudaProviderFile, fakePlugin+fakeBridge, nil, false)
	for _, c := range []struct{ path, want string }{
		{"", "offers no GPU"}, {"plugin", "offers no GPU"}, {"bridge", bridgeErr}, {"nope", "want auto, plugin or bridge"},
	} {
		_, err := cudaRuntimeAt(t, both).NewSession(identityModel(), SessionOptions{Device: DeviceCUDA, CUDAPath: c.path})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("path %q: %v, want an error containing %q", c.path, err, c.want)
		}
	}
	_, err = cudaRuntimeAt(t, bridge).NewSession(identityModel(), SessionOptions{Device: DeviceCUDA, CUDAPath: "plugin"})
	if err == nil || !strings.Contains(err.Error(), "does not export CreateEpFactories") {
		t.Errorf("plugin path on a bridge-only provider: %v", err)
	}

	neither := t.TempDir()
	buildLib(t, neither, cudaProviderFile, "int x;", nil, false)
	_, err = cudaRuntimeAt(t, neither).NewSession(identityModel(), SessionOptions{Device: DeviceCUDA})
	if err == nil || !strings.Contains(err.Error(), "exports neither GetProvider") {
		t.Errorf("provider with no entry point: %v", err)
	}
}

func TestDriverTooOld(t *testing.T) {
	for _, c := range []struct {
		driver, major int
		bad           bool
	}{{13000, 13, false}, {13020, 13, false}, {12080, 13, true}, {12080, 12, false}, {12080, 0, false}} {
		err := driverTooOld(c.driver, c.major)
		if (err != nil) != c.bad {
			t.Errorf("driver %d, provider CUDA %d: %v", c.driver, c.major, err)
		}
		if err != nil && !strings.Contains(err.Error(), "supports CUDA 12.8") {
			t.Errorf("error %q does not name the driver's CUDA", err)
		}
	}
	dir := t.TempDir()
	p := buildLib(t, dir, "p.so", fakePlugin, []string{"libcudart.so.12"}, true)
	if got := providerCUDA(p); got != 12 {
		t.Errorf("provider CUDA %d, want 12", got)
	}
	if h := cudaHint(p); !strings.Contains(h, "the CUDA 12 runtime") {
		t.Errorf("hint for a CUDA 12 provider: %q", h)
	}
}

// TestCUDASessionConfig: CUDA sessions refuse CPU fallback unless asked,
// and TF32 maps to the provider's option.
func TestCUDASessionConfig(t *testing.T) {
	for _, c := range []struct {
		opts SessionOptions
		env  string
		want bool
	}{
		{SessionOptions{}, "", true},
		{SessionOptions{AllowCPUFallback: true}, "", false},
		{SessionOptions{}, "1", false},
		{SessionOptions{Config: map[string]string{configNoCPUFallback: "0"}}, "", false},
	} {
		t.Setenv(CPUFallbackEnv, c.env)
		if got := strictDevice(c.opts); got != c.want {
			t.Errorf("%+v with %s=%q: strict %t, want %t", c.opts, CPUFallbackEnv, c.env, got, c.want)
		}
	}
	if got := cudaOptions(SessionOptions{CUDADeviceID: 2, TF32: true}); got["device_id"] != "2" || got["use_tf32"] != "1" {
		t.Errorf("options %v", got)
	}
	if got := cudaOptions(SessionOptions{}); got["use_tf32"] != "0" {
		t.Errorf("options %v: TF32 must be off unless asked", got)
	}
}
