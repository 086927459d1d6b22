package ort

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unsafe"

	ortgo "github.com/yalue/onnxruntime_go"
)

// Optimization is ONNX Runtime's graph optimization level.
type Optimization int

// Graph optimization levels; the zero value is ORT's default (all).
const (
	OptimizeDefault Optimization = iota
	OptimizeNone
	OptimizeBasic
	OptimizeExtended
	OptimizeAll
)

// SessionOptions configures a session.
type SessionOptions struct {
	// Name names the model in errors; "" uses the ONNX graph's name.
	Name string
	// IntraOpThreads sizes the thread pool inside one op; 0 leaves ORT's
	// default (one per physical core).
	IntraOpThreads int
	// InterOpThreads sizes the pool that runs independent nodes in
	// parallel; 0 leaves ORT's default (sequential execution).
	InterOpThreads int
	// Device is "cpu" or "cuda"; "" is the Runtime's device.
	Device string
	// CUDADeviceID picks the GPU when Device is "cuda".
	CUDADeviceID int
	// TF32 lets the CUDA provider run float32 MatMuls in TF32 (the CUDA
	// provider's use_tf32; off means full float32).
	TF32 bool
	// AllowCPUFallback lets ORT place nodes the CUDA provider has no kernel
	// for on the CPU. Off by default: a CUDA session whose graph would
	// cross to the host then fails to load, naming the node
	// (session.disable_cpu_ep_fallback), instead of running slowly.
	AllowCPUFallback bool
	// CUDAPath picks how the CUDA provider is enabled: "plugin" (ORT's EP
	// API), "bridge" (the classic provider bridge) or "auto"/"" (the
	// plugin when the provider exports it; $PZ_CUDA_PATH when unset); see
	// cuda.go.
	CUDAPath string
	// Optimization is the graph optimization level.
	Optimization Optimization
	// NoCPUArena turns off ORT's CPU memory arena: the arena keeps every
	// peak allocation for reuse, which costs memory on graphs whose
	// intermediates are large and few (a training step: measured 11.2 GB
	// → 6.4 GB peak on the small preset at the same speed).
	NoCPUArena bool
	// NoMemPattern turns off ORT's memory pattern: after a run with new
	// input shapes ORT plans all intermediates into one block per run;
	// with the arena on, the arena then keeps both that block and the
	// first run's separate allocations.
	NoMemPattern bool
	// ProfilePrefix, when set, makes ORT write a JSON trace named
	// <prefix>_<date>.json when the session is closed.
	ProfilePrefix string
	// Outputs, when set, restricts the session to these graph outputs
	// (onnxruntime_go fixes a session's output list at creation, and ORT
	// then computes only what they need). Nil means every graph output.
	Outputs []string
	// Config holds ORT session config entries, e.g.
	// "session.intra_op.allow_spinning": "0".
	Config map[string]string
}

// Session is a model loaded into ONNX Runtime. It is safe for concurrent
// use by several goroutines (it wraps onnxruntime_go's
// DynamicAdvancedSession, whose Run takes its values per call).
type Session struct {
	name    string
	device  string // "cpu" or "cuda", for errors
	sess    *ortgo.DynamicAdvancedSession
	inputs  []ValueInfo
	outputs []ValueInfo // in the order the ORT session was created with
	inIdx   map[string]int
	outIdx  map[string]int
	meta    map[string]string

	// pinMu guards pins: runs hold it for reading while they use pinned
	// values, Pin/Unpin/Close for writing.
	pinMu sync.RWMutex
	pins  map[string]pin
}

// pin is an input wrapped once (see Pin).
type pin struct {
	t    *Tensor
	data unsafe.Pointer // first element of t.Data when pinned
	n    int            // and its length
	v    ortgo.Value
}

// NewSession loads a serialized ONNX model (as export's Model.Marshal
// writes it). An ORT rejection of the graph is returned with ORT's own text,
// which names the node, prefixed by the model's name.
func (rt *Runtime) NewSession(model []byte, opts SessionOptions) (*Session, error) {
	return rt.newSession(model, "", opts)
}

// NewSessionFile loads an ONNX model from a file; use it for models whose
// weights are stored as external data next to the file.
func (rt *Runtime) NewSessionFile(path string, opts SessionOptions) (*Session, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	if opts.Name == "" {
		opts.Name = path
	}
	return rt.newSession(b, path, opts)
}

func (rt *Runtime) newSession(model []byte, path string, opts SessionOptions) (*Session, error) {
	sig, err := parseSignature(model)
	name := opts.Name
	if name == "" && sig != nil {
		name = sig.graphName
	}
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", name, err)
	}
	s := &Session{name: name, device: deviceOr(opts.Device, rt.device), inputs: sig.inputs, meta: sig.metadata, inIdx: map[string]int{}, outIdx: map[string]int{}}
	for i, in := range s.inputs {
		s.inIdx[in.Name] = i
	}
	if opts.Outputs == nil {
		s.outputs = sig.outputs
	} else {
		for _, o := range opts.Outputs {
			i := slices.IndexFunc(sig.outputs, func(v ValueInfo) bool { return v.Name == o })
			if i < 0 {
				return nil, fmt.Errorf("model %q: SessionOptions.Outputs: no graph output %q (outputs: %s)", name, o, names(sig.outputs))
			}
			s.outputs = append(s.outputs, sig.outputs[i])
		}
	}
	if len(s.outputs) == 0 {
		return nil, fmt.Errorf("model %q has no outputs", name)
	}
	for i, o := range s.outputs {
		s.outIdx[o.Name] = i
	}

	so, err := rt.sessionOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", name, err)
	}
	defer so.Destroy()
	inNames, outNames := names(s.inputs), names(s.outputs)
	if path != "" {
		s.sess, err = ortgo.NewDynamicAdvancedSession(path, inNames, outNames, so)
	} else {
		s.sess, err = ortgo.NewDynamicAdvancedSessionWithONNXData(model, inNames, outNames, so)
	}
	if err != nil {
		return nil, fmt.Errorf("model %q: ONNX Runtime rejected it: %s", name, ortText(err))
	}
	return s, nil
}

// sessionOptions builds ORT session options; the caller destroys them.
func (rt *Runtime) sessionOptions(opts SessionOptions) (*ortgo.SessionOptions, error) {
	so, err := ortgo.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	fail := func(what string, err error) (*ortgo.SessionOptions, error) {
		so.Destroy()
		return nil, fmt.Errorf("session options: %s: %s", what, ortText(err))
	}
	if opts.IntraOpThreads < 0 || opts.InterOpThreads < 0 {
		so.Destroy()
		return nil, fmt.Errorf("session options: negative thread count (intra %d, inter %d)", opts.IntraOpThreads, opts.InterOpThreads)
	}
	if opts.IntraOpThreads > 0 {
		if err := so.SetIntraOpNumThreads(opts.IntraOpThreads); err != nil {
			return fail("intra-op threads", err)
		}
	}
	if opts.InterOpThreads > 0 {
		if err := so.SetExecutionMode(ortgo.ExecutionModeParallel); err != nil {
			return fail("parallel execution", err)
		}
		if err := so.SetInterOpNumThreads(opts.InterOpThreads); err != nil {
			return fail("inter-op threads", err)
		}
	}
	if opts.Optimization != OptimizeDefault {
		lvl := map[Optimization]ortgo.GraphOptimizationLevel{
			OptimizeNone:     ortgo.GraphOptimizationLevelDisableAll,
			OptimizeBasic:    ortgo.GraphOptimizationLevelEnableBasic,
			OptimizeExtended: ortgo.GraphOptimizationLevelEnableExtended,
			OptimizeAll:      ortgo.GraphOptimizationLevelEnableAll,
		}[opts.Optimization]
		if err := so.SetGraphOptimizationLevel(lvl); err != nil {
			return fail("graph optimization", err)
		}
	}
	if opts.NoCPUArena {
		if err := so.SetCpuMemArena(false); err != nil {
			return fail("cpu memory arena", err)
		}
	}
	if opts.NoMemPattern {
		if err := so.SetMemPattern(false); err != nil {
			return fail("memory pattern", err)
		}
	}
	if opts.ProfilePrefix != "" {
		if err := so.EnableProfiling(opts.ProfilePrefix); err != nil {
			return fail("profiling", err)
		}
	}
	keys := make([]string, 0, len(opts.Config))
	for k := range opts.Config {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := so.AddSessionConfigEntry(k, opts.Config[k]); err != nil {
			return fail("config "+k, err)
		}
	}
	device := rt.device
	if opts.Device != "" {
		if device, err = parseDevice(opts.Device); err != nil {
			so.Destroy()
			return nil, fmt.Errorf("session options: %w", err)
		}
	}
	if device == DeviceCUDA {
		if strictDevice(opts) {
			if err := so.AddSessionConfigEntry(configNoCPUFallback, "1"); err != nil {
				return fail("config "+configNoCPUFallback, err)
			}
		}
		if err := rt.appendCUDA(so, opts); err != nil {
			so.Destroy()
			return nil, err
		}
	}
	return so, nil
}

// Name is the model's name used in errors.
func (s *Session) Name() string { return s.name }

// Inputs lists the inputs Run needs (graph inputs not backed by an initializer), in graph order.
func (s *Session) Inputs() []ValueInfo { return slices.Clone(s.inputs) }

// Outputs lists the session's outputs, in graph order.
func (s *Session) Outputs() []ValueInfo { return slices.Clone(s.outputs) }

// Metadata returns the model's metadata_props.
func (s *Session) Metadata() map[string]string {
	m := make(map[string]string, len(s.meta))
	for k, v := range s.meta {
		m[k] = v
	}
	return m
}

// Pin wraps inputs that stay the same across runs (weights fed as inputs)
// in ORT values once, instead of at every run: with a hundred weight inputs
// that saves a few hundred microseconds per Run. A run then uses a pinned
// value when its inputs map holds the same *Tensor or leaves the name out.
// The caller may change the pinned tensors' data in place between runs,
// never during one; if it replaces a pinned tensor's Data slice or passes
// a different *Tensor, that run wraps the new data as usual. Pinning a name
// again replaces its pin; Pin waits for runs in flight.
func (s *Session) Pin(inputs map[string]*Tensor) error {
	s.pinMu.Lock()
	defer s.pinMu.Unlock()
	if s.sess == nil {
		return fmt.Errorf("pin %q: session is closed", s.name)
	}
	fresh := make(map[string]pin, len(inputs))
	fail := func(err error) error {
		for _, p := range fresh {
			p.v.Destroy()
		}
		return fmt.Errorf("pin %q: %w", s.name, err)
	}
	for name, t := range inputs {
		i, ok := s.inIdx[name]
		if !ok {
			return fail(fmt.Errorf("input %q is not an input of the model (inputs: %s)", name, names(s.inputs)))
		}
		if err := check(s.inputs[i], t); err != nil {
			return fail(fmt.Errorf("input %w", err))
		}
		v, err := t.value()
		if err != nil {
			return fail(fmt.Errorf("input %s: %w", name, err))
		}
		ptr, n := dataPointer(t)
		fresh[name] = pin{t: t, data: ptr, n: n, v: v}
	}
	if s.pins == nil {
		s.pins = map[string]pin{}
	}
	for name, p := range fresh {
		if old, ok := s.pins[name]; ok {
			old.v.Destroy()
		}
		s.pins[name] = p
	}
	return nil
}

// Unpin releases the pins of the named inputs, or all pins if none are named.
func (s *Session) Unpin(names ...string) {
	s.pinMu.Lock()
	defer s.pinMu.Unlock()
	s.unpinLocked(names...)
}

func (s *Session) unpinLocked(names ...string) {
	if len(names) == 0 {
		for n := range s.pins {
			names = append(names, n)
		}
	}
	for _, n := range names {
		if p, ok := s.pins[n]; ok {
			p.v.Destroy()
			delete(s.pins, n)
		}
	}
}

// pinned returns the pinned value to use for input name given the
// caller's tensor t (nil if absent); or, when the pinned tensor's Data was
// replaced since Pin, that tensor, to be wrapped afresh; or neither. Call
// with pinMu held.
func (s *Session) pinned(name string, t *Tensor) (ortgo.Value, *Tensor) {
	p, ok := s.pins[name]
	if !ok || (t != nil && t != p.t) {
		return nil, nil
	}
	if ptr, n := dataPointer(p.t); ptr != p.data || n != p.n {
		return nil, p.t
	}
	return p.v, nil
}

// dataPointer returns the address and length of a tensor's data.
func dataPointer(t *Tensor) (unsafe.Pointer, int) {
	v := reflect.ValueOf(t.Data)
	if v.Kind() != reflect.Slice || v.Len() == 0 {
		return nil, 0
	}
	return v.UnsafePointer(), v.Len()
}

// Close releases the ORT session and its pins (and writes the profile, if
// enabled), after waiting for runs in flight.
func (s *Session) Close() error {
	s.pinMu.Lock()
	defer s.pinMu.Unlock()
	s.unpinLocked()
	if s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	if err != nil {
		return fmt.Errorf("close session %q: %w", s.name, err)
	}
	return nil
}

// Run runs the model on inputs (every input of Inputs, by name) and returns
// the outputs named by outputNames (all session outputs if none), copied
// into Go memory. Inputs are checked by name, dtype, rank and static dims
// before ONNX Runtime sees them. Cancelling ctx terminates the run in ORT
// (between nodes) and returns an error wrapping ctx.Err().
func (s *Session) Run(ctx context.Context, inputs map[string]*Tensor, outputNames ...string) (map[string]*Tensor, error) {
	want := outputNames
	if len(want) == 0 {
		want = names(s.outputs)
	}
	for _, n := range want {
		if _, ok := s.outIdx[n]; !ok {
			return nil, fmt.Errorf("run %q: no output %q (outputs: %s)", s.name, n, names(s.outputs))
		}
	}
	// Outputs whose shape the model fixes are allocated here, in Go, and
	// written by ORT in place; the others are allocated by ORT and copied
	// once by onnxruntime_go. Rank-0 and 16-bit float outputs must be
	// preallocated (see the package comment).
	return s.runAll(ctx, inputs, nil, want)
}

// RunReusing is Run with some output buffers supplied by the caller:
// those in reuse (exact shapes, as for RunInto) are written in place, every
// other output is allocated as Run does, and all come back in the result.
// A training loop hands the same gradient buffers to every step this way:
// on this machine a fresh 168 MB of gradients per step costs ~41 k page
// faults.
func (s *Session) RunReusing(ctx context.Context, inputs, reuse map[string]*Tensor) (map[string]*Tensor, error) {
	for n, t := range reuse {
		i, ok := s.outIdx[n]
		if !ok {
			return nil, fmt.Errorf("run %q: no output %q (outputs: %s)", s.name, n, names(s.outputs))
		}
		if err := check(s.outputs[i], t); err != nil {
			return nil, fmt.Errorf("run %q: output %w", s.name, err)
		}
	}
	return s.runAll(ctx, inputs, reuse, names(s.outputs))
}

func (s *Session) runAll(ctx context.Context, inputs, reuse map[string]*Tensor, want []string) (map[string]*Tensor, error) {
	outs := make(map[string]*Tensor, len(s.outputs))
	for _, o := range s.outputs {
		if t, ok := reuse[o.Name]; ok {
			outs[o.Name] = t
		} else if o.static() {
			outs[o.Name] = Zeros(o.DType, o.Dims...)
		}
	}
	if err := s.checkUnallocatable(outs); err != nil {
		return nil, err
	}
	if err := s.run(ctx, inputs, outs); err != nil {
		return nil, err
	}
	res := make(map[string]*Tensor, len(want))
	for _, n := range want {
		res[n] = outs[n]
	}
	return res, nil
}

// RunInto is Run for callers that own the output buffers, such as a decode
// loop: each tensor in outputs must have the exact shape the model produces
// and is written in place, without the allocation and copy Run makes.
// Session outputs missing from the map are computed and discarded.
func (s *Session) RunInto(ctx context.Context, inputs, outputs map[string]*Tensor) error {
	for n, t := range outputs {
		i, ok := s.outIdx[n]
		if !ok {
			return fmt.Errorf("run %q: no output %q (outputs: %s)", s.name, n, names(s.outputs))
		}
		if err := check(s.outputs[i], t); err != nil {
			return fmt.Errorf("run %q: output %w", s.name, err)
		}
	}
	outs := make(map[string]*Tensor, len(s.outputs))
	for n, t := range outputs {
		outs[n] = t
	}
	for _, o := range s.outputs {
		if _, ok := outs[o.Name]; !ok && o.static() && (len(o.Dims) == 0 || o.DType == Float16 || o.DType == BFloat16) {
			outs[o.Name] = Zeros(o.DType, o.Dims...) // must be preallocated; discarded
		}
	}
	if err := s.checkUnallocatable(outs); err != nil {
		return err
	}
	return s.run(ctx, inputs, outs)
}

// configNoCPUFallback is ORT's session config key that makes session
// creation fail when a node would fall back to the CPU provider.
const configNoCPUFallback = "session.disable_cpu_ep_fallback"

// CPUFallbackEnv=1 allows CPU fallback in CUDA sessions, as
// SessionOptions.AllowCPUFallback does (for scripts: gpu-bench.sh).
const CPUFallbackEnv = "PZ_CUDA_CPU_FALLBACK"

// strictDevice reports whether a CUDA session gets
// session.disable_cpu_ep_fallback=1: unless the caller set that key
// itself, or allowed fallback by option or environment.
func strictDevice(opts SessionOptions) bool {
	if _, set := opts.Config[configNoCPUFallback]; set {
		return false
	}
	return !opts.AllowCPUFallback && os.Getenv(CPUFallbackEnv) != "1"
}

// checkUnallocatable fails for a session output that is not preallocated in
// outs but that onnxruntime_go cannot take from ORT: a float16 or
// bfloat16 tensor (it copies one byte per element and then fails).
func (s *Session) checkUnallocatable(outs map[string]*Tensor) error {
	for _, o := range s.outputs {
		if _, ok := outs[o.Name]; !ok && (o.DType == Float16 || o.DType == BFloat16) {
			return fmt.Errorf("run %q: output %s has dynamic dims, and onnxruntime_go cannot copy a %v output that ORT allocates: pass it to RunInto, or leave it out with SessionOptions.Outputs",
				s.name, o, o.DType)
		}
	}
	return nil
}

// run checks inputs, wraps them and the preallocated outputs in ORT values,
// runs, releases every value it made, and fills outs: preallocated entries
// in place, missing ones with tensors ORT allocated.
func (s *Session) run(ctx context.Context, inputs, outs map[string]*Tensor) (err error) {
	s.pinMu.RLock()
	defer s.pinMu.RUnlock()
	if s.sess == nil {
		return fmt.Errorf("run %q: session is closed", s.name)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("run %q: %w", s.name, err)
	}
	in := make([]ortgo.Value, len(s.inputs))
	pinned := make([]bool, len(s.inputs))
	src := make([]*Tensor, len(s.inputs)) // what to wrap for each input
	for i, vi := range s.inputs {
		src[i] = inputs[vi.Name]
		if v, t := s.pinned(vi.Name, src[i]); v != nil {
			in[i], pinned[i] = v, true
		} else if t != nil {
			src[i] = t
		}
	}
	if err := s.checkInputs(inputs, src, pinned); err != nil {
		return err
	}
	out := make([]ortgo.Value, len(s.outputs))
	defer func() {
		for i, v := range in {
			if v != nil && !pinned[i] {
				v.Destroy()
			}
		}
		for _, v := range out {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, vi := range s.inputs {
		if pinned[i] {
			continue
		}
		if in[i], err = src[i].value(); err != nil {
			return fmt.Errorf("run %q: input %s: %w", s.name, vi.Name, err)
		}
	}
	for i, vi := range s.outputs {
		t, ok := outs[vi.Name]
		if !ok {
			continue
		}
		if err := t.Validate(); err != nil {
			return fmt.Errorf("run %q: output %s: %w", s.name, vi.Name, err)
		}
		if out[i], err = t.value(); err != nil {
			return fmt.Errorf("run %q: output %s: %w", s.name, vi.Name, err)
		}
	}

	ro, release, err := runOptions(ctx)
	if err != nil {
		return fmt.Errorf("run %q: %w", s.name, err)
	}
	err = s.sess.RunWithOptions(in, out, ro)
	release()
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("run %q: %w (ONNX Runtime: %s)", s.name, ctxErr, ortText(err))
		}
		if oom := outOfMemory(s.name, s.device, ortText(err)); oom != nil {
			return oom
		}
		return fmt.Errorf("run %q: ONNX Runtime: %s", s.name, ortText(err))
	}
	for i, vi := range s.outputs {
		if t, ok := outs[vi.Name]; ok {
			if len(t.Shape) == 0 {
				t.readBack(out[i])
			}
			continue
		}
		t, err := fromValue(out[i])
		if err != nil {
			return fmt.Errorf("run %q: output %s: %w", s.name, vi.Name, err)
		}
		outs[vi.Name] = t
	}
	return nil
}

// runOptions returns RunOptions whose terminate flag is raised when ctx is
// done, and a release function to call once Run has returned; a context
// that can never be done gets none (nil options cost nothing).
func runOptions(ctx context.Context) (*ortgo.RunOptions, func(), error) {
	if ctx.Done() == nil {
		return nil, func() {}, nil
	}
	ro, err := ortgo.NewRunOptions()
	if err != nil {
		return nil, nil, fmt.Errorf("run options: %w", err)
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(fired)
		_ = ro.Terminate()
	})
	return ro, func() {
		if !stop() {
			<-fired // Terminate is running or ran: wait before freeing ro
		}
		ro.Destroy()
	}, nil
}

// checkInputs checks every input against the signature; pinned inputs were
// checked by Pin.
func (s *Session) checkInputs(inputs map[string]*Tensor, src []*Tensor, pinned []bool) error {
	var errs []error
	for i, vi := range s.inputs {
		if pinned[i] {
			continue
		}
		t := src[i]
		if t == nil {
			errs = append(errs, fmt.Errorf("input %s is missing", vi))
			continue
		}
		if err := check(vi, t); err != nil {
			errs = append(errs, fmt.Errorf("input %w", err))
		}
	}
	for n := range inputs {
		if _, ok := s.inIdx[n]; !ok {
			errs = append(errs, fmt.Errorf("input %q is not an input of the model (inputs: %s)", n, names(s.inputs)))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("run %q: %w", s.name, errors.Join(errs...))
	}
	return nil
}

// check compares a tensor with the value it is bound to.
func check(vi ValueInfo, t *Tensor) error {
	if t.DType != vi.DType {
		return fmt.Errorf("%s: got dtype %v%v, want %v", vi.Name, t.DType, t.Shape, vi)
	}
	if err := t.Validate(); err != nil {
		return fmt.Errorf("%s: %w", vi.Name, err)
	}
	if vi.UnknownRank {
		return nil
	}
	if len(t.Shape) != len(vi.Dims) {
		return fmt.Errorf("%s: got shape %v (rank %d), want %s (rank %d)", vi.Name, t.Shape, len(t.Shape), vi.shapeString(), len(vi.Dims))
	}
	for i, d := range vi.Dims {
		if d >= 0 && t.Shape[i] != d {
			return fmt.Errorf("%s: got shape %v, want %s (dim %d)", vi.Name, t.Shape, vi.shapeString(), i)
		}
	}
	return nil
}

func names(vs []ValueInfo) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Name
	}
	return out
}

// ortText strips onnxruntime_go's capitalised wrappers ("Error creating C
// session: ...") so that ORT's own message, which names the node, remains.
func ortText(err error) string {
	msg := err.Error()
	for _, p := range []string{"Error creating C session: ", "Error creating C session from file: ", "Error running network: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}
