package export

import (
	"errors"
	"fmt"
)

// Error policy (after gomlx's): building a graph is programming, so misuse
// (shape or dtype mismatches, an unknown op in autodiff) panics with an
// *Error that names the node and both shapes. Exported entry points that
// finish a graph (Build, Marshal, Grad via Try) recover such panics into an
// ordinary error; any other panic is a bug and propagates. File and protobuf
// I/O return wrapped errors.

// Error is a graph-building error.
type Error struct{ Msg string }

func (e *Error) Error() string { return "export: " + e.Msg }

func errorf(format string, args ...any) *Error { return &Error{Msg: fmt.Sprintf(format, args...)} }

// Try runs fn and turns a graph-building panic (*Error) into an error.
func Try(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			var e *Error
			if re, ok := r.(error); ok && errors.As(re, &e) {
				err = e
				return
			}
			panic(r)
		}
	}()
	fn()
	return nil
}
