package ort

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	ortgo "github.com/yalue/onnxruntime_go"
)

// CUDA through ONNX Runtime comes in two shapes, and pz takes either:
//
//   - the classic provider bridge of official ORT GPU builds: the core
//     library has it compiled in and loads libonnxruntime_providers_cuda.so
//     (which exports GetProvider) when a session appends the CUDA provider;
//   - a plugin execution provider (ORT ≥ 1.22), such as the npm package
//     com.github.asus4.onnxruntime.linux-x64-gpu: the provider library
//     exports CreateEpFactories, is registered once per process
//     (RegisterExecutionProviderLibrary), and a session picks one of the
//     OrtEpDevices it offers (GetEpDevices,
//     SessionOptionsAppendExecutionProvider_V2).
//
// appendCUDA tries the bridge first and takes the plugin path when the core
// answers that it has no bridge, or when the provider is a plugin only.

// Names of the CUDA provider.
const (
	cudaProviderFile = "libonnxruntime_providers_cuda.so"
	cudaEPName       = "CUDAExecutionProvider"
	cudaPluginName   = "pz_cuda" // registration name prefix of plugin libraries
)

// providerKind reports what a provider library exports: CreateEpFactories
// (a plugin EP) and GetProvider (the classic bridge), read from its ELF
// symbols without loading it.
func providerKind(path string) (plugin, bridge bool, err error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, false, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil {
		return false, false, fmt.Errorf("%s has no dynamic symbols: %w", path, err)
	}
	for _, s := range syms {
		if s.Section == elf.SHN_UNDEF {
			continue
		}
		switch s.Name {
		case "CreateEpFactories":
			plugin = true
		case "GetProvider":
			bridge = true
		}
	}
	return plugin, bridge, nil
}

// missingLibraries lists the DT_NEEDED libraries of the ELF file at path
// that dlopen cannot find (by soname, as the loader would, plus the file's
// own directory, where the provider's RUNPATH $ORIGIN points).
func missingLibraries(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	needed, err := f.ImportedLibraries()
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: needed libraries: %w", path, err)
	}
	var missing []string
	for _, n := range needed {
		if strings.HasPrefix(n, "libonnxruntime") {
			continue // the core, loaded already
		}
		l, err := openLib(n)
		if err != nil {
			if l, err = openLib(filepath.Join(filepath.Dir(path), n)); err != nil {
				missing = append(missing, n)
				continue
			}
		}
		l.close()
	}
	return missing, nil
}

// cudaHint is what a missing CUDA runtime library error says to do, for
// the CUDA major version the provider at path links.
func cudaHint(path string) string {
	v := "the CUDA runtime the provider was built for"
	if major := providerCUDA(path); major > 0 {
		v = fmt.Sprintf("the CUDA %d runtime", major)
	}
	return "install " + v + " (cudart, cublas, cublasLt, curand; cuDNN 9) " +
		"or put the directories that hold them on LD_LIBRARY_PATH, e.g. the nvidia-* pip wheels' " +
		"site-packages/nvidia/*/lib (docs/ort.md)"
}

// providerCUDA is the CUDA major version a provider was built for, read
// from the libcudart.so.N it links (0 if none).
func providerCUDA(path string) int {
	f, err := elf.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	needed, _ := f.ImportedLibraries()
	for _, n := range needed {
		if v, ok := strings.CutPrefix(n, "libcudart.so."); ok {
			if major, err := strconv.Atoi(v); err == nil {
				return major
			}
		}
	}
	return 0
}

// driverTooOld fails when the driver's CUDA version (cuDriverGetVersion's
// 1000·major + 10·minor) is older than the provider's CUDA major.
func driverTooOld(driver, providerMajor int) error {
	if providerMajor == 0 || driver/1000 >= providerMajor {
		return nil
	}
	return fmt.Errorf("device cuda: the NVIDIA driver supports CUDA %s, and the CUDA provider was built for CUDA %d: update the driver (or use a provider built for CUDA %d)",
		cudaVersion(driver), providerMajor, driver/1000)
}

// explainCUDA adds to a CUDA provider failure the libraries the provider
// needs but the loader cannot find, the usual cause.
func (rt *Runtime) explainCUDA(err error) error {
	p := rt.cudaProvider()
	missing, merr := missingLibraries(p)
	if merr != nil || len(missing) == 0 {
		return err
	}
	return fmt.Errorf("%w; %s needs %s, which the loader cannot find: %s", err, filepath.Base(p), strings.Join(missing, ", "), cudaHint(p))
}

func (rt *Runtime) cudaProvider() string {
	return filepath.Join(filepath.Dir(rt.lib), cudaProviderFile)
}

// CUDAPathEnv picks the CUDA path when SessionOptions.CUDAPath is unset.
const CUDAPathEnv = "PZ_CUDA_PATH"

// appendCUDA adds the CUDA execution provider. ORT loads the provider
// library (and the CUDA runtime it needs) here, so a missing provider or
// toolkit surfaces now, not at Run. The plugin path is preferred when the
// provider offers it: it goes through ORT's versioned C API, while the
// classic bridge is an internal C++ interface that holds only between a
// core and a provider of the same release.
func (rt *Runtime) appendCUDA(so *ortgo.SessionOptions, opts SessionOptions) error {
	if err := rt.checkCUDA(); err != nil {
		return err
	}
	plugin, bridge, err := providerKind(rt.cudaProvider())
	if err != nil {
		return fmt.Errorf("%w: device cuda: %w; %s", ErrBadLibrary, err, setupHints[DeviceCUDA])
	}
	path := opts.CUDAPath
	if path == "" {
		path = os.Getenv(CUDAPathEnv)
	}
	switch {
	case path != "" && path != "auto" && path != "plugin" && path != "bridge":
		return fmt.Errorf("device cuda: CUDA path %q (want auto, plugin or bridge; from SessionOptions.CUDAPath or %s)", path, CUDAPathEnv)
	case !plugin && !bridge:
		return fmt.Errorf("%w: device cuda: %s exports neither GetProvider (the provider bridge) nor CreateEpFactories (a plugin execution provider), so it is not a CUDA provider; %s",
			ErrBadLibrary, rt.cudaProvider(), setupHints[DeviceCUDA])
	case path == "plugin" && !plugin:
		return fmt.Errorf("device cuda: CUDA path plugin asked for, but %s does not export CreateEpFactories", rt.cudaProvider())
	case path == "bridge" && !bridge:
		return fmt.Errorf("device cuda: CUDA path bridge asked for, but %s does not export GetProvider", rt.cudaProvider())
	case plugin && path != "bridge":
		return rt.appendCUDAPlugin(so, opts)
	}
	cu, err := ortgo.NewCUDAProviderOptions()
	if err != nil {
		return fmt.Errorf("device cuda: %s has no CUDA provider bridge (%s), and %s is not a plugin execution provider; %s",
			rt.lib, ortText(err), cudaProviderFile, setupHints[DeviceCUDA])
	}
	defer cu.Destroy()
	if err := cu.Update(cudaOptions(opts)); err != nil {
		// ORT loads the provider libraries here.
		return rt.explainCUDA(fmt.Errorf("device cuda: load the CUDA provider of %s through the provider bridge: %s", rt.lib, ortText(err)))
	}
	if err := so.AppendExecutionProviderCUDA(cu); err != nil {
		return rt.explainCUDA(fmt.Errorf("device cuda: enable the CUDA provider of %s: %s", rt.lib, ortText(err)))
	}
	return nil
}

// appendCUDAPlugin appends the CUDA plugin provider's device
// opts.CUDADeviceID.
func (rt *Runtime) appendCUDAPlugin(so *ortgo.SessionOptions, opts SessionOptions) error {
	devs, err := rt.cudaEPDevices()
	if err != nil {
		return err
	}
	if opts.CUDADeviceID < 0 || opts.CUDADeviceID >= len(devs) {
		return fmt.Errorf("device cuda: GPU %d asked for, the CUDA plugin provider offers %d", opts.CUDADeviceID, len(devs))
	}
	// The device is chosen by the EP device; the provider options carry the rest.
	o := cudaOptions(opts)
	delete(o, "device_id")
	if err := so.AppendExecutionProviderV2(devs[opts.CUDADeviceID:opts.CUDADeviceID+1], o); err != nil {
		return rt.explainCUDA(fmt.Errorf("device cuda: append the CUDA plugin provider of %s: %s", rt.cudaProvider(), ortText(err)))
	}
	return nil
}

// cudaOptions are the CUDA provider options of a session.
func cudaOptions(opts SessionOptions) map[string]string {
	m := map[string]string{"device_id": strconv.Itoa(opts.CUDADeviceID)}
	if opts.TF32 {
		m["use_tf32"] = "1"
	} else {
		m["use_tf32"] = "0"
	}
	return m
}

// cudaEPDevices registers the CUDA plugin library with the ORT environment
// (once per process) and returns the CUDA EP devices it offers, in order.
func (rt *Runtime) cudaEPDevices() ([]ortgo.EpDevice, error) {
	if err := registerPlugin(cudaPluginName, rt.cudaProvider()); err != nil {
		return nil, rt.explainCUDA(fmt.Errorf("device cuda: register the CUDA plugin provider %s: %w", rt.cudaProvider(), err))
	}
	all, err := ortgo.GetEpDevices()
	if err != nil {
		return nil, fmt.Errorf("device cuda: list EP devices: %s", ortText(err))
	}
	var devs []ortgo.EpDevice
	var names []string
	for _, d := range all {
		names = append(names, d.EpName())
		if d.EpName() == cudaEPName {
			devs = append(devs, d)
		}
	}
	if len(devs) == 0 {
		return nil, rt.explainCUDA(fmt.Errorf("device cuda: the CUDA plugin provider %s offers no GPU (EP devices: %s): no NVIDIA GPU, or a driver too old for CUDA 13",
			rt.cudaProvider(), strings.Join(names, ", ")))
	}
	return devs, nil
}

// registerPlugin registers an EP library with the process's one ORT
// environment, once per path: ORT refuses a second registration under a
// name, and the environment outlives every Runtime value. A failure is
// remembered (ORT leaves nothing registered) and returned again.
func registerPlugin(prefix, path string) error {
	process.mu.Lock()
	defer process.mu.Unlock()
	if process.plugins == nil {
		process.plugins = map[string]pluginState{}
	}
	if st, ok := process.plugins[path]; ok {
		return st.err
	}
	name := fmt.Sprintf("%s_%d", prefix, len(process.plugins))
	err := ortgo.RegisterExecutionProviderLibrary(name, path)
	if err != nil {
		err = errors.New(ortText(err))
	}
	process.plugins[path] = pluginState{name: name, err: err}
	return err
}

// pluginState is one registration attempt of an EP library.
type pluginState struct {
	name string // registration name
	err  error
}

// CUDAReport is what `pz version --device cuda --probe` prints: the
// provider, the GPU and the CUDA versions found, and the first problem.
type CUDAReport struct {
	Provider string   // path of libonnxruntime_providers_cuda.so
	Kind     string   // "bridge", "plugin", "bridge+plugin" or "" if unreadable
	Missing  []string // libraries the provider needs that the loader cannot find
	Driver   string   // CUDA driver API version, e.g. "13.0"
	Runtime  string   // libcudart version, e.g. "13.0"
	CuDNN    string   // e.g. "9.10.2"
	GPUs     []string // "NVIDIA H200 (139.8 GiB)"
	ProbeOK  bool     // a one-node graph ran on the CUDA provider
	Err      error    // the first failure, naming what is missing
}

// cudaVersion formats CUDA's 1000·major + 10·minor encoding.
func cudaVersion(v int) string { return fmt.Sprintf("%d.%d", v/1000, v%1000/10) }

// ProbeCUDA checks, in order, each thing the CUDA provider needs and
// reports what it found; Err is the first failure (nil when a graph ran on
// the GPU). It never loads the provider into ORT before its libraries are
// known to be there, so a missing library is named rather than crashing.
func (rt *Runtime) ProbeCUDA(ctx context.Context, deviceID int) CUDAReport {
	r := CUDAReport{Provider: rt.cudaProvider()}
	fail := func(err error) CUDAReport {
		if r.Err == nil {
			r.Err = err
		}
		return r
	}
	if err := rt.checkCUDA(); err != nil {
		return fail(err)
	}
	plugin, bridge, err := providerKind(r.Provider)
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrBadLibrary, err))
	}
	kinds := []string{}
	if bridge {
		kinds = append(kinds, "bridge")
	}
	if plugin {
		kinds = append(kinds, "plugin")
	}
	r.Kind = strings.Join(kinds, "+")
	if r.Missing, err = missingLibraries(r.Provider); err != nil {
		return fail(err)
	}
	if len(r.Missing) > 0 {
		fail(fmt.Errorf("device cuda: %s needs %s, which the loader cannot find: %s", r.Provider, strings.Join(r.Missing, ", "), cudaHint(r.Provider)))
	}
	if drv, err := openLib("libcuda.so.1"); err != nil {
		fail(fmt.Errorf("device cuda: no NVIDIA driver: %v", err))
	} else {
		defer drv.close()
		if v, err := drv.intOut("cuDriverGetVersion"); err == nil {
			r.Driver = cudaVersion(v)
			if err := driverTooOld(v, providerCUDA(r.Provider)); err != nil {
				fail(err)
			}
		}
		if err := drv.cuInit(); err != nil {
			fail(fmt.Errorf("device cuda: the NVIDIA driver found no usable GPU: %w", err))
		} else if n, err := drv.intOut("cuDeviceGetCount"); err == nil {
			for i := range n {
				if name, mem, err := drv.device(i); err == nil {
					r.GPUs = append(r.GPUs, fmt.Sprintf("%s (%.1f GiB)", name, float64(mem)/(1<<30)))
				}
			}
		}
	}
	if l, err := openLib("libcudart.so.13"); err == nil {
		if v, err := l.intOut("cudaRuntimeGetVersion"); err == nil {
			r.Runtime = cudaVersion(v)
		}
		l.close()
	}
	if l, err := openLib("libcudnn.so.9"); err == nil {
		if v, err := l.sizeOut("cudnnGetVersion"); err == nil {
			r.CuDNN = fmt.Sprintf("%d.%d.%d", v/10000, v%10000/100, v%100)
		}
		l.close()
	}
	if r.Err != nil {
		return r
	}
	if err := rt.probe(ctx, SessionOptions{Name: "probe", Device: DeviceCUDA, CUDADeviceID: deviceID, IntraOpThreads: 1}); err != nil {
		return fail(err)
	}
	r.ProbeOK = true
	return r
}

// Lines renders the report for the CLI.
func (r CUDAReport) Lines() []string {
	or := func(s, none string) string {
		if s == "" {
			return none
		}
		return s
	}
	kind := or(r.Kind, "unknown")
	out := []string{
		"cuda provider: " + r.Provider + " (" + kind + ")",
		"cuda driver: " + or(r.Driver, "not found") + ", runtime: " + or(r.Runtime, "not found") + ", cudnn: " + or(r.CuDNN, "not found"),
	}
	if len(r.GPUs) == 0 {
		out = append(out, "gpus: none found")
	}
	for i, g := range r.GPUs {
		out = append(out, fmt.Sprintf("gpu %d: %s", i, g))
	}
	if len(r.Missing) > 0 {
		out = append(out, "missing: "+strings.Join(slices.Clone(r.Missing), ", "))
	}
	return out
}
