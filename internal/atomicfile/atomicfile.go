// Package atomicfile writes files and directories so that a reader never
// sees them half written: the content goes to a temporary name beside the
// destination (a name starting with '.', so folder scans skip it), is
// synced to disk, and is renamed over the destination only when complete.
// On any error the temporary is removed and the destination is untouched.
//
// Every error names the destination as "path: cause", so callers prefix
// their operation: fmt.Errorf("write config %w", err) reads
// "write config /x/config.json: no space left on device".
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// bufSize is the buffer WriteFunc puts in front of the temporary file.
const bufSize = 1 << 20

// WriteFile writes data to path atomically with permission perm, like
// os.WriteFile but never leaving a partial file at path.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return writeFile(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, false)
}

// WriteFunc writes path atomically with permission perm; write streams the
// content into a buffered writer. An error from write aborts the file.
func WriteFunc(path string, perm os.FileMode, write func(w io.Writer) error) error {
	return writeFile(path, perm, write, true)
}

func writeFile(path string, perm os.FileMode, fill func(io.Writer) error, buffered bool) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	var w io.Writer = f.f
	var bw *bufio.Writer
	if buffered {
		bw = bufio.NewWriterSize(f.f, bufSize)
		w = bw
	}
	err = fill(w)
	if err == nil && bw != nil {
		err = bw.Flush()
	}
	if err != nil {
		f.Abort()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Commit()
}

// File is a file being written under a temporary name, for writers that
// stay open across calls (e.g. a Parquet writer on top). Write to it, then
// Commit to put it in place, or Abort to drop it. Finish may be called
// before Commit to complete several files before publishing any.
type File struct {
	path     string
	perm     os.FileMode
	f        *os.File
	finished bool // synced, chmodded and closed
	done     bool // renamed into place or removed
}

// Create starts a file that will appear at path, with permission perm, on
// Commit. The temporary file is created in path's directory.
func Create(path string, perm os.FileMode) (*File, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &File{path: path, perm: perm, f: f}, nil
}

// Write writes to the temporary file (unbuffered).
func (f *File) Write(p []byte) (int, error) { return f.f.Write(p) }

// Path is the destination path.
func (f *File) Path() string { return f.path }

// TempName is the temporary file's name.
func (f *File) TempName() string { return f.f.Name() }

// Finish syncs the temporary file to disk, sets its permission and closes
// it, leaving it under its temporary name until Commit. On error the
// temporary file is removed. Calling it again is a no-op.
func (f *File) Finish() error {
	if f.done {
		return fmt.Errorf("%s: %w", f.path, os.ErrClosed)
	}
	if f.finished {
		return nil
	}
	err := f.f.Sync()
	if err == nil {
		err = f.f.Chmod(f.perm)
	}
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		f.done = true
		os.Remove(f.f.Name())
		return fmt.Errorf("%s: %w", f.path, err)
	}
	f.finished = true
	return nil
}

// Commit finishes the file (if Finish was not called) and renames it over
// the destination. On error the temporary file is removed.
func (f *File) Commit() error {
	if err := f.Finish(); err != nil {
		return err
	}
	f.done = true
	if err := os.Rename(f.f.Name(), f.path); err != nil {
		os.Remove(f.f.Name())
		return fmt.Errorf("%s: %w", f.path, err)
	}
	return nil
}

// Abort closes and removes the temporary file. It is a no-op after Commit
// or a failed Finish.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	if !f.finished {
		f.f.Close()
	}
	os.Remove(f.f.Name())
}

// WriteDir builds the directory dir atomically: fill populates a temporary
// sibling directory (given as tmp, created with permission perm), which is
// synced and then renamed to dir. An existing dir is first moved aside to
// dir+".old" and removed only once the new one is in place (and moved back
// if the rename fails), so dir is either the old complete directory or the
// new one. The parent of dir must exist. On error the temporary directory
// is removed.
func WriteDir(dir string, perm os.FileMode, fill func(tmp string) error) (err error) {
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp*")
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
			err = fmt.Errorf("%s: %w", dir, err)
		}
	}()
	// MkdirTemp makes the folder 0700.
	if err := os.Chmod(tmp, perm); err != nil {
		return err
	}
	if err := fill(tmp); err != nil {
		return err
	}
	if err := syncDir(tmp); err != nil {
		return err
	}
	return replaceDir(tmp, dir)
}

// replaceDir renames tmp to dir, moving an existing dir aside first and
// removing it only once the new one is in place.
func replaceDir(tmp, dir string) error {
	old := ""
	if _, err := os.Stat(dir); err == nil {
		old = dir + ".old"
		os.RemoveAll(old)
		if err := os.Rename(dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			os.Rename(old, dir)
		}
		return err
	}
	if old != "" {
		os.RemoveAll(old)
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
