package ort

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ortgo "github.com/yalue/onnxruntime_go"
)

// Options configures Init.
type Options struct {
	// LibraryPath is the libonnxruntime.so to load; "" means FindDeviceLibrary(Device, "").
	LibraryPath string
	// Device is the default device of sessions: "cpu" (also for "") or "cuda".
	Device string
	// Logger receives the one line that says which library was loaded; nil means slog.Default().
	Logger *slog.Logger
	// ORTLog lets ONNX Runtime write its own warnings and errors to stderr.
	// Off by default: library code must not print, and every ORT error
	// reaches the caller as a Go error anyway.
	ORTLog bool
}

// Runtime is a loaded ONNX Runtime library. Its methods create sessions.
// There is at most one library per process (see the package comment).
type Runtime struct {
	lib     string
	version string
	device  string
	log     *slog.Logger
}

// process holds the one ONNX Runtime environment of the process: ORT and
// onnxruntime_go keep it in process-wide state, so it is loaded once and
// shared; see the package comment.
var process struct {
	mu      sync.Mutex
	rt      *Runtime
	plugins map[string]pluginState // EP libraries registered, by path (cuda.go)
}

// Init loads the ONNX Runtime library once per process and returns the
// runtime. A later Init with the same library returns an equivalent Runtime
// (with its own default device); one with a different library is an error,
// since ORT cannot hold two. Errors name the library file and say how to run
// setup.
func Init(opts Options) (*Runtime, error) {
	device, err := parseDevice(opts.Device) // PZ_DEVICE is read by the CLI (ResolveDevice), not here
	if err != nil {
		return nil, fmt.Errorf("init ONNX Runtime: %w", err)
	}
	lib := opts.LibraryPath
	if lib == "" {
		if lib, err = FindDeviceLibrary(device, ""); err != nil {
			return nil, err
		}
	}
	if lib, err = canonical(lib); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}

	process.mu.Lock()
	defer process.mu.Unlock()
	if process.rt != nil {
		if process.rt.lib != lib {
			return nil, fmt.Errorf("init ONNX Runtime %s: this process already loaded %s, and ONNX Runtime cannot load a second library", lib, process.rt.lib)
		}
		rt := *process.rt
		rt.device, rt.log = device, log
		if err := rt.checkDevice(); err != nil {
			return nil, err
		}
		return &rt, nil
	}
	rt := &Runtime{lib: lib, device: device, log: log}
	if err := rt.checkDevice(); err != nil {
		return nil, err
	}
	rt.version, err = load(lib, opts.ORTLog)
	if err != nil {
		return nil, err // onnxruntime_go leaves nothing loaded on failure, so a retry is safe
	}
	process.rt = rt
	log.Debug("loaded ONNX Runtime", "version", rt.version, "library", lib, "device", device)
	out := *rt
	return &out, nil
}

// load checks the file, dlopens it through onnxruntime_go and checks the
// version it reports.
func load(lib string, ortLog bool) (string, error) {
	declared, err := CheckLibrary(lib)
	if err != nil {
		return "", err
	}
	if ortgo.IsInitialized() {
		// Someone initialised onnxruntime_go outside this package; never
		// happens in pz, since only this package imports it.
		return "", fmt.Errorf("init ONNX Runtime %s: onnxruntime_go was initialised outside pz/export/ort", lib)
	}
	ortgo.SetSharedLibraryPath(lib)
	level := ortgo.WithLogLevelFatal()
	if ortLog {
		level = ortgo.WithLogLevelWarning()
	}
	if err := ortgo.InitializeEnvironment(level); err != nil {
		// onnxruntime_go's dlopen and API-version errors are terse
		// ("Error setting ORT API base: 2" means the C API version is missing).
		msg := err.Error()
		if strings.HasSuffix(msg, "ORT API base: 2") {
			msg = "it does not offer the C API version onnxruntime_go v1.36.0 needs (ONNX Runtime older than " + MinVersion + "?)"
		}
		return "", fmt.Errorf("%w: load %s: %s; %s", ErrBadLibrary, lib, msg, setupHints[DeviceCPU])
	}
	v := ortgo.GetVersion()
	if err := checkVersion(v); err != nil {
		_ = ortgo.DestroyEnvironment()
		return "", fmt.Errorf("%w: %s: %w; %s", ErrBadLibrary, lib, err, setupHints[DeviceCPU])
	}
	if declared != "" && declared != v {
		slog.Default().Warn("ONNX Runtime library reports a different version than its symbols declare",
			"library", lib, "declared", declared, "reported", v)
	}
	return v, nil
}

// checkDevice fails early, naming the library, when CUDA is asked of a
// library that has no CUDA provider beside it.
func (rt *Runtime) checkDevice() error {
	if rt.device != DeviceCUDA {
		return nil
	}
	return rt.checkCUDA()
}

// checkCUDA fails, naming the library, when the CUDA provider library is
// not beside it (ORT looks for it there).
func (rt *Runtime) checkCUDA() error {
	p := filepath.Join(filepath.Dir(rt.lib), "libonnxruntime_providers_cuda.so")
	if _, err := os.Stat(p); err != nil {
		return fmt.Errorf("%w: device cuda: %s is not a CUDA-enabled build (%s is missing); %s",
			ErrBadLibrary, rt.lib, filepath.Base(p), setupHints[DeviceCUDA])
	}
	return nil
}

// canonical makes library paths comparable: absolute, symlinks resolved.
func canonical(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("ONNX Runtime library %s: %w", p, err)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r, nil
	}
	return abs, nil // missing files are reported by CheckLibrary with the hint
}

// Version is the ONNX Runtime version the loaded library reports, e.g. "1.30.0".
func (rt *Runtime) Version() string { return rt.version }

// LibraryPath is the absolute path of the loaded library (symlinks resolved).
func (rt *Runtime) LibraryPath() string { return rt.lib }

// Device is the default device of sessions made by this Runtime.
func (rt *Runtime) Device() string { return rt.device }
