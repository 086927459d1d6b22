package ort

import (
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// Environment variables read by FindLibrary and ResolveDevice.
const (
	LibraryEnv = "PZ_ORT_LIB" // path of libonnxruntime.so; overrides the cache
	DeviceEnv  = "PZ_DEVICE"  // "cpu" (default) or "cuda"
)

// Devices a session can run on.
const (
	DeviceCPU  = "cpu"
	DeviceCUDA = "cuda"
)

// MinVersion is the oldest ONNX Runtime release whose C API (version 29) the
// bundled onnxruntime_go v1.36.0 requests; an older library cannot serve it.
const MinVersion = "1.29.0"

// cachePaths are where the setup scripts put the library, relative to the
// repository root (the directory holding go.mod).
var cachePaths = map[string]string{
	DeviceCPU:  ".cache/ort/current/libonnxruntime.so", // scripts/setup-ort.sh
	DeviceCUDA: ".cache/ort/cuda/libonnxruntime.so",    // scripts/setup-ort-cuda.sh
}

// setupHints says how to get a library, per device.
var setupHints = map[string]string{
	DeviceCPU: "run `make setup` (or `bash scripts/setup-ort.sh`; `--user` for the per-user cache), or set " +
		LibraryEnv + " to an ONNX Runtime " + MinVersion + "+ libonnxruntime.so",
	DeviceCUDA: "run `bash scripts/setup-ort-cuda.sh`, or set " + LibraryEnv +
		" to a CUDA-enabled ONNX Runtime " + MinVersion + "+ libonnxruntime.so " +
		"(with libonnxruntime_providers_cuda.so beside it)",
}

// Sentinel errors, wrapped by FindLibrary, CheckLibrary and Init.
var (
	ErrLibraryNotFound = errors.New("ONNX Runtime library not found")
	ErrBadLibrary      = errors.New("not a usable ONNX Runtime library")
)

// ResolveDevice picks the device: flag > PZ_DEVICE > "cpu".
func ResolveDevice(flag string) (string, error) {
	d, src := flag, "--device"
	if d == "" {
		d, src = os.Getenv(DeviceEnv), DeviceEnv
	}
	dev, err := parseDevice(d)
	if err != nil {
		return "", fmt.Errorf("%s: %w", src, err)
	}
	return dev, nil
}

// parseDevice normalises a device name; "" is "cpu".
func parseDevice(d string) (string, error) {
	switch strings.ToLower(d) {
	case "", DeviceCPU:
		return DeviceCPU, nil
	case DeviceCUDA, "gpu":
		return DeviceCUDA, nil
	}
	return "", fmt.Errorf("unknown device %q (want %q or %q)", d, DeviceCPU, DeviceCUDA)
}

// FindLibrary locates the CPU ONNX Runtime library: flagPath if set, else
// $PZ_ORT_LIB, else the cache that scripts/setup-ort.sh fills
// (.cache/ort/current/libonnxruntime.so), looked for in the working directory
// and its parents up to the one holding go.mod, then next to the running
// executable (<exe dir>/../.cache/...), then in the per-user cache
// ($XDG_CACHE_HOME/pz/ort/current/..., else ~/.cache/pz/ort/current/...,
// filled by `scripts/setup-ort.sh --user`) so that an installed pz finds it
// from any directory. It only finds the file; CheckLibrary
// and Init check that it is a usable ONNX Runtime.
func FindLibrary(flagPath string) (string, error) {
	return FindDeviceLibrary(DeviceCPU, flagPath)
}

// FindDeviceLibrary is FindLibrary for a device: for "cuda" the cache is the
// one scripts/setup-ort-cuda.sh fills (.cache/ort/cuda/libonnxruntime.so).
func FindDeviceLibrary(device, flagPath string) (string, error) {
	rel, ok := cachePaths[device]
	if !ok {
		return "", fmt.Errorf("find ONNX Runtime library: unknown device %q", device)
	}
	for _, c := range []struct{ path, src string }{{flagPath, "--ort-lib"}, {os.Getenv(LibraryEnv), LibraryEnv}} {
		if c.path == "" {
			continue
		}
		if _, err := os.Stat(c.path); err != nil {
			return "", fmt.Errorf("%w: %s=%s: %v; %s", ErrLibraryNotFound, c.src, c.path, err, setupHints[device])
		}
		return filepath.Abs(c.path)
	}
	var tried []string
	cands := make([]string, 0, 4)
	for _, root := range searchRoots() {
		cands = append(cands, filepath.Join(root, rel))
	}
	if p := userCachePath(rel); p != "" {
		cands = append(cands, p)
	}
	for _, p := range cands {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	return "", fmt.Errorf("%w (looked in %s): %s", ErrLibraryNotFound, strings.Join(tried, ", "), setupHints[device])
}

// userCachePath is where `scripts/setup-ort.sh --user` puts the library
// for use outside a checkout: rel (.cache/ort/...) under the per-user
// cache, $XDG_CACHE_HOME/pz/ort/... or ~/.cache/pz/ort/... ("" when there
// is no home directory).
func userCachePath(rel string) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "pz", strings.TrimPrefix(filepath.ToSlash(rel), ".cache/"))
}

// searchRoots lists the directories whose .cache may hold the library: the
// working directory and its parents up to the module root, then the parent of
// the executable's directory.
func searchRoots() []string {
	var roots []string
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			roots = append(roots, dir)
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			if filepath.Dir(dir) == dir {
				roots = roots[:1] // no module above: only the working directory
				break
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			if r := filepath.Dir(filepath.Dir(exe)); !slices.Contains(roots, r) {
				roots = append(roots, r)
			}
		}
	}
	return roots
}

// CheckLibrary inspects the file at path without loading it and returns the
// ONNX Runtime version it declares. It fails, naming the file, if the file is
// missing, is not a shared library, does not export OrtGetApiBase, or is
// older than MinVersion. The version is "" when the file carries no ELF
// symbol versions (a custom build); Init then checks it after loading.
// On systems other than Linux only existence is checked.
func CheckLibrary(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%w: %s does not exist; %s", ErrLibraryNotFound, path, setupHints[DeviceCPU])
		}
		return "", fmt.Errorf("ONNX Runtime library %s: %w", path, err)
	}
	if fi.IsDir() {
		return "", fmt.Errorf("%w: %s is a directory; %s", ErrBadLibrary, path, setupHints[DeviceCPU])
	}
	if runtime.GOOS != "linux" {
		return "", nil
	}
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("%w: %s is not an ELF shared library (%v); %s", ErrBadLibrary, path, err, setupHints[DeviceCPU])
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil {
		return "", fmt.Errorf("%w: %s has no dynamic symbols (%v); %s", ErrBadLibrary, path, err, setupHints[DeviceCPU])
	}
	for _, s := range syms {
		if s.Name != "OrtGetApiBase" || s.Section == elf.SHN_UNDEF {
			continue
		}
		v, ok := strings.CutPrefix(s.Version, "VERS_")
		if !ok {
			return "", nil // unversioned build: checked after loading
		}
		if err := checkVersion(v); err != nil {
			return v, fmt.Errorf("%w: %s: %w; %s", ErrBadLibrary, path, err, setupHints[DeviceCPU])
		}
		return v, nil
	}
	return "", fmt.Errorf("%w: %s does not export OrtGetApiBase, so it is not ONNX Runtime; %s", ErrBadLibrary, path, setupHints[DeviceCPU])
}

// checkVersion fails if v (e.g. "1.30.0") is older than MinVersion.
func checkVersion(v string) error {
	got, err := parseVersion(v)
	if err != nil {
		return err
	}
	want, _ := parseVersion(MinVersion)
	for i := range got {
		if got[i] != want[i] {
			if got[i] < want[i] {
				return fmt.Errorf("ONNX Runtime %s is older than %s, the oldest whose C API onnxruntime_go v1.36.0 can use", v, MinVersion)
			}
			return nil
		}
	}
	return nil
}

func parseVersion(v string) ([3]int, error) {
	var out [3]int
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return out, fmt.Errorf("ONNX Runtime version %q: want MAJOR.MINOR.PATCH", v)
	}
	for i, p := range parts {
		p, _, _ = strings.Cut(p, "-") // 1.30.0-dev
		n, err := strconv.Atoi(p)
		if err != nil {
			return out, fmt.Errorf("ONNX Runtime version %q: want MAJOR.MINOR.PATCH", v)
		}
		out[i] = n
	}
	return out, nil
}
