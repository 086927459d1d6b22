package ort

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
)

// ErrOutOfMemory marks a run that failed because ONNX Runtime could not
// allocate a buffer (host or GPU); errors.As gives the *OOMError.
var ErrOutOfMemory = errors.New("out of memory")

// OOMError is a run that ran out of memory: which node asked for how much.
type OOMError struct {
	Session string
	Device  string // "cpu" or "cuda"
	Node    string // "" when ORT did not name it
	Bytes   int64  // the failed request; 0 when ORT did not say
	Msg     string // ORT's own text
}

func (e *OOMError) Error() string {
	what := "a buffer"
	if e.Bytes > 0 {
		what = fmt.Sprintf("%.2f GiB (%d bytes)", float64(e.Bytes)/(1<<30), e.Bytes)
	}
	node := ""
	if e.Node != "" {
		node = " at node " + e.Node
	}
	return fmt.Sprintf("run %q: out of %s memory: %s could not be allocated%s (ONNX Runtime: %s)", e.Session, e.Device, what, node, e.Msg)
}

// Unwrap makes errors.Is(err, ErrOutOfMemory) hold.
func (e *OOMError) Unwrap() error { return ErrOutOfMemory }

// ORT's allocation failures: its BFC arena (CPU and CUDA) names the size;
// CUDA and cuBLAS report their own.
var (
	oomSize = regexp.MustCompile(`Failed to allocate memory for requested buffer of size (\d+)`)
	oomCUDA = regexp.MustCompile(`CUDA failure 2: out of memory|cudaErrorMemoryAllocation|CUBLAS_STATUS_ALLOC_FAILED|std::bad_alloc`)
	oomNode = regexp.MustCompile(`Name:'([^']*)'`)
)

// outOfMemory returns an *OOMError when msg is an allocation failure, else nil.
func outOfMemory(session, device, msg string) error {
	e := &OOMError{Session: session, Device: device, Msg: msg}
	if m := oomSize.FindStringSubmatch(msg); m != nil {
		e.Bytes, _ = strconv.ParseInt(m[1], 10, 64)
	} else if !oomCUDA.MatchString(msg) {
		return nil
	}
	if m := oomNode.FindStringSubmatch(msg); m != nil {
		e.Node = m[1]
	}
	return e
}
