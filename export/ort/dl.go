package ort

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>

// The CUDA libraries are opened by soname, as the CUDA provider's own
// DT_NEEDED entries are resolved, so what they report is what ORT gets.
static void *pz_dlopen(const char *name) { return dlopen(name, RTLD_NOW | RTLD_LOCAL); }
static const char *pz_dlerror(void) { const char *e = dlerror(); return e ? e : "unknown dlopen error"; }
static void *pz_dlsym(void *h, const char *sym) { dlerror(); return dlsym(h, sym); }
static void pz_dlclose(void *h) { dlclose(h); }

// Calls through function pointers of the few CUDA signatures pz reads.
typedef int (*pz_int_ptr)(int *);
typedef int (*pz_uint)(unsigned int);
typedef int (*pz_int_ptr_int)(int *, int);
typedef int (*pz_name)(char *, int, int);
typedef int (*pz_mem)(size_t *, int);
typedef size_t (*pz_size)(void);
static int pz_call_int_ptr(void *f, int *out) { return ((pz_int_ptr)f)(out); }
static int pz_call_uint(void *f, unsigned int v) { return ((pz_uint)f)(v); }
static int pz_call_int_ptr_int(void *f, int *out, int v) { return ((pz_int_ptr_int)f)(out, v); }
static int pz_call_name(void *f, char *buf, int n, int dev) { return ((pz_name)f)(buf, n, dev); }
static int pz_call_mem(void *f, size_t *out, int dev) { return ((pz_mem)f)(out, dev); }
static size_t pz_call_size(void *f) { return ((pz_size)f)(); }
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// dlib is a shared library opened with dlopen, to read versions and
// device facts from the CUDA libraries without linking against them (pz
// builds and runs where they are absent).
type dlib struct {
	name string
	h    unsafe.Pointer
}

// openLib dlopens a library by soname or path; the error is dlerror's
// text, which names what was missing.
func openLib(name string) (*dlib, error) {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	h := C.pz_dlopen(cn)
	if h == nil {
		return nil, fmt.Errorf("%s", C.GoString(C.pz_dlerror()))
	}
	return &dlib{name: name, h: h}, nil
}

func (l *dlib) close() { C.pz_dlclose(l.h) }

func (l *dlib) sym(name string) (unsafe.Pointer, error) {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	f := C.pz_dlsym(l.h, cn)
	if f == nil {
		return nil, fmt.Errorf("%s has no symbol %s", l.name, name)
	}
	return f, nil
}

// cuStatus turns a CUDA return code into an error naming the call.
func cuStatus(call string, rc C.int) error {
	if rc != 0 {
		return fmt.Errorf("%s returned CUDA error %d", call, int(rc))
	}
	return nil
}

// intOut calls an int f(int*) such as cudaRuntimeGetVersion.
func (l *dlib) intOut(name string) (int, error) {
	f, err := l.sym(name)
	if err != nil {
		return 0, err
	}
	var v C.int
	if err := cuStatus(name, C.pz_call_int_ptr(f, &v)); err != nil {
		return 0, err
	}
	return int(v), nil
}

// cuInit calls the driver's cuInit(0).
func (l *dlib) cuInit() error {
	f, err := l.sym("cuInit")
	if err != nil {
		return err
	}
	return cuStatus("cuInit", C.pz_call_uint(f, 0))
}

// device reads the name and memory of GPU ordinal i through the driver API.
func (l *dlib) device(i int) (name string, mem int64, err error) {
	get, err := l.sym("cuDeviceGet")
	if err != nil {
		return "", 0, err
	}
	var dev C.int
	if err := cuStatus("cuDeviceGet", C.pz_call_int_ptr_int(get, &dev, C.int(i))); err != nil {
		return "", 0, err
	}
	fn, err := l.sym("cuDeviceGetName")
	if err != nil {
		return "", 0, err
	}
	buf := make([]byte, 256)
	if err := cuStatus("cuDeviceGetName", C.pz_call_name(fn, (*C.char)(unsafe.Pointer(&buf[0])), C.int(len(buf)), dev)); err != nil {
		return "", 0, err
	}
	fm, err := l.sym("cuDeviceTotalMem_v2")
	if err != nil {
		return "", 0, err
	}
	var m C.size_t
	if err := cuStatus("cuDeviceTotalMem_v2", C.pz_call_mem(fm, &m, dev)); err != nil {
		return "", 0, err
	}
	return C.GoString((*C.char)(unsafe.Pointer(&buf[0]))), int64(m), nil
}

// sizeOut calls a size_t f(void) such as cudnnGetVersion.
func (l *dlib) sizeOut(name string) (int64, error) {
	f, err := l.sym(name)
	if err != nil {
		return 0, err
	}
	return int64(C.pz_call_size(f)), nil
}
