//go:build !linux

package sample

func threadCPU() (int64, bool) { return 0, false }
