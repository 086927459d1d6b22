// Package ort runs the ONNX graphs that pz builds, through ONNX Runtime.
//
// It is the only package in pz that imports github.com/yalue/onnxruntime_go,
// so export's and models' tests and the orchestrator's engines all run graphs
// through it. What it adds over onnxruntime_go:
//
//   - Library discovery and checking (FindLibrary, CheckLibrary): the shared
//     library comes from --ort-lib, then PZ_ORT_LIB, then the cache that
//     scripts/setup-ort.sh fills; a missing file, a file that is not ONNX
//     Runtime or one too old for onnxruntime_go gives one error that names
//     the file and says how to run setup.
//   - Go-owned tensors (Tensor) that need no Destroy: every ONNX Runtime
//     value the package creates is freed before the call that created it
//     returns.
//   - Sessions (Runtime.NewSession) that know the graph's signature and check
//     every input's name, dtype and static dims before ONNX Runtime sees it,
//     map context cancellation to RunOptions.Terminate, and are safe for
//     concurrent use (they wrap DynamicAdvancedSession).
//
// # The one process-global
//
// ONNX Runtime has one environment per process, and onnxruntime_go keeps it
// (and the dlopen'ed library handle) in package variables: a second
// InitializeEnvironment fails, and a DestroyEnvironment followed by a new
// initialisation with another library is not something ORT supports while
// sessions are alive. Init therefore guards that state with a mutex-protected
// package variable, returns the same *Runtime for the same library, and
// refuses a different library path. This is the only package-level mutable
// state in pz; everything else hangs off the *Runtime it returns. The
// environment lives until the process exits.
//
// # Limits of onnxruntime_go designed around here (found with v1.27.0)
//
//   - Tensors live in host memory: with the CUDA provider every Run copies its
//     inputs to the device and its outputs back (there is no device-side
//     output binding), so weights or KV caches fed as inputs cross PCIe on
//     every call.
//   - Rank-0 tensors must be created with NewScalar, and an output that ORT
//     allocates cannot be rank 0 (onnxruntime_go rejects the empty shape), so
//     scalar inputs and outputs are always preallocated here.
//   - Outputs of dtype float16/bfloat16 that ORT allocates are copied with
//     the wrong byte count by onnxruntime_go, so this package preallocates
//     them too; their shape must be static in the graph, or the caller passes
//     an output tensor to RunInto.
//   - ORT's CPU GroupQueryAttention (com.microsoft) wants a head size that is
//     a multiple of 8: graph builders should fall back to the decomposed
//     attention otherwise.
package ort
